import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { KubeletHttpError } from "../../src/kubelet/errors.ts"
import { negotiateTransport, parseExecQuery } from "../../src/kubelet/exec.ts"
import { parseResizeMessages, resultFromStatus, statusBytes } from "../../src/kubelet/remotecommand.ts"
import { expectedStreams, negotiateSpdyProtocol } from "../../src/kubelet/spdy/remotecommand.ts"
import { decodeChannelMessage, encodeChannelMessage, negotiateWebSocketProtocol, WEBSOCKET_PROTOCOLS } from "../../src/kubelet/websocket.ts"
import { type Harness, runningPod, startHarness, upgradeConnection, webSocket } from "./harness.ts"
import { readResponseHead, spdyClient } from "./spdyClient.ts"

const text = (r: unknown) => (r instanceof KubeletHttpError ? `${r.status} ${r.message}` : r)

describe("exec request parsing and negotiation", () => {
  it("reads command (argv order) and stream flags, and enforces ECI's command limits", () => {
    expect(parseExecQuery(new URLSearchParams("command=sh&command=-c&command=echo+hi&error=1&input=1&output=1"))).toEqual({
      command: ["sh", "-c", "echo hi"],
      options: { stdin: true, stdout: true, stderr: true, tty: false }
    })
    expect(parseExecQuery(new URLSearchParams("command=ls&stdout=true&tty=1"))).toMatchObject({ options: { stdout: true, tty: true } })
    expect(text(parseExecQuery(new URLSearchParams("command=ls")))).toBe("400 you must specify at least 1 of stdin, stdout, stderr")
    expect(text(parseExecQuery(new URLSearchParams("output=1")))).toBe("400 you must specify a command to run")
    const many = Array.from({ length: 21 }, (_, i) => `command=a${i}`).join("&")
    expect(text(parseExecQuery(new URLSearchParams(`${many}&output=1`)))).toBe("400 ECI runs commands of at most 20 arguments; this one has 21")
    expect(text(parseExecQuery(new URLSearchParams(`command=echo&command=${"x".repeat(257)}&output=1`)))).toBe(
      "400 ECI runs commands whose arguments have at most 256 characters; argument 2 has 257"
    )
  })

  it("negotiates SPDY as httpstream.Handshake does: the first protocol we speak, v5 answered as v4", () => {
    expect(negotiateSpdyProtocol(["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"])).toBe("v4.channel.k8s.io")
    expect(negotiateSpdyProtocol(["v3.channel.k8s.io, v2.channel.k8s.io"])).toBe("v3.channel.k8s.io")
    expect(negotiateSpdyProtocol(["channel.k8s.io"])).toBeUndefined()
    const spdy = { connection: "Upgrade", upgrade: "SPDY/3.1" }
    expect(negotiateTransport({ ...spdy, "x-stream-protocol-version": "v5.channel.k8s.io, v4.channel.k8s.io" })).toEqual({ _tag: "Spdy", protocol: "v4.channel.k8s.io" })
    expect(text(negotiateTransport(spdy))).toBe("400 unable to upgrade: unable to negotiate protocol: client did not request protocol negotiation")
    expect(text(negotiateTransport({ ...spdy, "x-stream-protocol-version": "portforward.k8s.io" }))).toMatch(/^403 unable to upgrade: unable to negotiate protocol/)
    expect(text(negotiateTransport({}))).toBe("400 Upgrade request required")
    expect(text(negotiateTransport({ connection: "Upgrade", upgrade: "h2c" }))).toBe("400 unable to upgrade: unsupported protocol \"h2c\"")
  })

  it("negotiates WebSocket subprotocols, v5 first; no offer means channel.k8s.io framing", () => {
    const ws = (offer?: string) => negotiateTransport({ connection: "Upgrade", upgrade: "websocket", ...(offer === undefined ? {} : { "sec-websocket-protocol": offer }) })
    expect(ws("v4.channel.k8s.io, v5.channel.k8s.io")).toMatchObject({ _tag: "WebSocket", protocol: { name: "v5.channel.k8s.io", closeSignal: true } })
    expect(ws("base64.channel.k8s.io")).toMatchObject({ protocol: { name: "base64.channel.k8s.io", base64: true, status: "text" } })
    expect(ws()).toMatchObject({ protocol: { name: "", status: "text" } })
    expect(text(ws("SPDY/3.1+portforward.k8s.io"))).toMatch(/^400 unable to upgrade: none of the offered WebSocket subprotocols is supported/)
    expect(WEBSOCKET_PROTOCOLS.map((p) => p.name)).toEqual(["v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"])
  })

  it("expects the streams client-go creates for each protocol", () => {
    const o = { stdin: true, stdout: true, stderr: true, tty: false }
    expect(expectedStreams(o, "v4.channel.k8s.io")).toEqual(["error", "stdin", "stdout", "stderr"])
    expect(expectedStreams({ ...o, tty: true }, "v4.channel.k8s.io")).toEqual(["error", "stdin", "stdout", "resize"])
    expect(expectedStreams({ ...o, tty: true }, "v2.channel.k8s.io")).toEqual(["error", "stdin", "stdout"])
  })
})

