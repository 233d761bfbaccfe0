import EciSdk, * as EciModels from "@alicloud/eci20180808"
import * as OpenApi from "@alicloud/openapi-client"
import * as $tea from "@alicloud/tea-typescript"
import { Duration, Effect, Redacted } from "effect"
import type { AccessKey, Credentials } from "../credentials/Credentials.ts"
import type { EciAction, EciRequest, EciResponse, EciTransport } from "./Eci.ts"
import {
  classifyEciError,
  EciAuthFailed,
  type EciError,
  EciInvalidParameter,
  EciUnavailable,
  EciUnknownError
} from "./errors.ts"

/**
 * One attempt of one action through the unmodified `@alicloud/eci20180808` SDK (2.0.3). The SDK does
 * no retries of its own (eci-reference §0.3), so the policy's are the only ones.
 *
 * Our requests are wire-shaped (PascalCase); `$tea.cast` builds the SDK's request model from the wire
 * names (nested models and arrays of models included: test/eci/sdkTransport.test.ts), and
 * `body.toMap()` gives the wire names back for the response.
 */

export interface SdkTransportOptions {
  readonly regionId: string
  /** Host (and optional port) of the API; default `eci-vpc.<region>.aliyuncs.com` (the VPC endpoint). */
  readonly endpoint?: string
  /** `HTTPS` (default) or `HTTP` (the simulator). */
  readonly protocol?: "HTTP" | "HTTPS"
  /**
   * The SDK applies the connect timeout to the socket's idle time as well, so the effective limit is
   * the smaller of the two (eci-reference §0.3): both are set explicitly.
   */
  readonly connectTimeout?: Duration.Input
  readonly readTimeout?: Duration.Input
}

export const defaultEndpoint = (regionId: string) => `eci-vpc.${regionId}.aliyuncs.com`
// Equal on purpose: the connect timeout doubles as the socket's idle timeout, so a longer read
// timeout would never take effect. Above ECI's usual seconds, below the policy's 30 s backstop.
export const defaultConnectTimeout: Duration.Input = "15 seconds"
export const defaultReadTimeout: Duration.Input = "15 seconds"

// The package is CommonJS: from ESM its default import is `module.exports`, whose `default` is the
// client class (eci-reference §1.0). Some loaders hand over the class itself; accept both.
type SdkClient = object
export const SdkClientClass: new(config: OpenApi.Config) => SdkClient =
  (EciSdk as unknown as { default?: new(config: OpenApi.Config) => SdkClient }).default
    ?? (EciSdk as unknown as new(config: OpenApi.Config) => SdkClient)

type ModelClass = new(map?: Record<string, unknown>) => $tea.Model
type SdkMethod = (request: $tea.Model) => Promise<{ readonly body?: { toMap(): Record<string, unknown> } }>

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

const requestModel = (action: EciAction): ModelClass => {
  const model = (EciModels as unknown as Record<string, ModelClass | undefined>)[`${action}Request`]
  if (model === undefined) throw new Error(`@alicloud/eci20180808 has no ${action}Request`)
  return model
}

