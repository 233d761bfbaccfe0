/**
 * Every failure of a kubelet API request becomes one `KubeletHttpError` (status, reason, message),
 * and this file is the one place that decides which: ECI and Kubernetes errors are mapped here, and
 * here they become responses.
 *
 * Two body styles, because the two kinds of callers read errors differently:
 * - plain text for ordinary routes: the kubelet writes `err.Error()` as text, and the API server turns
 *   a kubelet's error body into the message kubectl prints (`Error from server (BadRequest): <body>`);
 * - a JSON `metav1.Status` for the streaming routes before the upgrade: client-go decodes it into a
 *   StatusError, so `kubectl exec` prints its message (exec-streaming-notes §2, §8).
 */
import { Data } from "effect"
import { HttpServerResponse } from "effect/http"
import type { EciError } from "../eci/errors.ts"
import type { KubeError } from "../kube/Kube.ts"

export class KubeletHttpError extends Data.TaggedError("KubeletHttpError")<{
  readonly status: number
  /** metav1.StatusReason */
  readonly reason: string
  readonly message: string
  /** Seconds, for 429 and 503. */
  readonly retryAfter?: number
}> {}

export const badRequest = (message: string) => new KubeletHttpError({ status: 400, reason: "BadRequest", message })
export const notFound = (message: string) => new KubeletHttpError({ status: 404, reason: "NotFound", message })
export const unauthorized = () => new KubeletHttpError({ status: 401, reason: "Unauthorized", message: "Unauthorized" })
export const forbidden = (message: string) => new KubeletHttpError({ status: 403, reason: "Forbidden", message })
export const internal = (message: string) => new KubeletHttpError({ status: 500, reason: "InternalError", message })

/** ECI failures, by what the caller can do about them. */
export const fromEciError = (e: EciError, what: string): KubeletHttpError => {
  const detail = `${e.code}${e.requestId === "" ? "" : `, request id ${e.requestId}`}`
  switch (e._tag) {
    case "EciThrottled":
      return new KubeletHttpError({
        status: 429,
        reason: "TooManyRequests",
        message: `${what}: ECI is throttling ${e.action} (${detail}); try again shortly`,
        retryAfter: 5
      })
    case "EciUnavailable":
      return new KubeletHttpError({ status: 503, reason: "ServiceUnavailable", message: `${what}: ECI is unavailable (${detail}): ${e.message}`, retryAfter: 5 })
    case "EciNotFound":
      return notFound(`${what}: the container group no longer exists in ECI (${detail})`)
    case "EciInvalidParameter":
      return badRequest(`${what}: ECI rejected the request (${detail}): ${e.message}`)
    case "EciIncorrectState":
      return badRequest(`${what}: the container group is not in a state that allows it (${detail}): ${e.message}`)
    case "EciAuthFailed":
      return new KubeletHttpError({ status: 503, reason: "ServiceUnavailable", message: `${what}: ECI refused this virtual node's credentials (${detail})` })
    case "EciOutOfStock":
    case "EciUnknownError":
      return internal(`${what}: ECI failed (${detail}): ${e.message}`)
  }
}

/** Kubernetes API failures: 404 stays 404; an unreachable or failing API server is 503. */
export const fromKubeError = (e: KubeError, what: string): KubeletHttpError => {
  if (e._tag === "KubeNotFound") return notFound(e.message)
  if (e._tag === "KubeApiError" && (e.status === 0 || e.status >= 500 || e.status === 429)) {
    return new KubeletHttpError({ status: 503, reason: "ServiceUnavailable", message: `${what}: the Kubernetes API is unavailable: ${e.message}`, retryAfter: 5 })
  }
  return internal(`${what}: ${e.message}`)
}

const headersOf = (e: KubeletHttpError): Record<string, string> => (e.retryAfter === undefined ? {} : { "retry-after": String(e.retryAfter) })

/** The kubelet's plain-text error (`http.Error`-style, with a newline). */
export const textResponse = (e: KubeletHttpError) =>
  HttpServerResponse.text(`${e.message}\n`, { status: e.status, headers: headersOf(e) })

/** A metav1.Status, as the API server and client-go expect from a refused upgrade. */
export const statusResponse = (e: KubeletHttpError) =>
  HttpServerResponse.jsonUnsafe(
    { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: e.message, reason: e.reason, code: e.status },
    { status: e.status, headers: headersOf(e) }
  )
