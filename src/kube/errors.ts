import { ApiException } from "@kubernetes/client-node"
import { KubeApiError, KubeConflict, type KubeError, KubeNotFound } from "./Kube.ts"

/**
 * What a failed call was about: the operation (for KubeApiError) and the resource plural and name
 * (for KubeNotFound / KubeConflict) in the API server's own words, e.g. `{ kind: "pods", name: "web" }`.
 */
export interface CallTarget {
  readonly operation: string
  readonly kind: string
  readonly name: string
}

// The API server's messages, so that the in-memory layer says exactly what a real one says.
// `kind` may be "leases.coordination.k8s.io"-style qualified in a real message; we keep the plural.
export const notFound = (kind: string, name: string) =>
  new KubeNotFound({ kind, name, message: `${kind} "${name}" not found` })

export const alreadyExists = (kind: string, name: string) =>
  new KubeConflict({ kind, name, reason: "AlreadyExists", message: `${kind} "${name}" already exists` })

export const staleConflict = (kind: string, name: string) =>
  new KubeConflict({
    kind,
    name,
    reason: "Conflict",
    message: `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`
  })

/**
 * A failed UID precondition on DELETE. The API server names the Kind here ("Pod"), not the resource:
 * the check happens in its graceful-deletion step (rest.BeforeDelete), which builds the error that way.
 */
export const uidConflict = (kind: string, name: string, expected: string, actual: string) =>
  new KubeConflict({
    kind,
    name,
    reason: "Conflict",
    message: `Operation cannot be fulfilled on ${kind} "${name}": the UID in the precondition (${expected}) does not match the UID in record (${actual}). The object might have been deleted and then recreated`
  })

/** A metav1.Status body, as far as we read it. */
interface StatusBody {
  readonly message?: string
  readonly reason?: string
  readonly code?: number
  readonly details?: { readonly name?: string; readonly kind?: string }
}

const parseStatus = (body: unknown): StatusBody => {
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body)
      return typeof parsed === "object" && parsed !== null ? parsed as StatusBody : { message: body }
    } catch {
      return { message: body }
    }
  }
  return typeof body === "object" && body !== null ? body as StatusBody : {}
}

/**
 * Maps a metav1.Status (from an error response or a watch ERROR event) to our errors: 404 →
 * KubeNotFound, 409 → KubeConflict (reason from the body: Conflict or AlreadyExists), anything else
 * → KubeApiError. The body's details win over the call target: creating a pod in a missing namespace
 * is a 404 about `namespaces`, not `pods`.
 */
export const fromStatus = (status: number, body: unknown, target: CallTarget): KubeError => {
  const s = parseStatus(body)
  const kind = s.details?.kind ?? target.kind
  const name = s.details?.name ?? target.name
  const message = s.message ?? `HTTP ${status}`
  if (status === 404) return new KubeNotFound({ kind, name, message })
  if (status === 409) return new KubeConflict({ kind, name, reason: s.reason ?? "Conflict", message })
  return new KubeApiError({ operation: target.operation, status, reason: s.reason ?? "Unknown", message })
}

/**
 * Any rejection from a client-node call. An `ApiException` carries the HTTP status and the Status
 * body; everything else (refused connection, TLS failure, abort) never reached the server: status 0.
 */
export const fromClientError = (error: unknown, target: CallTarget): KubeError => {
  if (error instanceof ApiException) return fromStatus(error.code, error.body, target)
  const statusCode = typeof error === "object" && error !== null && "statusCode" in error ? error.statusCode : undefined
  if (typeof statusCode === "number") return fromStatus(statusCode, undefined, target)
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return new KubeApiError({
    operation: target.operation,
    status: 0,
    reason: "ConnectionFailed",
    message: `${error instanceof Error ? error.message : String(error)}${cause}`
  })
}
