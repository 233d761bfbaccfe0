/**
 * The server side of a SPDY/3.1 connection, as much of it as Go's spdystream client needs
 * (exec-streaming-notes §3, §6 "the subset that is needed"): accept client streams and answer each
 * SYN_STREAM with a SYN_REPLY at once; route DATA to its stream (FIN half-closes it); RST_STREAM aborts
 * a stream; PING is echoed; GOAWAY ends the session; SETTINGS and WINDOW_UPDATE are read and ignored
 * (spdystream never sends WINDOW_UPDATE, so enforcing windows would stall after 64 KiB); HEADERS are
 * inflated (to keep the zlib context in step) and ignored. Anything else is a protocol error:
 * GOAWAY(PROTOCOL_ERROR) and the connection closes.
 *
 * Flow control comes from the transport: a stream's inbound queue is bounded, so a consumer that
 * cannot keep up stops the read loop, which stops reading the socket (TCP backpressure, as Go's
 * kubelet does); writes wait for the socket to drain.
 *
 * We never write first: the 101 goes out when the reader is acquired and the client's first frame
 * comes before any of ours (notes §2: early bytes can be lost by the client's response reader).
 */
import { Cause, Deferred, Effect, Queue, type Scope, Semaphore, Stream } from "effect"
import type * as Socket from "effect/socket/Socket"
import { decodeFrames, encodeFrame, FLAG_FIN, type Frame, GoAwayStatus, RstStatus } from "./frames.ts"
import { decodeHeaderPairs, encodeHeaderPairs, HeaderBlockError, makeHeaderCompressor, makeHeaderDecompressor } from "./headerBlock.ts"

export interface SpdyStream {
  readonly id: number
  readonly headers: ReadonlyMap<string, ReadonlyArray<string>>
  /** The first value of a header (names are lower case: `streamtype`, not `streamType`). */
  readonly header: (name: string) => string | undefined
  /** What the client sends on the stream; ends at its FIN, at RST_STREAM, or when the session ends. */
  readonly data: Stream.Stream<Uint8Array>
  /** DATA frames; nothing happens once our side is closed, the stream was reset or the session ended. */
  readonly write: (data: Uint8Array) => Effect.Effect<void>
  /** Our half-close: an empty DATA frame with FIN (once). */
  readonly closeWrite: Effect.Effect<void>
  /** Abandon the stream (RST_STREAM); its inbound data ends. */
  readonly reset: (status?: number) => Effect.Effect<void>
}

/** Why the client's side of the session ended. */
export type SessionEnd =
  | { readonly _tag: "GoAway" }
  | { readonly _tag: "Closed" }
  | { readonly _tag: "ProtocolError"; readonly message: string }

export interface SpdySession {
  /** The next stream the client opened; fails with `Done` once the session has ended. */
  readonly nextStream: Effect.Effect<SpdyStream, Cause.Done>
  /** Our GOAWAY (status OK, last good id = the highest client stream we saw); later writes are dropped. */
  readonly goAway: Effect.Effect<void>
  /** Completes when the client has ended the session (GOAWAY, EOF, transport or protocol error). */
  readonly ended: Effect.Effect<SessionEnd>
}

export interface SpdySessionOptions {
  /** DATA frames buffered per stream before the read loop waits for the consumer (default 16). */
  readonly streamBufferFrames?: number
  /** Largest DATA payload we send (default 32 KiB; spdystream accepts up to 2^24-1). */
  readonly maxDataFrame?: number
}

interface StreamState {
  readonly stream: SpdyStream
  readonly inbound: Queue.Queue<Uint8Array, Cause.Done>
  remoteClosed: boolean
  localClosed: boolean
  reset: boolean
}

/**
 * Runs the session on an upgraded connection until the scope closes. Acquiring the reader sends the
 * `101 Switching Protocols`; closing the scope closes the connection.
 */
