/**
 * `/exec/{ns}/{pod}[/{uid}]/{container}` (GET for WebSocket, POST for SPDY), and the refusals of
 * `/attach` and `/portForward`.
 *
 * Order, as the kubelet's `getExec` (which asks the runtime for a streaming URL, then proxies the
 * upgrade to it): validate the request, resolve the pod and container, call ExecContainerCommand —
 * everything that can fail with a clean HTTP answer happens before the upgrade, as a metav1.Status
 * client-go decodes — then upgrade (SPDY/3.1 or WebSocket), wait for the client's streams, connect
 * to ECI's WebSocket and bridge the two. After the upgrade, failures are reported as the kubelet
 * reports runtime errors: an InternalError Status on the error stream.
 *
 * ECI has no attach (no access to a container's main process stdio) and no port-forward (no tunnel
 * to a pod port) in its public API; both are refused before the upgrade with a Status that says so
 * (exec-streaming-notes §8), so kubectl exits at once with that message.
 */
import { Effect, Metric, type Scope } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { Eci } from "../eci/Eci.ts"
import { EciExecDialer } from "./eciExec.ts"
import { bridgeExec } from "./execBridge.ts"
import { badRequest, fromEciError, KubeletHttpError, statusResponse } from "./errors.ts"
import { requireRunning, resolveContainer } from "./pods.ts"
import type { RemoteCommandClient, StreamOptions } from "./remotecommand.ts"
import { KubeletSettings } from "./settings.ts"
import { acceptSpdyClient, negotiateSpdyProtocol, SPDY_PROTOCOLS } from "./spdy/remotecommand.ts"
import { openSpdySession } from "./spdy/session.ts"
import { acceptWebSocketClient, negotiateWebSocketProtocol, WEBSOCKET_PROTOCOLS } from "./websocket.ts"

/** ECI's limits on ExecContainerCommand's Command (eci-reference §1.8). */
export const ECI_MAX_ARGS = 20
export const ECI_MAX_ARG_LENGTH = 256

export interface ExecRequest {
  readonly command: ReadonlyArray<string>
  readonly options: StreamOptions
}

/** `remotecommand.NewOptions` reads "1"; other clients send "true". */
const on = (params: URLSearchParams, name: string) => {
  const v = params.get(name)
  return v === "1" || v === "true" || v === "True" || v === "TRUE"
}

/** The exec query (`command` repeated in argv order, stream flags), validated for ECI. */
export const parseExecQuery = (params: URLSearchParams): ExecRequest | KubeletHttpError => {
  const options: StreamOptions = {
    stdin: on(params, "input") || on(params, "stdin"),
    stdout: on(params, "output") || on(params, "stdout"),
    stderr: on(params, "error") || on(params, "stderr"),
    tty: on(params, "tty")
  }
  if (!options.stdin && !options.stdout && !options.stderr) return badRequest("you must specify at least 1 of stdin, stdout, stderr")
  const command = params.getAll("command")
  if (command.length === 0) return badRequest("you must specify a command to run")
  if (command.length > ECI_MAX_ARGS) {
    return badRequest(`ECI runs commands of at most ${ECI_MAX_ARGS} arguments; this one has ${command.length}`)
  }
  const long = command.findIndex((a) => a.length > ECI_MAX_ARG_LENGTH)
  if (long !== -1) {
    return badRequest(`ECI runs commands whose arguments have at most ${ECI_MAX_ARG_LENGTH} characters; argument ${long + 1} has ${command[long]!.length}`)
  }
  return { command, options }
}

export type Transport =
  | { readonly _tag: "Spdy"; readonly protocol: ReturnType<typeof negotiateSpdyProtocol> & string }
  | { readonly _tag: "WebSocket"; readonly protocol: NonNullable<ReturnType<typeof negotiateWebSocketProtocol>> }

/** Which upgrade the client asks for (`httpstream.Handshake` for SPDY), or the error the kubelet gives. */
export const negotiateTransport = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): Transport | KubeletHttpError => {
  const all = (name: string): ReadonlyArray<string> => {
    const v = headers[name]
    return v === undefined ? [] : typeof v === "string" ? [v] : v
  }
  const upgrade = (all("upgrade")[0] ?? "").toLowerCase()
  const connection = all("connection").join(",").toLowerCase()
  if (upgrade === "" || !connection.includes("upgrade")) return badRequest("Upgrade request required")
  if (upgrade === "websocket") {
    const protocol = negotiateWebSocketProtocol(all("sec-websocket-protocol"))
    if (protocol === undefined) {
      return badRequest(
        `unable to upgrade: none of the offered WebSocket subprotocols is supported; supported: ${WEBSOCKET_PROTOCOLS.map((p) => p.name).join(", ")}`
      )
    }
    return { _tag: "WebSocket", protocol }
  }
  if (upgrade !== "spdy/3.1") return badRequest(`unable to upgrade: unsupported protocol ${JSON.stringify(all("upgrade")[0])}`)
  const offered = all("x-stream-protocol-version")
  if (offered.length === 0) return badRequest("unable to upgrade: unable to negotiate protocol: client did not request protocol negotiation")
  const protocol = negotiateSpdyProtocol(offered)
  if (protocol === undefined) {
    return new KubeletHttpError({
      status: 403,
      reason: "Forbidden",
      message: `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server supports ${JSON.stringify(SPDY_PROTOCOLS)}`
    })
  }
  return { _tag: "Spdy", protocol }
}