/** Where a thrown SDK or socket error came from, decided by its shape (eci-reference §3.1). */
export const fromSdkError = (action: EciAction, error: unknown): EciError => {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    readonly name?: unknown
    readonly code?: unknown
    readonly statusCode?: unknown
    readonly message?: unknown
    readonly syscall?: unknown
    readonly data?: { readonly RequestId?: unknown; readonly Message?: unknown }
  }
  const str = (v: unknown) => (typeof v === "string" ? v : "")
  // An answer from ECI (any non-2xx with a JSON body): Code, HTTP status and RequestId.
  if (typeof e.statusCode === "number" && typeof e.code === "string" && e.code !== "") {
    return classifyEciError({
      action,
      code: e.code,
      message: str(e.data?.Message) || str(e.message),
      requestId: str(e.data?.RequestId),
      httpStatus: e.statusCode
    })
  }
  // The SDK's socket errors carry the whole URL, i.e. every request parameter (registry passwords,
  // Secret contents in ConfigFileVolume): never pass their message on, only what kind they were.
  if (e.name === "RequestTimeoutError") {
    const which = /^(ReadTimeout|ConnectTimeout)\(\d+\)/.exec(str(e.message))?.[0] ?? "timeout"
    return new EciUnavailable({ action, code: "RequestTimeout", message: `no answer from ECI: ${which}`, requestId: "" })
  }
  if (error instanceof SyntaxError) {
    return new EciUnavailable({
      action,
      code: "NetworkError.BadResponse",
      message: "the answer was not JSON (an empty error body, e.g. HTTP 431 for an oversized URL, or a proxy's page)",
      requestId: ""
    })
  }
  if (typeof e.code === "string" && /^E[A-Z0-9_]+$/.test(e.code)) {
    const syscall = str(e.syscall)
    return new EciUnavailable({
      action,
      code: "NetworkError",
      message: `connection failed: ${e.code}${syscall === "" ? "" : ` (${syscall})`}`,
      requestId: ""
    })
  }
  const message = str(e.message).replace(/\s*(POST|GET) https?:\/\/\S*.*$/s, "")
  return new EciUnknownError({ action, code: str(e.code) || "SdkError", message: message || String(error), requestId: "" })
}

const sameKey = (a: AccessKey, b: AccessKey) =>
  a.accessKeyId === b.accessKeyId
  && Redacted.value(a.accessKeySecret) === Redacted.value(b.accessKeySecret)
  && (a.securityToken === undefined) === (b.securityToken === undefined)
  && (a.securityToken === undefined || Redacted.value(a.securityToken) === Redacted.value(b.securityToken!))

/**
 * The transport over the SDK. Credentials are read on every attempt; the client is cached for the
 * current key and rebuilt when it changes (rotation of the Secret, a new STS token).
 */
export const makeSdkTransport = (options: SdkTransportOptions, credentials: typeof Credentials.Service): EciTransport => {
  const endpoint = options.endpoint !== undefined && options.endpoint !== ""
    ? options.endpoint
    : defaultEndpoint(options.regionId)
  const protocol = options.protocol ?? "HTTPS"
  const connectTimeout = Duration.toMillis(Duration.fromInputUnsafe(options.connectTimeout ?? defaultConnectTimeout))
  const readTimeout = Duration.toMillis(Duration.fromInputUnsafe(options.readTimeout ?? defaultReadTimeout))
  let cached: { readonly key: AccessKey; readonly client: SdkClient } | undefined

  const clientFor = (key: AccessKey): SdkClient => {
    if (cached !== undefined && sameKey(cached.key, key)) return cached.client
    const client = new SdkClientClass(
      new OpenApi.Config({
        accessKeyId: key.accessKeyId,
        accessKeySecret: Redacted.value(key.accessKeySecret),
        ...(key.securityToken === undefined ? {} : { securityToken: Redacted.value(key.securityToken) }),
        endpoint,
        protocol,
        regionId: options.regionId,
        connectTimeout,
        readTimeout
      })
    )
    cached = { key, client }
    return client
  }

  return <A extends EciAction>(action: A, request: EciRequest<A>): Effect.Effect<EciResponse<A>, EciError> =>
    Effect.gen(function*() {
      const key = yield* credentials.current.pipe(
        Effect.mapError((e) =>
          new EciAuthFailed({ action, code: "CredentialsUnavailable", message: `${e.provider}: ${e.message}`, requestId: "" })
        )
      )
      const model = yield* Effect.try({
        try: () => $tea.cast(request, new (requestModel(action))({})),
        catch: (e) =>
          new EciInvalidParameter({
            action,
            code: "InvalidParameter",
            message: `the request does not fit the SDK's ${action}Request model: ${e instanceof Error ? e.message : String(e)}`,
            requestId: ""
          })
      })
      const client = clientFor(key)
      const method = (client as unknown as Record<string, SdkMethod>)[lowerFirst(action)]!.bind(client)
      const response = yield* Effect.tryPromise({ try: () => method(model), catch: (e) => fromSdkError(action, e) })
      return (response.body?.toMap() ?? {}) as EciResponse<A>
    })
}
