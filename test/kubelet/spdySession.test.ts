import { duplexPair } from "node:stream"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { EciExecConnection } from "../../src/kubelet/eciExec.ts"
import { bridgeExec } from "../../src/kubelet/execBridge.ts"
import type { RemoteCommandClient } from "../../src/kubelet/remotecommand.ts"
import { encodeFrame } from "../../src/kubelet/spdy/frames.ts"
import { acceptSpdyClient } from "../../src/kubelet/spdy/remotecommand.ts"
import { openSpdySession } from "../../src/kubelet/spdy/session.ts"
import { spdyClient } from "./spdyClient.ts"

/** A session on one end of an in-memory duplex pair, a test client on the other. */
const pair = Effect.gen(function*() {
  const [server, client] = duplexPair()
  const socket = yield* NodeSocket.fromDuplex(Effect.succeed(server))
  const session = yield* openSpdySession(socket)
  return { session, client, spdy: spdyClient(client) }
})

describe("the SPDY session", () => {
  it.live("echoes the client's pings (odd ids) and ignores even ones", () =>
    Effect.gen(function*() {
      const { spdy, client } = yield* pair
      yield* Effect.promise(() => spdy.ping(1))
      yield* Effect.promise(() => spdy.ping(3))
      client.write(encodeFrame({ type: "Ping", id: 2 }))
      yield* Effect.promise(() => spdy.ping(5))
      expect(spdy.frames.filter((f) => f.type === "Ping").map((f) => (f as { id: number }).id)).toEqual([1, 3, 5])
    }).pipe(Effect.scoped))

  it.live("replies to every stream, ends a stream's data at FIN, and ignores SETTINGS, WINDOW_UPDATE and data for unknown streams", () =>
    Effect.gen(function*() {
      const { session, spdy, client } = yield* pair
      client.write(encodeFrame({ type: "Settings", flags: 0, entries: [{ flags: 0, id: 7, value: 1 << 20 }] }))
      client.write(encodeFrame({ type: "Data", streamId: 99, flags: 0, data: Buffer.from("lost") }))
      const opened = spdy.open("stdin")
      const s = yield* session.nextStream
      yield* Effect.promise(() => opened)
      expect(s.header("streamtype")).toBe("stdin")
      const collected = yield* Stream.runCollect(s.data).pipe(Effect.forkChild)
      const c = yield* Effect.promise(() => opened)
      client.write(encodeFrame({ type: "WindowUpdate", streamId: c.id, delta: 1000 }))
      yield* Effect.promise(() => spdy.send(c, Buffer.from("abc")))
      yield* Effect.promise(() => spdy.send(c, Buffer.from("def"), true))
      const chunks = yield* Fiber.join(collected)
      expect(Buffer.concat(chunks.map((x) => Buffer.from(x))).toString()).toBe("abcdef")
      // Our side: data, then an empty DATA with FIN.
      yield* s.write(Buffer.from("out"))
      yield* s.closeWrite
      yield* Effect.promise(() => c.ended)
      expect(spdy.text(c)).toBe("out")
    }).pipe(Effect.scoped))

  it.live("an unknown control frame is a protocol error: GOAWAY(PROTOCOL_ERROR) and the session ends", () =>
    Effect.gen(function*() {
      const { session, spdy, client } = yield* pair
      client.write(Buffer.from("8003000a00000000", "hex")) // CREDENTIAL, which spdystream rejects too
      expect(yield* session.ended).toEqual({ _tag: "ProtocolError", message: "unknown SPDY control frame type 10" })
      expect(yield* Effect.promise(() => spdy.goneAway())).toMatchObject({ type: "GoAway", status: 1 })
      expect(Exit.isFailure(yield* Effect.exit(session.nextStream))).toBe(true)
    }).pipe(Effect.scoped))

  it.live("the client's GOAWAY ends the session and every stream's data", () =>
    Effect.gen(function*() {
      const { session, spdy } = yield* pair
      const opened = spdy.open("stdin")
      const s = yield* session.nextStream
      yield* Effect.promise(() => opened)
      const data = yield* Stream.runCollect(s.data).pipe(Effect.forkChild)
      yield* Effect.promise(() => spdy.goAway())
      expect(yield* session.ended).toEqual({ _tag: "GoAway" })
      expect(yield* Fiber.join(data)).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("a client that does not open its streams in time is dropped (the kubelet's 30 s)", () =>
    Effect.gen(function*() {
      const { session } = yield* pair
      const accepting = yield* acceptSpdyClient(session, { stdin: false, stdout: true, stderr: false, tty: false }, "v4.channel.k8s.io").pipe(
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("29 seconds")
      expect(accepting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(accepting)).message).toBe("timed out waiting for client to create streams")
    }).pipe(Effect.scoped))
})

/** A fake ECI connection: messages the test sends, a close it decides, what the bridge sent. */
const fakeEci = Effect.gen(function*() {
  const inbound = yield* Queue.unbounded<Uint8Array | string, Cause.Done>()
  const closed = yield* Deferred.make<{ readonly code: number; readonly reason: string }>()
  const sent: Array<Uint8Array> = []
  const threeSent = yield* Deferred.make<void>()
  const connection: EciExecConnection = {
    protocol: "v5.channel.k8s.io",
    messages: Stream.fromQueue(inbound),
    closed: Deferred.await(closed),
    send: (data) =>
      Effect.suspend(() => {
        sent.push(data)
        return sent.length === 3 ? Deferred.succeed(threeSent, undefined) : Effect.void
      }).pipe(Effect.asVoid),
    close: (code = 1000) => Deferred.succeed(closed, { code, reason: "" }).pipe(Effect.andThen(Queue.end(inbound)), Effect.asVoid)
  }
  const end = (code: number) => Deferred.succeed(closed, { code, reason: code === 1000 ? "" : "gone" }).pipe(Effect.andThen(Queue.end(inbound)))
  return { connection, inbound, end, sent, threeSent: Deferred.await(threeSent) }
})

const fakeClient = Effect.gen(function*() {
  const gone = yield* Deferred.make<void>()
  const stdin = yield* Queue.unbounded<Uint8Array, Cause.Done>()
  const out: Array<string> = []
  const client: RemoteCommandClient = {
    stdin: Stream.fromQueue(stdin),
    resize: Stream.make({ width: 80, height: 24 }),
    stdout: (d) => Effect.sync(() => void out.push(`1:${Buffer.from(d).toString()}`)),
    stderr: undefined,
    finish: () => Effect.void,
    gone: Deferred.await(gone)
  }
  return { client, gone, stdin, out }
})

describe("the exec bridge", () => {
  it.effect("forwards stdin (then the v5 EOF) and resizes to ECI, output to the client, and reads the exit Status", () =>
    Effect.gen(function*() {
      const eci = yield* fakeEci
      const c = yield* fakeClient
      const result = yield* bridgeExec(c.client, eci.connection).pipe(Effect.forkChild)
      yield* Queue.offer(c.stdin, Buffer.from("in"))
      yield* Queue.end(c.stdin)
      yield* Queue.offer(eci.inbound, Uint8Array.from([1])) // an empty "ready" message: ignored
      yield* Queue.offer(eci.inbound, Buffer.concat([Buffer.from([1]), Buffer.from("out")]))
      // No stderr stream (a tty): stderr goes to stdout.
      yield* Queue.offer(eci.inbound, Buffer.concat([Buffer.from([2]), Buffer.from("err")]))
      yield* Queue.offer(eci.inbound, Buffer.concat([Buffer.from([3]), Buffer.from("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"4\"}]}}")]))
      yield* eci.threeSent
      yield* eci.end(1000)
      expect(yield* Fiber.join(result)).toEqual({ _tag: "Exited", code: 4 })
      expect(c.out).toEqual(["1:out", "1:err"])
      // Two pumps: stdin then its EOF in order; the resize whenever it comes.
      const sent = eci.sent.map((m) => Buffer.from(m).toString("latin1"))
      expect(sent.filter((m) => m[0] !== "\u0004")).toEqual(["\u0000in", "\u00ff\u0000"])
      expect(sent.filter((m) => m[0] === "\u0004")).toEqual(["\u0004{\"Width\":80,\"Height\":24}\n"])
    }))

  it.effect("no Status from ECI: a clean close is success, anything else an internal error", () =>
    Effect.gen(function*() {
      for (const [code, expected] of [[1000, { _tag: "Exited", code: 0 }], [1011, { _tag: "Failed", message: "the ECI exec session closed unexpectedly (code 1011: gone)" }]] as const) {
        const eci = yield* fakeEci
        const c = yield* fakeClient
        const result = yield* bridgeExec(c.client, eci.connection).pipe(Effect.forkChild)
        yield* eci.end(code)
        expect(yield* Fiber.join(result)).toEqual(expected)
      }
    }))

  it.effect("a client that goes away closes the ECI session and nothing is reported", () =>
    Effect.gen(function*() {
      const eci = yield* fakeEci
      const c = yield* fakeClient
      const result = yield* bridgeExec(c.client, eci.connection).pipe(Effect.forkChild)
      yield* Deferred.succeed(c.gone, undefined)
      expect(yield* Fiber.join(result)).toBeUndefined()
      expect(yield* eci.connection.closed).toEqual({ code: 1000, reason: "" })
    }))
})

