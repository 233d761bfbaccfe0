import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import { Clock, Data, Deferred, Effect, FiberSet, Redacted, Result, type Scope } from "effect"
import { randomUuid } from "../../common/uuid.ts"
import { type AuthFailure, makeNonceMemory, verifyAcs3 } from "./acs3.ts"
import { type ApiErrorInfo, Faults, type SimulatorFailure } from "./failures.ts"
import { decodeRequest } from "./query.ts"

/**
 * The simulator on the wire: an HTTP server that speaks what the unmodified `@alicloud/eci20180808`
 * SDK speaks (eci-reference §4): `POST /` with the action and version in `x-acs-action` /
 * `x-acs-version`, every parameter flattened in the query string (hundreds of KB for big
 * ConfigFileVolumes: the header limit is raised to match), an ACS3-HMAC-SHA256 signature checked
 * against the configured key pairs, success as the PascalCase JSON body and failures as ECI's error
 * envelope `{RequestId, HostId, Code, Message, Recommend}` with a non-2xx status. A dropped-connection
 * fault destroys the socket.
 *
 * The same server carries the admin API (`/admin/…`, adminApi.ts) and the exec WebSockets
 * (`/exec/<token>`, execWebSocket.ts). Node's http server is the platform edge and uses real time;
 * each request is handled by an Effect fiber on the server's runtime, so the core's Clock and Random
 * are the ones the caller provides.
 */

export const apiVersion = "2018-08-08"

/** A key pair the server accepts. The secret never leaves Redacted except to compute an HMAC. */
export interface AccessKeyPair {
  readonly accessKeyId: string
  readonly accessKeySecret: Redacted.Redacted<string>
}

/** The accepted key pairs; replaced at run time through the admin API (rotation, revocation). */
export interface AccessKeyStore {
  readonly secretFor: (accessKeyId: string) => Redacted.Redacted<string> | undefined
  readonly replace: (keys: ReadonlyArray<AccessKeyPair>) => Effect.Effect<void>
  /** The ids only. */
  readonly ids: Effect.Effect<ReadonlyArray<string>>
}

export const makeAccessKeyStore = (initial: ReadonlyArray<AccessKeyPair>): AccessKeyStore => {
  let keys = new Map(initial.map((k) => [k.accessKeyId, k.accessKeySecret]))
  return {
    secretFor: (id) => keys.get(id),
    replace: (next) => Effect.sync(() => { keys = new Map(next.map((k) => [k.accessKeyId, k.accessKeySecret])) }),
    ids: Effect.sync(() => [...keys.keys()])
  }
}

/** What the wire face needs from the simulator core: one API action, in ECI's terms. */
export interface WireApi {
  /**
   * Carries out `action` with the decoded wire-shaped request. The success body carries the core's
   * RequestId; so do its failures. An action the core does not know fails with `InvalidApi.NotFound`.
   */
  readonly call: (action: string, request: Record<string, unknown>) => Effect.Effect<Record<string, unknown>, SimulatorFailure>
}

/** A handler of everything under `/admin/` (adminApi.ts): the parsed JSON body in, status and JSON out. */
export type AdminHandler = (request: {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
}) => Effect.Effect<{ readonly status: number; readonly body: unknown }>

/** A handler of WebSocket upgrades on `/exec/<token>` (execWebSocket.ts). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => Effect.Effect<void>

export interface WireServerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** Default 127.0.0.1: the simulator is a local test fixture. */
  readonly host?: string
  readonly accessKeys: AccessKeyStore
  /** Region named in the envelope's HostId; default cn-hangzhou. */
  readonly regionId?: string
  /** Node's header limit, which bounds the query string; default 16 MiB. */
  readonly maxHeaderBytes?: number
}

/** What the server serves: the API, and optionally the admin API and WebSocket upgrades. */
export interface WireHandlers {
  readonly api: WireApi
  readonly admin?: AdminHandler
  readonly upgrade?: UpgradeHandler
}

export interface WireServer {
  readonly port: number
  /** `http://<host>:<port>` */
  readonly url: string
  /** Host and port as the SDK's `endpoint` option wants it. */
  readonly endpoint: string
}

export class WireServerError extends Data.TaggedError("WireServerError")<{ readonly message: string }> {}

/** An ECI-style RequestId (upper-case UUID v4) from the Random service, so a seeded run repeats it. */
export const randomRequestId: Effect.Effect<string> = Effect.map(randomUuid, (id) => id.toUpperCase())

const jsonHeaders = (requestId?: string) => ({
  "content-type": "application/json;charset=utf-8",
  ...(requestId === undefined ? {} : { "x-acs-request-id": requestId })
})

const send = (res: ServerResponse, status: number, body: unknown, requestId?: string) =>
  Effect.sync(() => {
    if (res.headersSent || res.destroyed) return
    res.writeHead(status, jsonHeaders(requestId))
    res.end(JSON.stringify(body))
  })

const readBody = (req: IncomingMessage) =>
  Effect.callback<Buffer, WireServerError>((resume) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
    req.on("error", (e) => resume(Effect.fail(new WireServerError({ message: `reading the request: ${e.message}` }))))
  })

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name]
  return Array.isArray(v) ? v.join(",") : v
}

/**
 * Starts the server, then builds its handlers from its address (the simulator's exec URIs must name
 * the port, which is known only once listening); requests that arrive in between wait for them. The
 * server stops (closing every connection, interrupting the handlers) when the scope closes.
 */