export const openSpdySession = (
  socket: Socket.Socket,
  options: SpdySessionOptions = {}
): Effect.Effect<SpdySession, Socket.SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    const lock = yield* Semaphore.make(1)
    const ended = yield* Deferred.make<SessionEnd>()
    const incoming = yield* Queue.unbounded<SpdyStream, Cause.Done>()
    const streams = new Map<number, StreamState>()
    const compress = makeHeaderCompressor()
    const decompress = makeHeaderDecompressor()
    const bufferFrames = options.streamBufferFrames ?? 16
    const maxData = options.maxDataFrame ?? 32 * 1024
    let lastGoodId = 0
    let writable = true

    /** One frame per socket write, in order: frames of concurrent writers never interleave. */
    const send = (frame: Frame): Effect.Effect<void> =>
      lock.withPermit(
        Effect.suspend(() => (writable ? writer.write(encodeFrame(frame)) : Effect.void))
      ).pipe(
        Effect.catch(() =>
          Effect.sync(() => {
            writable = false
          }).pipe(Effect.andThen(finish({ _tag: "Closed" })))
        )
      )

    const finish = (end: SessionEnd) =>
      Effect.gen(function*() {
        if (!(yield* Deferred.succeed(ended, end))) return
        for (const s of streams.values()) yield* Queue.end(s.inbound)
        yield* Queue.end(incoming)
      })

    const makeStream = (id: number, headers: ReadonlyMap<string, ReadonlyArray<string>>, inbound: Queue.Queue<Uint8Array, Cause.Done>) => {
      const state: StreamState = {
        inbound,
        remoteClosed: false,
        localClosed: false,
        reset: false,
        stream: {
          id,
          headers,
          header: (name) => headers.get(name.toLowerCase())?.[0],
          data: Stream.fromQueue(inbound),
          write: (data) =>
            Effect.gen(function*() {
              for (let at = 0; at < data.length; at += maxData) {
                if (state.localClosed || state.reset) return
                yield* send({ type: "Data", streamId: id, flags: 0, data: data.subarray(at, Math.min(data.length, at + maxData)) })
              }
            }),
          closeWrite: Effect.suspend(() => {
            if (state.localClosed || state.reset) return Effect.void
            state.localClosed = true
            return send({ type: "Data", streamId: id, flags: FLAG_FIN, data: new Uint8Array(0) })
          }),
          reset: (status = RstStatus.Cancel) =>
            Effect.suspend(() => {
              if (state.reset) return Effect.void
              state.reset = true
              return send({ type: "RstStream", streamId: id, status }).pipe(Effect.andThen(Queue.end(inbound)), Effect.asVoid)
            })
        }
      }
      return state
    }

    const protocolError = (message: string) =>
      send({ type: "GoAway", lastGoodStreamId: lastGoodId, status: GoAwayStatus.ProtocolError }).pipe(
        Effect.andThen(Effect.sync(() => {
          writable = false
        })),
        Effect.andThen(finish({ _tag: "ProtocolError", message })),
        Effect.andThen(Effect.logDebug("SPDY protocol error; closing the connection").pipe(Effect.annotateLogs({ error: message })))
      )

    /** Inflates a header block; `undefined` after a protocol error (already handled). */
    const headersOf = (block: Uint8Array) =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(decompress(block))
        } catch (e) {
          return Effect.as(protocolError(e instanceof HeaderBlockError ? e.message : String(e)), undefined)
        }
      })

    /** Handles one frame; false when the session is over and reading must stop. */
    const handle = (frame: Frame): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        switch (frame.type) {
          case "SynStream": {
            const raw = yield* headersOf(frame.headerBlock)
            if (raw === undefined) return false
            const id = frame.streamId
            // Client streams are odd and increasing (SPDY/3 §2.3.2).
            if (id % 2 === 0 || id <= lastGoodId) {
              yield* send({ type: "RstStream", streamId: id, status: RstStatus.ProtocolError })
              return true
            }
            const headers = decodeHeaderPairs(raw)
            lastGoodId = id
            if (headers === undefined) {
              yield* send({ type: "RstStream", streamId: id, status: RstStatus.ProtocolError })
              return true
            }
            const inbound = yield* Queue.bounded<Uint8Array, Cause.Done>(bufferFrames)
            const state = makeStream(id, headers, inbound)
            streams.set(id, state)
            // spdystream's CreateStream waits for this reply and drops DATA that arrives before it.
            yield* send({ type: "SynReply", streamId: id, flags: 0, headerBlock: compress(encodeHeaderPairs([])) })
            if ((frame.flags & FLAG_FIN) !== 0) {
              state.remoteClosed = true
              yield* Queue.end(inbound)
            }
            yield* Queue.offer(incoming, state.stream)
            return true
          }
          case "SynReply":
          case "Headers":
            return (yield* headersOf(frame.headerBlock)) !== undefined
          case "Data": {
            const state = streams.get(frame.streamId)
            if (state === undefined || state.remoteClosed || state.reset) return true
            // The decoder hands out views of its buffer; a consumer may keep the chunk.
            if (frame.data.length > 0) yield* Queue.offer(state.inbound, Uint8Array.from(frame.data))
            if ((frame.flags & FLAG_FIN) !== 0) {
              state.remoteClosed = true
              yield* Queue.end(state.inbound)
            }
            return true
          }
          case "RstStream": {
            const state = streams.get(frame.streamId)
            if (state !== undefined) {
              state.reset = true
              yield* Queue.end(state.inbound)
            }
            return true
          }
          case "Ping":
            // Odd ids are the client's pings: echo them unchanged. Even ids would answer ours; we send none.
            if (frame.id % 2 === 1) yield* send(frame)
            return true
          case "GoAway":
            yield* finish({ _tag: "GoAway" })
            return false
          case "Settings":
          case "WindowUpdate":
            return true
        }
      })

    const readLoop = Effect.gen(function*() {
      let buffer: Buffer = Buffer.alloc(0)
      while (true) {
        const chunks = yield* reader.pull.pipe(Effect.catch(() => Effect.succeed(undefined)))
        if (chunks === undefined) return yield* finish({ _tag: "Closed" })
        const bytes = chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "latin1") : Buffer.from(c.buffer, c.byteOffset, c.byteLength)))
        buffer = buffer.length === 0 && bytes.length === 1 ? bytes[0]! : Buffer.concat([buffer, ...bytes])
        const decoded = decodeFrames(buffer)
        for (const frame of decoded.frames) {
          if (!(yield* handle(frame))) return
        }
        if (decoded._tag === "ProtocolError") return yield* protocolError(decoded.message)
        buffer = buffer.subarray(decoded.consumed)
      }
    })
    yield* Effect.forkScoped(readLoop)
    yield* Effect.addFinalizer(() => finish({ _tag: "Closed" }))

    return {
      nextStream: Queue.take(incoming),
      goAway: Effect.suspend(() => {
        if (!writable) return Effect.void
        return send({ type: "GoAway", lastGoodStreamId: lastGoodId, status: GoAwayStatus.Ok }).pipe(
          Effect.andThen(Effect.sync(() => {
            writable = false
          }))
        )
      }),
      ended: Deferred.await(ended)
    } satisfies SpdySession
  })