export const unsupportedStreaming = (what: "attach" | "port-forward", nodeName: string) =>
  badRequest(
    what === "attach"
      ? `attach is not supported for pods on virtual node ${nodeName} (Alibaba ECI): ECI offers no access to a running container's main process; use kubectl exec`
      : `port-forward is not supported for pods on virtual node ${nodeName} (Alibaba ECI): ECI offers no tunnel to a pod's ports; use a Service or kubectl exec`
  )

const upgradeFailed = (e: { readonly message: string }) => new KubeletHttpError({ status: 500, reason: "InternalError", message: `unable to upgrade: ${e.message}` })

const sessionsTotal = Metric.counter("eci_vn_kubelet_exec_sessions_total", {
  description: "exec sessions by transport and outcome (exit-0, exit-nonzero, failed, client-gone)",
  incremental: true
})

/** Runs an accepted session: connect to ECI, bridge, report the result. */
const runSession = (client: RemoteCommandClient, uri: string, transport: string) =>
  Effect.gen(function*() {
    const dialer = yield* EciExecDialer
    const eci = yield* dialer.dial(uri).pipe(Effect.result)
    const result = eci._tag === "Failure" ? { _tag: "Failed" as const, message: eci.failure.message } : yield* bridgeExec(client, eci.success)
    if (result !== undefined) yield* client.finish(result)
    const outcome = result === undefined ? "client-gone" : result._tag === "Failed" ? "failed" : result.code === 0 ? "exit-0" : "exit-nonzero"
    yield* Metric.update(Metric.withAttributes(sessionsTotal, { transport, outcome }), 1)
    yield* Effect.logInfo("exec session ended").pipe(Effect.annotateLogs({
      transport,
      outcome,
      ...(result?._tag === "Exited" ? { exitCode: result.code } : {}),
      ...(result?._tag === "Failed" ? { error: result.message } : {})
    }))
  })

export interface ExecRoute {
  readonly namespace: string
  readonly pod: string
  readonly uid?: string
  readonly container: string
}

/** The exec handler; errors before the upgrade come back as KubeletHttpError (a Status response). */
export const handleExec = (route: ExecRoute, params: URLSearchParams) =>
  Effect.gen(function*() {
    const settings = yield* KubeletSettings
    const request = yield* HttpServerRequest.HttpServerRequest
    const parsed = parseExecQuery(params)
    if (parsed instanceof KubeletHttpError) return yield* parsed
    const transport = negotiateTransport(request.headers)
    if (transport instanceof KubeletHttpError) return yield* transport
    const target = yield* resolveContainer(settings.nodeName, { namespace: route.namespace, name: route.pod, ...(route.uid === undefined ? {} : { uid: route.uid }) }, route.container)
    const notRunning = requireRunning(target.pod, target.container)
    if (notRunning !== undefined) return yield* notRunning

    const eci = yield* Eci
    const started = yield* eci.call("ExecContainerCommand", {
      ContainerGroupId: target.groupId,
      ContainerName: target.container,
      Command: JSON.stringify(parsed.command),
      TTY: parsed.options.tty,
      Stdin: parsed.options.stdin
    }).pipe(Effect.mapError((e) => fromEciError(e, `exec in container ${target.container} of pod ${route.namespace}/${route.pod}`)))
    const uri = started.WebSocketUri
    if (uri === undefined || uri === "") {
      return yield* new KubeletHttpError({ status: 500, reason: "InternalError", message: "ECI's ExecContainerCommand answered without a WebSocketUri" })
    }

    const session: Effect.Effect<void, KubeletHttpError, Scope.Scope | EciExecDialer> = transport._tag === "Spdy"
      ? Effect.gen(function*() {
        const socket = yield* request.upgradeWith({ headers: { "X-Stream-Protocol-Version": transport.protocol } }).pipe(Effect.mapError(upgradeFailed))
        const spdy = yield* openSpdySession(socket).pipe(Effect.mapError(upgradeFailed))
        const client = yield* acceptSpdyClient(spdy, parsed.options, transport.protocol, settings.streamCreationTimeout).pipe(Effect.result)
        if (client._tag === "Failure") {
          yield* Effect.logInfo("exec session abandoned").pipe(Effect.annotateLogs({ error: client.failure.message }))
          return yield* spdy.goAway
        }
        yield* runSession(client.success, uri, `spdy ${transport.protocol}`)
      })
      : Effect.gen(function*() {
        const socket = yield* request.upgrade.pipe(Effect.mapError(upgradeFailed))
        const client = yield* acceptWebSocketClient(socket, transport.protocol, parsed.options).pipe(Effect.mapError(upgradeFailed))
        yield* runSession(client, uri, `websocket ${transport.protocol.name || "(none)"}`)
      })
    yield* Effect.scoped(session).pipe(
      Effect.annotateLogs({ pod: `${route.namespace}/${route.pod}`, container: target.container, containerGroupId: target.groupId })
    )
    return HttpServerResponse.empty()
  }).pipe(Effect.catchTag("KubeletHttpError", (e) => Effect.succeed(statusResponse(e))))