describe("exit status documents", () => {
  it("are byte for byte the kubelet's v4 Status", () => {
    const s = (r: Parameters<typeof statusBytes>[0]) => Buffer.from(statusBytes(r, "status")!).toString()
    expect(s({ _tag: "Exited", code: 0 })).toBe("{\"metadata\":{},\"status\":\"Success\"}")
    expect(s({ _tag: "Exited", code: 3 })).toBe(
      "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: exit status 3\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}"
    )
    expect(s({ _tag: "Failed", message: "boom" })).toBe(
      "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: boom\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":\"boom\"}]},\"code\":500}"
    )
    // Older protocols: error text on failure only.
    expect(statusBytes({ _tag: "Exited", code: 0 }, "text")).toBeUndefined()
    expect(Buffer.from(statusBytes({ _tag: "Exited", code: 2 }, "text")!).toString()).toBe("command terminated with non-zero exit code: exit status 2")
  })

  it("read back from what ECI (the simulator) reports", () => {
    expect(resultFromStatus("{\"status\":\"Success\"}")).toEqual({ _tag: "Exited", code: 0 })
    expect(resultFromStatus("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"137\"}]}}")).toEqual({
      _tag: "Exited",
      code: 137
    })
    expect(resultFromStatus("{\"status\":\"Failure\",\"message\":\"no such container\"}")).toEqual({ _tag: "Failed", message: "no such container" })
    expect(resultFromStatus("plain text error")).toEqual({ _tag: "Failed", message: "plain text error" })
  })

  it("resize messages are parsed as a stream of JSON objects, however they are split", () => {
    const all = "{\"Width\":120,\"Height\":40}\n{\"Width\":80,\"Height\":24}\n{\"Wid"
    expect(parseResizeMessages(all)).toEqual({ sizes: [{ width: 120, height: 40 }, { width: 80, height: 24 }], rest: "{\"Wid" })
    expect(parseResizeMessages("{\"Width\":1,\"Height\":2}{\"x\":\"}\"}")).toEqual({ sizes: [{ width: 1, height: 2 }], rest: "" })
  })

  it("WebSocket channel messages in binary and base64 framing, and v5's close signal", () => {
    const [v5, , v4b64] = WEBSOCKET_PROTOCOLS as [typeof WEBSOCKET_PROTOCOLS[0], typeof WEBSOCKET_PROTOCOLS[0], typeof WEBSOCKET_PROTOCOLS[0]]
    expect(encodeChannelMessage(v5, 1, Buffer.from("hi"))).toEqual(Uint8Array.from([1, 104, 105]))
    expect(encodeChannelMessage(v4b64, 1, Buffer.from("hi"))).toBe("1aGk=")
    expect(decodeChannelMessage(v5, Uint8Array.from([255, 0]))).toEqual({ _tag: "Close", channel: 0 })
    expect(decodeChannelMessage(v5, Uint8Array.from([255, 0, 1]))._tag).toBe("ProtocolError")
    expect(decodeChannelMessage(v4b64, "0aGk=")).toMatchObject({ _tag: "Data", channel: 0, data: Buffer.from("hi") })
    expect(negotiateWebSocketProtocol(["v4.channel.k8s.io"])?.closeSignal).toBe(false)
  })
})

