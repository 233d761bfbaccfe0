/**
 * SPDY/3.1 framing (Draft 3.1 §2.2, §2.6), the subset Go's moby/spdystream speaks
 * (exec-streaming-notes §3). Pure: bytes in, frames out, and back. Header blocks stay compressed
 * here; headerBlock.ts owns the zlib context of a connection.
 *
 * Control frame: `1|version:15|type:16`, `flags:8|length:24`, body. DATA frame: `0|stream-id:31`,
 * `flags:8|length:24`, payload. Big-endian throughout.
 */

export const SPDY_VERSION = 3
export const FLAG_FIN = 0x01
export const FLAG_UNIDIRECTIONAL = 0x02

/** RST_STREAM status codes (§2.6.3). */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11
} as const

/** GOAWAY status codes (§2.6.6). */
export const GoAwayStatus = { Ok: 0, ProtocolError: 1, InternalError: 2 } as const

export type Frame =
  | {
    readonly type: "SynStream"
    readonly streamId: number
    readonly associatedId: number
    readonly priority: number
    readonly slot: number
    readonly flags: number
    readonly headerBlock: Uint8Array
  }
  | { readonly type: "SynReply"; readonly streamId: number; readonly flags: number; readonly headerBlock: Uint8Array }
  | { readonly type: "RstStream"; readonly streamId: number; readonly status: number }
  | {
    readonly type: "Settings"
    readonly flags: number
    readonly entries: ReadonlyArray<{ readonly flags: number; readonly id: number; readonly value: number }>
  }
  | { readonly type: "Ping"; readonly id: number }
  | { readonly type: "GoAway"; readonly lastGoodStreamId: number; readonly status: number }
  | { readonly type: "Headers"; readonly streamId: number; readonly flags: number; readonly headerBlock: Uint8Array }
  | { readonly type: "WindowUpdate"; readonly streamId: number; readonly delta: number }
  | { readonly type: "Data"; readonly streamId: number; readonly flags: number; readonly data: Uint8Array }

const controlTypes = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9
} as const

const MAX_LENGTH = 0xffffff
const MASK31 = 0x7fffffff

const header = (out: Buffer, control: boolean, typeOrStream: number, flags: number, length: number) => {
  if (length > MAX_LENGTH) throw new RangeError(`SPDY frame body of ${length} bytes exceeds 2^24-1`)
  if (control) {
    out.writeUInt16BE(0x8000 | SPDY_VERSION, 0)
    out.writeUInt16BE(typeOrStream, 2)
  } else {
    out.writeUInt32BE(typeOrStream & MASK31, 0)
  }
  out.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4)
}

const control = (type: number, flags: number, body: Uint8Array): Buffer => {
  const out = Buffer.alloc(8 + body.length)
  header(out, true, type, flags, body.length)
  out.set(body, 8)
  return out
}

const u32s = (...values: ReadonlyArray<number>): Buffer => {
  const b = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4))
  return b
}

/** The wire bytes of one frame. */
export const encodeFrame = (frame: Frame): Buffer => {
  switch (frame.type) {
    case "Data": {
      const out = Buffer.alloc(8 + frame.data.length)
      header(out, false, frame.streamId, frame.flags, frame.data.length)
      out.set(frame.data, 8)
      return out
    }
    case "SynStream": {
      const fixed = Buffer.alloc(10)
      fixed.writeUInt32BE(frame.streamId & MASK31, 0)
      fixed.writeUInt32BE(frame.associatedId & MASK31, 4)
      fixed[8] = (frame.priority & 0x7) << 5
      fixed[9] = frame.slot & 0xff
      return control(controlTypes.SynStream, frame.flags, Buffer.concat([fixed, frame.headerBlock]))
    }
    case "SynReply":
      return control(controlTypes.SynReply, frame.flags, Buffer.concat([u32s(frame.streamId & MASK31), frame.headerBlock]))
    case "Headers":
      return control(controlTypes.Headers, frame.flags, Buffer.concat([u32s(frame.streamId & MASK31), frame.headerBlock]))
    case "RstStream":
      return control(controlTypes.RstStream, 0, u32s(frame.streamId & MASK31, frame.status))
    case "Settings":
      return control(
        controlTypes.Settings,
        frame.flags,
        Buffer.concat([u32s(frame.entries.length), ...frame.entries.map((e) => u32s(((e.flags & 0xff) << 24 | (e.id & 0xffffff)) >>> 0, e.value))])
      )
    case "Ping":
      return control(controlTypes.Ping, 0, u32s(frame.id))
    case "GoAway":
      return control(controlTypes.GoAway, 0, u32s(frame.lastGoodStreamId & MASK31, frame.status))
    case "WindowUpdate":
      return control(controlTypes.WindowUpdate, 0, u32s(frame.streamId & MASK31, frame.delta & MASK31))
  }
}

