import * as zlib from "node:zlib"
import { SPDY3_DICTIONARY } from "./dictionary.ts"

/**
 * SPDY/3 header blocks (§2.6.10): `count:32`, then per pair `name-len:32, name, value-len:32, value`
 * (several values of one name are joined with NUL), compressed with zlib and the SPDY dictionary.
 * There is one compression context per direction per connection, and every block ends at a
 * Z_SYNC_FLUSH boundary (`00 00 00 FF FF`): Go's reader kills the connection otherwise
 * (exec-streaming-notes §3).
 */

export type HeaderPairs = ReadonlyArray<readonly [string, string]>

/** The uncompressed form. Names are lower-cased, as SPDY requires. */
export const encodeHeaderPairs = (pairs: HeaderPairs): Buffer => {
  const parts: Array<Buffer> = [u32(pairs.length)]
  for (const [name, value] of pairs) {
    const n = Buffer.from(name.toLowerCase(), "utf8")
    const v = Buffer.from(value, "utf8")
    parts.push(u32(n.length), n, u32(v.length), v)
  }
  return Buffer.concat(parts)
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}

/** Header names (lower case) to their values; `undefined` when the block is malformed. */
export const decodeHeaderPairs = (raw: Uint8Array): ReadonlyMap<string, ReadonlyArray<string>> | undefined => {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  if (b.length < 4) return undefined
  const count = b.readUInt32BE(0)
  const out = new Map<string, Array<string>>()
  let at = 4
  const take = (): string | undefined => {
    if (b.length - at < 4) return undefined
    const len = b.readUInt32BE(at)
    at += 4
    if (b.length - at < len) return undefined
    const s = b.subarray(at, at + len).toString("utf8")
    at += len
    return s
  }
  for (let i = 0; i < count; i++) {
    const name = take()
    const value = take()
    if (name === undefined || value === undefined) return undefined
    out.set(name.toLowerCase(), [...(out.get(name.toLowerCase()) ?? []), ...value.split("\0")])
  }
  return at === b.length ? out : undefined
}

const ZLIB_HEADER = Buffer.from([0x78, 0xbb, 0xe3, 0xc6, 0xa7, 0xc2])
const SYNC_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])
const MAX_STORED = 0xffff

/**
 * Our outbound compression context. We send stored (uncompressed) deflate blocks: valid zlib that any
 * inflater reads, synchronous (so a SYN_REPLY is never overtaken by DATA on its stream), and the
 * blocks we send (empty SYN_REPLY header sets) gain nothing from compression anyway. The zlib header
 * (naming the dictionary by its Adler-32) goes on the first block only; each block ends with the
 * empty stored block that is the Z_SYNC_FLUSH marker. Tested against spdystream (notes §3, §9).
 */
export const makeHeaderCompressor = () => {
  let first = true
  return (raw: Uint8Array): Buffer => {
    const parts: Array<Buffer> = first ? [ZLIB_HEADER] : []
    first = false
    for (let at = 0; at < raw.length; at += MAX_STORED) {
      const chunk = raw.subarray(at, Math.min(raw.length, at + MAX_STORED))
      const head = Buffer.alloc(5)
      head.writeUInt16LE(chunk.length, 1)
      head.writeUInt16LE(~chunk.length & 0xffff, 3)
      parts.push(head, Buffer.from(chunk))
    }
    parts.push(SYNC_MARKER)
    return Buffer.concat(parts)
  }
}

export class HeaderBlockError extends Error {}

/**
 * Our inbound decompression context. Node's synchronous inflate cannot keep a zlib context between
 * calls, so each block re-inflates everything the connection sent so far (which ends at a sync
 * point) and returns the new output. A remotecommand connection carries about five small blocks, so
 * this costs nothing and keeps frame handling synchronous and strictly in order; `maxInputBytes`
 * bounds the work a hostile peer can ask for.
 */
export const makeHeaderDecompressor = (maxInputBytes = 256 * 1024) => {
  let input = Buffer.alloc(0)
  let produced = 0
  return (block: Uint8Array): Buffer => {
    input = Buffer.concat([input, block])
    if (input.length > maxInputBytes) throw new HeaderBlockError(`header blocks exceed ${maxInputBytes} bytes on one connection`)
    let all: Buffer
    try {
      all = zlib.inflateSync(input, { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    } catch (e) {
      throw new HeaderBlockError(`header block does not inflate: ${e instanceof Error ? e.message : String(e)}`)
    }
    const fresh = all.subarray(produced)
    produced = all.length
    return fresh
  }
}