const SPDY_HEADERS = {
  Connection: "Upgrade",
  Upgrade: "SPDY/3.1",
  "X-Stream-Protocol-Version": ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]
}

const execPath = (command: ReadonlyArray<string>, flags: string) => `/exec/default/web/app?${command.map((c) => `command=${encodeURIComponent(c)}`).join("&")}&${flags}`

/** One exec over SPDY as client-go runs it; returns what each stream carried. */
const spdyExec = (h: Harness, command: ReadonlyArray<string>, options: { readonly stdin?: ReadonlyArray<Buffer> } = {}) =>
  Effect.gen(function*() {
    const flags = `error=1&output=1${options.stdin === undefined ? "" : "&input=1"}`
    const conn = yield* upgradeConnection(h, execPath(command, flags), SPDY_HEADERS, h.apiserver)
    const head = yield* Effect.promise(() => readResponseHead(conn))
    expect(head.status).toBe(101)
    expect(head.headers["upgrade"]).toBe("SPDY/3.1")
    expect(head.headers["x-stream-protocol-version"]).toBe("v4.channel.k8s.io")
    expect(head.rest.length).toBe(0) // the server waits for the client's first frame
    const client = spdyClient(conn)
    return yield* Effect.promise(async () => {
      const error = await client.open("error")
      const stdin = options.stdin === undefined ? undefined : await client.open("stdin")
      const stdout = await client.open("stdout")
      const stderr = await client.open("stderr")
      await client.ping(1)
      if (stdin !== undefined) {
        for (const chunk of options.stdin ?? []) await client.send(stdin, chunk)
        await client.send(stdin, new Uint8Array(0), true)
      }
      await Promise.all([stdout.ended, stderr.ended, error.ended])
      const goAway = await client.goneAway()
      return {
        stdout: Buffer.concat(stdout.received),
        stderr: client.text(stderr),
        status: client.text(error),
        goAway,
        // Stream order of the finish: FIN on stdout and stderr before the status.
        order: client.frames.filter((f) => f.type === "Data" && (f.flags & 1) === 1).map((f) => (f as { streamId: number }).streamId)
      }
    })
  }).pipe(Effect.scoped)

describe("exec over SPDY/3.1 through the kubelet port to the ECI simulator", () => {
  it.live("echo hi prints hi and reports Success; exit 3 reports exit code 3; stdin reaches cat; output beyond any window", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      yield* runningPod(h, "web", ["sh", "-c", "sleep 3600"])

      const hi = yield* spdyExec(h, ["echo", "hi"])
      expect(hi.stdout.toString()).toBe("hi\n")
      expect(hi.stderr).toBe("")
      expect(hi.status).toBe("{\"metadata\":{},\"status\":\"Success\"}")
      expect(hi.goAway).toMatchObject({ type: "GoAway", lastGoodStreamId: 5, status: 0 })
      expect(hi.order).toEqual([3, 5, 1])

      const three = yield* spdyExec(h, ["sh", "-c", "echo out; echo err >&2; exit 3"])
      expect(three.stdout.toString()).toBe("out\n")
      expect(three.stderr).toBe("err\n")
      expect(JSON.parse(three.status)).toEqual({
        metadata: {},
        status: "Failure",
        message: "command terminated with non-zero exit code: exit status 3",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "3" }] }
      })

      const cat = yield* spdyExec(h, ["cat"], { stdin: [Buffer.from("hello "), Buffer.from("world\n")] })
      expect(cat.stdout.toString()).toBe("hello world\n")
      expect(cat.status).toBe("{\"metadata\":{},\"status\":\"Success\"}")

      // 300 KB through stdin and back: no WINDOW_UPDATE is ever sent, as with spdystream.
      const big = Buffer.alloc(300_000)
      for (let i = 0; i < big.length; i++) big[i] = i % 251
      const echoed = yield* spdyExec(h, ["cat"], { stdin: [big.subarray(0, 100_000), big.subarray(100_000)] })
      expect(echoed.stdout.equals(big)).toBe(true)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("errors before the upgrade are Status documents: unknown pod, not running, unsupported protocol", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      yield* runningPod(h, "done", ["sh", "-c", "exit 0"])
      const answer = (path: string, headers: Record<string, string | ReadonlyArray<string>>) =>
        Effect.gen(function*() {
          const conn = yield* upgradeConnection(h, path, headers, h.apiserver)
          const head = yield* Effect.promise(() => readResponseHead(conn))
          return head.status
        }).pipe(Effect.scoped)
      expect(yield* answer("/exec/default/nope/app?command=ls&output=1", SPDY_HEADERS)).toBe(404)
      // `done` is Running in its pod status (the harness says so), but ECI refuses: its container exited.
      expect(yield* answer("/exec/default/done/app?command=ls&output=1", SPDY_HEADERS)).toBe(400)
      expect(yield* answer("/exec/default/done/app?command=ls&output=1", { ...SPDY_HEADERS, "X-Stream-Protocol-Version": "v1.channel.k8s.io" })).toBe(403)
      expect(yield* answer("/exec/default/done/app?command=ls&output=1", { Connection: "Upgrade", Upgrade: "SPDY/3.1" })).toBe(400)
    }).pipe(Effect.scoped))
})

