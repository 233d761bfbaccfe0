import * as zlib from "node:zlib"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { SPDY3_DICTIONARY } from "../../src/kubelet/spdy/dictionary.ts"
import { decodeFrames, encodeFrame, FLAG_FIN, type Frame } from "../../src/kubelet/spdy/frames.ts"
import { decodeHeaderPairs, encodeHeaderPairs, makeHeaderCompressor, makeHeaderDecompressor } from "../../src/kubelet/spdy/headerBlock.ts"
import { makeDeflater } from "./spdyClient.ts"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const adler32 = (b: Uint8Array) => {
  let a = 1
  let s = 0
  for (const x of b) {
    a = (a + x) % 65521
    s = (s + a) % 65521
  }
  return ((s << 16) | a) >>> 0
}

describe("SPDY/3 dictionary", () => {
  it("is the 1423 bytes of the spec (Adler-32 0xE3C6A7C2, the id in every first header block)", () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423)
    expect(adler32(SPDY3_DICTIONARY).toString(16)).toBe("e3c6a7c2")
    expect(SPDY3_DICTIONARY.subarray(0, 11).toString("latin1")).toBe("\0\0\0\u0007options")
    expect(SPDY3_DICTIONARY.subarray(-6).toString("latin1")).toBe("enq=0.")
  })
})

describe("SPDY frames", () => {
  const all: ReadonlyArray<Frame> = [
    { type: "SynStream", streamId: 1, associatedId: 0, priority: 0, slot: 0, flags: 0, headerBlock: Buffer.from([1, 2, 3]) },
    { type: "SynStream", streamId: 7, associatedId: 3, priority: 5, slot: 2, flags: FLAG_FIN, headerBlock: Buffer.alloc(0) },
    { type: "SynReply", streamId: 3, flags: 0, headerBlock: Buffer.from([9, 9]) },
    { type: "RstStream", streamId: 5, status: 5 },
    { type: "Settings", flags: 1, entries: [{ flags: 0, id: 7, value: 65536 }, { flags: 1, id: 4, value: 100 }] },
    { type: "Ping", id: 0xfffffffe },
    { type: "GoAway", lastGoodStreamId: 9, status: 0 },
    { type: "Headers", streamId: 1, flags: FLAG_FIN, headerBlock: Buffer.from("x") },
    { type: "WindowUpdate", streamId: 0, delta: 65536 },
    { type: "Data", streamId: 3, flags: FLAG_FIN, data: Buffer.from("hello") },
    { type: "Data", streamId: 0x7fffffff, flags: 0, data: Buffer.alloc(0) }
  ]

  it("round-trip through encode and decode, in one buffer", () => {
    const bytes = Buffer.concat(all.map(encodeFrame))
    const r = decodeFrames(bytes)
    expect(r._tag).toBe("Frames")
    expect(r._tag === "Frames" && r.consumed).toBe(bytes.length)
    expect(r.frames.map((f) => JSON.parse(JSON.stringify(f, (_k, v) => (v?.type === "Buffer" ? hex(Buffer.from(v.data)) : v instanceof Uint8Array ? hex(v) : v)))))
      .toEqual(all.map((f) => JSON.parse(JSON.stringify(f, (_k, v) => (v?.type === "Buffer" ? hex(Buffer.from(v.data)) : v instanceof Uint8Array ? hex(v) : v)))))
  })

  it("leave a partial frame for the next read, whatever the split", () => {
    const bytes = Buffer.concat(all.map(encodeFrame))
    for (let split = 0; split <= bytes.length; split++) {
      const a = decodeFrames(bytes.subarray(0, split))
      expect(a._tag).toBe("Frames")
      const consumed = a._tag === "Frames" ? a.consumed : 0
      const b = decodeFrames(bytes.subarray(consumed))
      expect(a.frames.length + b.frames.length).toBe(all.length)
    }
  })

  it("have the exact wire layout of the spec", () => {
    expect(hex(encodeFrame({ type: "Ping", id: 1 }))).toBe("8003000600000004" + "00000001")
    expect(hex(encodeFrame({ type: "GoAway", lastGoodStreamId: 5, status: 0 }))).toBe("8003000700000008" + "00000005" + "00000000")
    expect(hex(encodeFrame({ type: "RstStream", streamId: 3, status: 5 }))).toBe("8003000300000008" + "00000003" + "00000005")
    expect(hex(encodeFrame({ type: "Data", streamId: 3, flags: FLAG_FIN, data: Buffer.from("hi") }))).toBe("00000003" + "01000002" + "6869")
  })

  it("reject what spdystream rejects: another version, an unknown control type, a wrong fixed length", () => {
    const v2ping = Buffer.from("8002000600000004" + "00000001", "hex")
    expect(decodeFrames(v2ping)).toMatchObject({ _tag: "ProtocolError", message: "unsupported SPDY version 2" })
    const credential = Buffer.from("8003000a00000000", "hex")
    expect(decodeFrames(credential)).toMatchObject({ _tag: "ProtocolError", message: "unknown SPDY control frame type 10" })
    const badPing = Buffer.from("8003000600000003" + "000000", "hex")
    expect(decodeFrames(badPing)._tag).toBe("ProtocolError")
    // Frames before the bad one are still delivered.
    const r = decodeFrames(Buffer.concat([encodeFrame({ type: "Ping", id: 1 }), credential]))
    expect(r.frames).toHaveLength(1)
  })
})

