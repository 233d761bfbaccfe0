import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer, type WebSocket } from "@effect/platform-node/NodeWS"
import { Effect, Queue, type Scope, Stream } from "effect"
import type { ExecProcess } from "./exec.ts"
import type { UpgradeHandler } from "./wireServer.ts"

/**
 * The WebSocket end of ExecContainerCommand: the `WebSocketUri` the simulator returns points here
 * (`ws://127.0.0.1:<port>/exec/?s=<token>`, also accepted as `/exec/<token>`), and a connection runs
 * the process the core opens for that token (its scripted shell, exec.ts).
 *
 * ECI's frame format is not documented (eci-reference §1.8, exec-streaming-notes §7: UNCONFIRMED).
 * We speak the Kubernetes channel protocol, the most plausible guess and what a kubelet bridge passes
 * through unchanged: binary messages `[channel][payload]`, 0 stdin (in), 1 stdout, 2 stderr,
 * 3 status (out, a `metav1.Status` JSON as the kubelet sends it), 4 resize (in, ignored); `[255, 0]`
 * closes stdin (v5.channel.k8s.io), as does a text message. The session ends with the status on
 * channel 3 and a close with code 1000; a client that closes first kills the command. Subprotocols
 * offered by the client are answered with the first of v5.channel.k8s.io, v4.channel.k8s.io,
 * channel.k8s.io it offers.
 */

/** Opens (and claims: a token opens one session) the process of a token; undefined if there is none. */
export type ExecOpener = (token: string) => Effect.Effect<ExecProcess | undefined, never, Scope.Scope>

const protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"]

/** `/exec/?s=<token>` (the form of ECI's URIs, and the core's) or `/exec/<token>`. */
export const execToken = (rawUrl: string | undefined): string | undefined => {
  const url = new URL(rawUrl ?? "/", "http://simulator")
  const m = /^\/exec\/([^/]+)$/.exec(url.pathname)
  if (m !== null) return decodeURIComponent(m[1]!)
  if (url.pathname === "/exec" || url.pathname === "/exec/") return url.searchParams.get("s") ?? undefined
  return undefined
}

/** The kubelet's exit status document (exec-streaming-notes §4). */
export const exitStatus = (code: number) =>
  code === 0
    ? { metadata: {}, status: "Success" }
    : {
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: error executing command, exit code ${code}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(code) }] }
    }

const frame = (channel: number, data: Uint8Array) => {
  const out = new Uint8Array(data.length + 1)
  out[0] = channel
  out.set(data, 1)
  return out
}

const refuse = (socket: Duplex, text: string) => {
  const body = JSON.stringify({ Code: "InvalidSession.NotFound", Message: text })
  socket.end(
    `HTTP/1.1 404 Not Found\r\ncontent-type: application/json;charset=utf-8\r\n`
      + `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}

type Inbound = { readonly _tag: "Stdin"; readonly data: Uint8Array } | { readonly _tag: "Eof" } | { readonly _tag: "Gone" }

const send = (ws: WebSocket, data: Uint8Array) =>
  Effect.callback<void>((resume) => {
    if (ws.readyState !== ws.OPEN) return resume(Effect.void)
    // Waiting for each write to be flushed gives the shell's output the socket's backpressure.
    ws.send(data, { binary: true }, () => resume(Effect.void))
  })

const bridge = (ws: WebSocket, process: ExecProcess) =>
  Effect.gen(function*() {
    const inbound = yield* Queue.unbounded<Inbound>()
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary || (data.length === 2 && data[0] === 255 && data[1] === 0)) Queue.offerUnsafe(inbound, { _tag: "Eof" })
      else if (data.length > 1 && data[0] === 0) Queue.offerUnsafe(inbound, { _tag: "Stdin", data: new Uint8Array(data.subarray(1)) })
    })
    ws.on("close", () => Queue.offerUnsafe(inbound, { _tag: "Gone" }))

    yield* Queue.take(inbound).pipe(
      Effect.flatMap((m) => m._tag === "Stdin" ? process.writeStdin(m.data) : m._tag === "Eof" ? process.closeStdin : process.kill),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Stream.runForEach(process.output, (chunk) => send(ws, frame(chunk.stream === "stdout" ? 1 : 2, chunk.data)))
    const code = yield* process.exitCode
    yield* send(ws, frame(3, new TextEncoder().encode(JSON.stringify(exitStatus(code)))))
    yield* Effect.sync(() => ws.close(1000))
  }).pipe(Effect.ensuring(Effect.sync(() => { if (ws.readyState !== ws.CLOSED) ws.terminate() })))

/** The `upgrade` handler of the wire server for exec sessions. */
export const execUpgradeHandler = (open: ExecOpener): UpgradeHandler => {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered: Set<string>) => protocols.find((p) => offered.has(p)) ?? false
  })
  return (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    Effect.scoped(
      Effect.gen(function*() {
        const token = execToken(req.url)
        const process = token === undefined ? undefined : yield* open(token)
        if (process === undefined) {
          return yield* Effect.sync(() => refuse(socket, "The exec session does not exist, has expired or was already opened."))
        }
        // `ws` answers a bad handshake itself and never calls back: the socket's close ends the wait.
        const ws = yield* Effect.callback<WebSocket | undefined>((resume) => {
          let done = false
          const once = (v: WebSocket | undefined) => {
            if (!done) {
              done = true
              resume(Effect.succeed(v))
            }
          }
          socket.once("close", () => once(undefined))
          wss.handleUpgrade(req, socket, head, (ws) => once(ws))
        })
        if (ws !== undefined) yield* bridge(ws, process)
      })
    )
}