/** One exec over a WebSocket subprotocol; the messages received and the close code. */
const wsExec = (h: Harness, protocol: string, command: ReadonlyArray<string>, stdin?: ReadonlyArray<Buffer>) =>
  Effect.gen(function*() {
    const flags = `error=1&output=1${stdin === undefined ? "" : "&input=1"}`
    const ws = yield* webSocket(h, execPath(command, flags), [protocol], h.apiserver)
    expect(ws.protocol).toBe(protocol)
    const messages: Array<Buffer | string> = []
    const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)))
    ws.on("message", (data: Buffer, isBinary: boolean) => messages.push(isBinary ? Buffer.from(data) : data.toString("utf8")))
    if (stdin !== undefined) {
      for (const chunk of stdin) ws.send(Buffer.concat([Buffer.from([0]), chunk]))
      ws.send(Buffer.from([255, 0]))
    }
    const code = yield* Effect.promise(() => closed)
    return { messages, code }
  }).pipe(Effect.scoped)

const channel = (messages: ReadonlyArray<Buffer | string>, n: number) =>
  Buffer.concat(messages.filter((m): m is Buffer => typeof m !== "string" && m[0] === n).map((m) => m.subarray(1))).toString()

describe("exec over WebSocket channels (1.36 pass-through and other clients)", () => {
  it.live("v5: ready message, output, Status on channel 3, close 1000; stdin with the close signal", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      yield* runningPod(h, "web", ["sh", "-c", "sleep 3600"])

      const hi = yield* wsExec(h, "v5.channel.k8s.io", ["sh", "-c", "echo hi; echo oops >&2; exit 3"])
      expect(hi.code).toBe(1000)
      expect(hi.messages[0]).toEqual(Buffer.from([1])) // the empty "ready" message on stdout
      expect(channel(hi.messages, 1)).toBe("hi\n")
      expect(channel(hi.messages, 2)).toBe("oops\n")
      expect(JSON.parse(channel(hi.messages, 3))).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } })

      const cat = yield* wsExec(h, "v5.channel.k8s.io", ["cat"], [Buffer.from("abc"), Buffer.from("def\n")])
      expect(channel(cat.messages, 1)).toBe("abcdef\n")
      expect(channel(cat.messages, 3)).toBe("{\"metadata\":{},\"status\":\"Success\"}")
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("v4 binary and base64 framing; channel.k8s.io reports errors as text", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      yield* runningPod(h, "web", ["sh", "-c", "sleep 3600"])
      const v4 = yield* wsExec(h, "v4.channel.k8s.io", ["echo", "hi"])
      expect(channel(v4.messages, 1)).toBe("hi\n")
      expect(channel(v4.messages, 3)).toBe("{\"metadata\":{},\"status\":\"Success\"}")

      const b64 = yield* wsExec(h, "base64.channel.k8s.io", ["sh", "-c", "echo hi; exit 2"])
      expect(b64.messages.every((m) => typeof m === "string")).toBe(true)
      const decoded = (n: number) =>
        (b64.messages as ReadonlyArray<string>).filter((m) => m[0] === String(n)).map((m) => Buffer.from(m.slice(1), "base64").toString()).join("")
      expect(decoded(1)).toBe("hi\n")
      expect(decoded(3)).toBe("command terminated with non-zero exit code: exit status 2")
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
