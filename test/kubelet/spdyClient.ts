/**
 * A minimal SPDY/3.1 remotecommand client for tests, doing what client-go's SPDY executor does
 * (exec-streaming-notes §4): POST with `Upgrade: SPDY/3.1` and the protocol headers, then one
 * SYN_STREAM per `streamtype` (compressed with a real zlib deflater and the SPDY dictionary, each
 * block sync-flushed, as Go's compressor writes them), each waiting for its SYN_REPLY; stdin with a
 * final empty DATA+FIN; stdout/stderr/error read to FIN. Written against the frame codec under test,
 * and checked against recorded frames of the real Go client (spdyFrames.test.ts).
 */
import type { Duplex } from "node:stream"
import * as zlib from "node:zlib"
import { SPDY3_DICTIONARY } from "../../src/kubelet/spdy/dictionary.ts"
import { decodeFrames, encodeFrame, FLAG_FIN, type Frame } from "../../src/kubelet/spdy/frames.ts"
import { encodeHeaderPairs } from "../../src/kubelet/spdy/headerBlock.ts"

/** Go-style header compression: one deflate context, every block ended by a sync flush. */
export const makeDeflater = () => {
  const d = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY })
  return (raw: Uint8Array) =>
    new Promise<Buffer>((resolve) => {
      const out: Array<Buffer> = []
      const onData = (c: Buffer) => out.push(c)
      d.on("data", onData)
      d.write(raw)
      d.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        d.off("data", onData)
        resolve(Buffer.concat(out))
      })
    })
}

export interface ClientStream {
  readonly id: number
  readonly type: string
  readonly replied: Promise<void>
  readonly received: Array<Buffer>
  readonly ended: Promise<void>
}

/** A SPDY connection over a duplex after the 101 (or with the 101 still to be read). */
export const spdyClient = (conn: Duplex) => {
  const deflate = makeDeflater()
  const frames: Array<Frame> = []
  const streams = new Map<number, ClientStream & { resolveReply: () => void; resolveEnd: () => void }>()
  let nextId = 1
  let buffer = Buffer.alloc(0)
  let goAway: Frame | undefined
  const goAwayWaiters: Array<() => void> = []
  const pingWaiters = new Map<number, () => void>()
  let onAny: Array<() => void> = []

  const onFrames = (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    const r = decodeFrames(buffer)
    for (const f of r.frames) {
      frames.push(f)
      if (f.type === "SynReply") streams.get(f.streamId)?.resolveReply()
      if (f.type === "Data") {
        const s = streams.get(f.streamId)
        if (s !== undefined) {
          if (f.data.length > 0) s.received.push(Buffer.from(f.data))
          if ((f.flags & FLAG_FIN) !== 0) s.resolveEnd()
        }
      }
      if (f.type === "RstStream") streams.get(f.streamId)?.resolveEnd()
      if (f.type === "Ping") pingWaiters.get(f.id)?.()
      if (f.type === "GoAway") {
        goAway = f
        for (const s of streams.values()) s.resolveEnd()
        goAwayWaiters.splice(0).forEach((w) => w())
      }
    }
    if (r._tag === "Frames") buffer = buffer.subarray(r.consumed)
    const waiters = onAny
    onAny = []
    waiters.forEach((w) => w())
  }
  conn.on("data", onFrames)
  conn.on("close", () => {
    for (const s of streams.values()) s.resolveEnd()
    goAwayWaiters.splice(0).forEach((w) => w())
  })

  const write = (f: Frame) => new Promise<void>((resolve) => conn.write(encodeFrame(f), () => resolve()))

  return {
    frames,
    /** Opens a stream and waits for the server's SYN_REPLY. */
    open: async (type: string, extra: ReadonlyArray<readonly [string, string]> = []): Promise<ClientStream> => {
      const id = nextId
      nextId += 2
      let resolveReply!: () => void
      let resolveEnd!: () => void
      const replied = new Promise<void>((r) => (resolveReply = r))
      const ended = new Promise<void>((r) => (resolveEnd = r))
      const s = { id, type, replied, ended, received: [] as Array<Buffer>, resolveReply, resolveEnd }
      streams.set(id, s)
      const headerBlock = await deflate(encodeHeaderPairs([["streamtype", type], ...extra]))
      await write({ type: "SynStream", streamId: id, associatedId: 0, priority: 0, slot: 0, flags: 0, headerBlock })
      await replied
      return s
    },
    send: (s: ClientStream, data: Uint8Array, fin = false) => write({ type: "Data", streamId: s.id, flags: fin ? FLAG_FIN : 0, data }),
    ping: async (id: number) => {
      const answered = new Promise<void>((r) => pingWaiters.set(id, r))
      await write({ type: "Ping", id })
      await answered
    },
    reset: (s: ClientStream) => write({ type: "RstStream", streamId: s.id, status: 5 }),
    goAway: () => write({ type: "GoAway", lastGoodStreamId: 0, status: 0 }),
    goneAway: () => new Promise<Frame | undefined>((resolve) => (goAway !== undefined ? resolve(goAway) : goAwayWaiters.push(() => resolve(goAway)))),
    text: (s: ClientStream) => Buffer.concat(s.received).toString("utf8")
  }
}

/** Reads the HTTP response head of an upgrade from `conn`, leaving later bytes to the client. */
export const readResponseHead = (conn: Duplex) =>
  new Promise<{ readonly status: number; readonly headers: Record<string, string>; readonly rest: Buffer }>((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf("\r\n\r\n")
      if (end === -1) return
      conn.off("data", onData)
      const lines = buf.subarray(0, end).toString("latin1").split("\r\n")
      const status = Number(lines[0]!.split(" ")[1])
      const headers: Record<string, string> = {}
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":")
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      resolve({ status, headers, rest: buf.subarray(end + 4) })
    }
    conn.on("data", onData)
    conn.once("error", reject)
  })