export type DecodeResult =
  | { readonly _tag: "Frames"; readonly frames: ReadonlyArray<Frame>; readonly consumed: number }
  | { readonly _tag: "ProtocolError"; readonly message: string; readonly frames: ReadonlyArray<Frame> }

const problem = (frames: ReadonlyArray<Frame>, message: string): DecodeResult => ({ _tag: "ProtocolError", message, frames })

/** The exact body length each fixed-size control frame must have. */
const fixedLength: Partial<Record<number, number>> = {
  [controlTypes.RstStream]: 8,
  [controlTypes.Ping]: 4,
  [controlTypes.GoAway]: 8,
  [controlTypes.WindowUpdate]: 8
}

const minLength: Partial<Record<number, number>> = {
  [controlTypes.SynStream]: 10,
  [controlTypes.SynReply]: 4,
  [controlTypes.Headers]: 4,
  [controlTypes.Settings]: 4
}

/**
 * Every complete frame at the start of `buf`; `consumed` says how many bytes they took (the rest is
 * a partial frame to keep). A frame spdystream itself would reject (a version other than 3, an
 * unknown control type, a wrong length) is a protocol error: the connection cannot continue.
 */
export const decodeFrames = (buf: Uint8Array): DecodeResult => {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const frames: Array<Frame> = []
  let at = 0
  while (b.length - at >= 8) {
    const word = b.readUInt32BE(at)
    const flags = b[at + 4]!
    const length = b.readUInt32BE(at + 4) & 0xffffff
    if (b.length - at - 8 < length) break
    const body = b.subarray(at + 8, at + 8 + length)
    const isControl = (word & 0x80000000) !== 0
    if (!isControl) {
      frames.push({ type: "Data", streamId: word & MASK31, flags, data: body })
      at += 8 + length
      continue
    }
    const version = (word >>> 16) & 0x7fff
    const type = word & 0xffff
    if (version !== SPDY_VERSION) return problem(frames, `unsupported SPDY version ${version}`)
    const exact = fixedLength[type]
    if (exact !== undefined && length !== exact) return problem(frames, `control frame type ${type} has length ${length}, expected ${exact}`)
    const min = minLength[type]
    if (min !== undefined && length < min) return problem(frames, `control frame type ${type} has length ${length}, below ${min}`)
    switch (type) {
      case controlTypes.SynStream:
        frames.push({
          type: "SynStream",
          streamId: body.readUInt32BE(0) & MASK31,
          associatedId: body.readUInt32BE(4) & MASK31,
          priority: body[8]! >>> 5,
          slot: body[9]!,
          flags,
          headerBlock: body.subarray(10)
        })
        break
      case controlTypes.SynReply:
        frames.push({ type: "SynReply", streamId: body.readUInt32BE(0) & MASK31, flags, headerBlock: body.subarray(4) })
        break
      case controlTypes.Headers:
        frames.push({ type: "Headers", streamId: body.readUInt32BE(0) & MASK31, flags, headerBlock: body.subarray(4) })
        break
      case controlTypes.RstStream:
        frames.push({ type: "RstStream", streamId: body.readUInt32BE(0) & MASK31, status: body.readUInt32BE(4) })
        break
      case controlTypes.Settings: {
        const count = body.readUInt32BE(0)
        if (length !== 4 + 8 * count) return problem(frames, `SETTINGS with ${count} entries has length ${length}`)
        const entries = Array.from({ length: count }, (_, i) => {
          const w = body.readUInt32BE(4 + 8 * i)
          return { flags: w >>> 24, id: w & 0xffffff, value: body.readUInt32BE(8 + 8 * i) }
        })
        frames.push({ type: "Settings", flags, entries })
        break
      }
      case controlTypes.Ping:
        frames.push({ type: "Ping", id: body.readUInt32BE(0) })
        break
      case controlTypes.GoAway:
        frames.push({ type: "GoAway", lastGoodStreamId: body.readUInt32BE(0) & MASK31, status: body.readUInt32BE(4) })
        break
      case controlTypes.WindowUpdate:
        frames.push({ type: "WindowUpdate", streamId: body.readUInt32BE(0) & MASK31, delta: body.readUInt32BE(4) & MASK31 })
        break
      default:
        return problem(frames, `unknown SPDY control frame type ${type}`)
    }
    at += 8 + length
  }
  return { _tag: "Frames", frames, consumed: at }
}