describe("SPDY header blocks", () => {
  it("encode pairs as count, then length-prefixed names and values; several values joined with NUL", () => {
    const raw = encodeHeaderPairs([["streamType", "error"]])
    expect(hex(raw)).toBe("00000001" + "0000000a" + Buffer.from("streamtype").toString("hex") + "00000005" + Buffer.from("error").toString("hex"))
    const decoded = decodeHeaderPairs(encodeHeaderPairs([["port", "80\u000081"], ["requestid", "0"]]))
    expect(decoded?.get("port")).toEqual(["80", "81"])
    expect(decoded?.get("requestid")).toEqual(["0"])
    expect(decodeHeaderPairs(Buffer.from("0000000100000004abcd", "hex"))).toBeUndefined()
  })

  it("our empty SYN_REPLY block is the stored-block form tested against spdystream", () => {
    const compress = makeHeaderCompressor()
    // zlib header naming the SPDY dictionary, a stored block holding count=0, the sync marker.
    expect(hex(compress(encodeHeaderPairs([])))).toBe("78bbe3c6a7c2" + "000400fbff" + "00000000" + "000000ffff")
    // The header goes on the first block only.
    expect(hex(compress(encodeHeaderPairs([])))).toBe("000400fbff" + "00000000" + "000000ffff")
  })

  it("what we compress inflates with zlib and the dictionary, block by block", () => {
    const compress = makeHeaderCompressor()
    const big = encodeHeaderPairs([["x", "y".repeat(70_000)]])
    const blocks = [compress(encodeHeaderPairs([])), compress(encodeHeaderPairs([["a", "b"]])), compress(big)]
    const inflated = zlib.inflateSync(Buffer.concat(blocks), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    expect(inflated.equals(Buffer.concat([encodeHeaderPairs([]), encodeHeaderPairs([["a", "b"]]), big]))).toBe(true)
  })

  it("inflates a connection's blocks, compressed with one deflate context, one at a time", async () => {
    const deflate = makeDeflater()
    const decompress = makeHeaderDecompressor()
    for (const type of ["error", "stdin", "stdout", "stderr", "error"]) {
      const block = await deflate(encodeHeaderPairs([["streamtype", type]]))
      expect(decodeHeaderPairs(decompress(block))?.get("streamtype")).toEqual([type])
    }
  })

  it("refuses garbage and runaway input", () => {
    expect(() => makeHeaderDecompressor()(Buffer.from("not zlib at all"))).toThrow(/does not inflate/)
    const small = makeHeaderDecompressor(10)
    expect(() => small(Buffer.alloc(11))).toThrow(/exceed 10 bytes/)
  })
})

/**
 * Frames the real Go client wrote (client-go v0.36.3 `remotecommand.NewSPDYExecutor`, moby/spdystream
 * v0.5.1, via tools/exec-client) for `exec -i … cat` with stdin "hello\n": everything after its HTTP
 * request head, recorded by fixtures/recordGoSpdyFrames.ts.
 */
describe("recorded frames of Go's spdystream client", () => {
  const recorded = readFileSync(join(import.meta.dirname, "fixtures/go-spdy-client-exec.hex"), "utf8").replace(/\s+/g, "")
  const bytes = Buffer.from(recorded, "hex")

  it("decode into SYN_STREAMs with the streamtype header and stdin DATA ending in an empty FIN frame", () => {
    const r = decodeFrames(bytes)
    expect(r._tag).toBe("Frames")
    expect(r._tag === "Frames" && r.consumed).toBe(bytes.length)
    const decompress = makeHeaderDecompressor()
    const syn = r.frames.filter((f): f is Extract<Frame, { type: "SynStream" }> => f.type === "SynStream")
    // The first header block is a zlib stream with a preset dictionary (FDICT), named by its Adler-32.
    expect(syn[0]!.headerBlock[0]).toBe(0x78)
    expect(syn[0]!.headerBlock[1]! & 0x20).toBe(0x20)
    expect(hex(syn[0]!.headerBlock.subarray(2, 6))).toBe("e3c6a7c2")
    // Each block ends at a sync flush.
    for (const f of syn) expect(hex(f.headerBlock.subarray(-4))).toBe("0000ffff")
    const types = syn.map((f) => ({ id: f.streamId, type: decodeHeaderPairs(decompress(f.headerBlock))?.get("streamtype")?.[0] }))
    expect(types).toEqual([{ id: 1, type: "error" }, { id: 3, type: "stdin" }, { id: 5, type: "stdout" }, { id: 7, type: "stderr" }])
    const stdin = r.frames.filter((f): f is Extract<Frame, { type: "Data" }> => f.type === "Data" && f.streamId === 3)
    expect(Buffer.concat(stdin.map((f) => f.data)).toString()).toBe("hello\n")
    expect(stdin.at(-1)!.flags).toBe(FLAG_FIN)
    expect(stdin.at(-1)!.data.length).toBe(0)
    // Every frame re-encodes to the bytes Go wrote.
    expect(Buffer.concat(r.frames.map(encodeFrame)).equals(bytes)).toBe(true)
  })
})