export const startWireServer = <E, R>(
  options: WireServerOptions,
  makeHandlers: (server: WireServer) => Effect.Effect<WireHandlers, E, R>
): Effect.Effect<WireServer, WireServerError | E, Scope.Scope | R> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const hostId = `eci.${options.regionId ?? "cn-hangzhou"}.aliyuncs.com`
    const nonces = makeNonceMemory()
    const run = yield* FiberSet.makeRuntime<never, void, never>()
    const ready = yield* Deferred.make<WireHandlers>()

    const envelope = (res: ServerResponse, requestId: string, e: ApiErrorInfo) =>
      send(res, e.httpStatus, {
        RequestId: requestId,
        HostId: hostId,
        Code: e.code,
        Message: e.message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(e.code)}&product=Eci&requestId=${requestId}`
      }, requestId)

    const handleApi = (api: WireApi, req: IncomingMessage, res: ServerResponse, body: Buffer) =>
      Effect.gen(function*() {
        const fail = (e: ApiErrorInfo) => Effect.flatMap(randomRequestId, (id) => envelope(res, id, e))
        const action = header(req, "x-acs-action")
        if (req.method !== "POST" && req.method !== "GET") {
          return yield* fail({ code: "UnsupportedHTTPMethod", message: `This action does not support ${req.method}.`, httpStatus: 400 })
        }
        if (action === undefined || action === "") return yield* fail(Faults.missingParameter("Action").info)

        const now = yield* Clock.currentTimeMillis
        const verified = verifyAcs3(
          { method: req.method, url: req.url ?? "/", headers: req.headers, body },
          options.accessKeys.secretFor,
          now,
          nonces
        )
        if (Result.isFailure(verified)) return yield* fail(verified.failure satisfies AuthFailure)

        const version = header(req, "x-acs-version")
        if (version !== apiVersion) {
          return yield* fail({
            code: "InvalidVersion",
            message: `Specified parameter Version is not valid: ${version ?? "(none)"}; ECI speaks ${apiVersion}.`,
            httpStatus: 400
          })
        }

        const query = new URL(req.url ?? "/", "http://simulator").searchParams
        const decoded = decodeRequest(action, query)
        if (Result.isFailure(decoded)) {
          return yield* fail(Faults.invalidParameter(decoded.failure.param, decoded.failure.problem).info)
        }

        const outcome = yield* Effect.result(api.call(action, decoded.success))
        if (Result.isSuccess(outcome)) {
          const rid = outcome.success["RequestId"]
          return yield* send(res, 200, outcome.success, typeof rid === "string" ? rid : undefined)
        }
        const failure = outcome.failure
        if (failure._tag === "SimulatorConnectionDropped") {
          return yield* Effect.sync(() => req.socket.destroy())
        }
        return yield* envelope(res, failure.requestId, failure)
      })

    const handle = (req: IncomingMessage, res: ServerResponse) =>
      Effect.gen(function*() {
        const body = yield* readBody(req)
        const handlers = yield* Deferred.await(ready)
        const url = new URL(req.url ?? "/", "http://simulator")
        if (url.pathname === "/admin" || url.pathname.startsWith("/admin/")) {
          if (handlers.admin === undefined) return yield* send(res, 404, { error: "no admin API on this server" })
          let json: unknown = undefined
          if (body.length > 0) {
            try {
              json = JSON.parse(body.toString("utf8"))
            } catch {
              return yield* send(res, 400, { error: "the body is not JSON" })
            }
          }
          const answer = yield* handlers.admin({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, body: json })
          return yield* send(res, answer.status, answer.body)
        }
        return yield* handleApi(handlers.api, req, res, body)
      }).pipe(
        Effect.catchCause((cause) =>
          Effect.logError("eci-simulator: request failed", cause).pipe(
            Effect.andThen(send(res, 500, { Code: "InternalError", Message: "The simulator failed on this request." }))
          )
        )
      )

    const http = createServer({ maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024 * 1024 }, (req, res) => {
      const fiber = run(handle(req, res))
      // A client that goes away (e.g. its read timeout) interrupts the work done for it.
      res.on("close", () => {
        if (!res.writableFinished) fiber.interruptUnsafe()
      })
    })
    http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      run(
        Deferred.await(ready).pipe(
          Effect.flatMap((handlers) =>
            handlers.upgrade === undefined
              ? Effect.sync(() => socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"))
              : handlers.upgrade(req, socket, head)
          )
        )
      )
    })
    // Malformed requests, and a request line over the limit, get a JSON answer rather than a bare 431,
    // which the SDK would report as an unreadable answer (eci-reference §0.4).
    http.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy()
      const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400
      const body = JSON.stringify({ Code: status === 431 ? "RequestHeaderTooLarge" : "BadRequest", Message: err.message })
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\n`
          + `content-type: application/json;charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
      )
    })

    const port = yield* Effect.acquireRelease(
      Effect.callback<number, WireServerError>((resume) => {
        const onError = (e: Error) => resume(Effect.fail(new WireServerError({ message: `cannot listen on ${host}:${options.port ?? 0}: ${e.message}` })))
        http.once("error", onError)
        http.listen(options.port ?? 0, host, () => {
          http.off("error", onError)
          resume(Effect.succeed((http.address() as AddressInfo).port))
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          http.close(() => resume(Effect.void))
          http.closeAllConnections()
        })
    )
    const server: WireServer = { port, url: `http://${host}:${port}`, endpoint: `${host}:${port}` }
    yield* Deferred.succeed(ready, yield* makeHandlers(server))
    return server
  })

/** Reads `Redacted` key pairs from plain strings (CLI flags, admin API). */
export const accessKeyPair = (accessKeyId: string, accessKeySecret: string): AccessKeyPair => ({
  accessKeyId,
  accessKeySecret: Redacted.make(accessKeySecret)
})
