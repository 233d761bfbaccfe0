import type { V1PodStatus } from "@kubernetes/client-node"
import { patchToWire, toWire } from "./codec.ts"
import { podStrategies, strategicMerge } from "./strategicMerge.ts"

/**
 * A pod's status as the API server hands it back. The server decodes what it is sent into Go structs
 * (core/v1 types.go) and encodes them again with encoding/json, so a status never reads back exactly
 * as it was written:
 * - `omitempty` has no effect on a struct: a `metav1.Time` left unset is `null` (every condition's
 *   `lastProbeTime`), an unset `ContainerState` is `{}` (every container's `lastState`);
 * - a field without `omitempty` is always there (`ready: false`, `restartCount: 0`, `image: ""`);
 * - an `omitempty` string, number or list that is empty is dropped (`reason: ""`, `signal: 0`);
 * - times have second precision, in UTC.
 * Fields not described below pass through unchanged (the controller does not write them).
 *
 * Checked against kube-apiserver 1.36 by the Kube contract (test/kube/contract.ts).
 */
type Json = unknown
type JsonObject = Record<string, Json>

type Field =
  | "string" // always encoded; "" when unset
  | "string?" // omitempty
  | "bool" // always; false when unset
  | "int" // always; 0 when unset
  | "int?" // omitempty
  | "time" // metav1.Time: null when unset (omitempty never drops a struct)
  | "time?" // *metav1.Time: dropped when unset
  | "list?" // a slice, omitempty: dropped when empty
  | { readonly list: Shape } // a slice of structs, omitempty
  | { readonly struct: Shape } // a struct value: always encoded, {} when unset
  | { readonly pointer: Shape } // a pointer to a struct: dropped when unset

interface Shape {
  readonly [field: string]: Field
}

const containerState: Shape = {
  waiting: { pointer: { reason: "string?", message: "string?" } },
  running: { pointer: { startedAt: "time" } },
  terminated: {
    pointer: {
      exitCode: "int",
      signal: "int?",
      reason: "string?",
      message: "string?",
      startedAt: "time",
      finishedAt: "time",
      containerID: "string?"
    }
  }
}

const containerStatus: Shape = {
  name: "string",
  state: { struct: containerState },
  lastState: { struct: containerState },
  ready: "bool",
  restartCount: "int",
  image: "string",
  imageID: "string",
  containerID: "string?",
  volumeMounts: "list?",
  allocatedResourcesStatus: "list?"
}

const podCondition: Shape = {
  type: "string",
  observedGeneration: "int?",
  status: "string",
  lastProbeTime: "time",
  lastTransitionTime: "time",
  reason: "string?",
  message: "string?"
}

const ip: Shape = { ip: "string" }

const podStatus: Shape = {
  observedGeneration: "int?",
  phase: "string?",
  conditions: { list: podCondition },
  message: "string?",
  reason: "string?",
  nominatedNodeName: "string?",
  hostIP: "string?",
  hostIPs: { list: ip },
  podIP: "string?",
  podIPs: { list: ip },
  startTime: "time?",
  initContainerStatuses: { list: containerStatus },
  containerStatuses: { list: containerStatus },
  qosClass: "string?",
  ephemeralContainerStatuses: { list: containerStatus },
  resize: "string?",
  resourceClaimStatuses: "list?"
}

const isObject = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)

/** Go's zero time.Time, 0001-01-01T00:00:00Z, which metav1.Time writes as null. */
const goZeroTime = -62135596800000

/** RFC 3339 in UTC with whole seconds, as metav1.Time marshals; null for the zero time or nothing. */
const time = (v: Json): Json => {
  if (v === undefined || v === null || v === "") return null
  const ms = v instanceof Date ? v.getTime() : typeof v === "string" ? Date.parse(v) : Number.NaN
  if (Number.isNaN(ms)) return v
  if (ms === goZeroTime) return null
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z")
}

/** The value of one field as encoding/json writes it; undefined when the field is left out. */
const encodeField = (field: Field, v: Json): Json => {
  switch (field) {
    case "string":
      return v ?? ""
    case "string?":
      return v === "" || v === null ? undefined : v
    case "bool":
      return v ?? false
    case "int":
      return v ?? 0
    case "int?":
      return v === 0 || v === null ? undefined : v
    case "time":
      return time(v)
    case "time?":
      return v === undefined || v === null ? undefined : time(v)
    case "list?":
      return Array.isArray(v) && v.length === 0 ? undefined : v ?? undefined
  }
  if ("list" in field) {
    if (!Array.isArray(v)) return v ?? undefined
    const shape = field.list
    return v.length === 0 ? undefined : v.map((item) => isObject(item) ? encodeShape(shape, item) : item)
  }
  if ("struct" in field) return encodeShape(field.struct, isObject(v) ? v : {})
  return isObject(v) ? encodeShape(field.pointer, v) : v ?? undefined
}

const encodeShape = (shape: Shape, value: JsonObject): JsonObject => {
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(value)) {
    const field = shape[k]
    if (field === undefined) {
      if (v !== undefined) out[k] = v // a field described nowhere here: as it is
      continue
    }
    const encoded = encodeField(field, v)
    if (encoded !== undefined) out[k] = encoded
  }
  for (const [k, field] of Object.entries(shape)) {
    if (k in value) continue
    const encoded = encodeField(field, undefined)
    if (encoded !== undefined) out[k] = encoded
  }
  return out
}

/** A pod status (wire JSON) as the API server returns it after storing it. Idempotent. */
export const podStatusAsServed = (status: Json): Json => isObject(status) ? encodeShape(podStatus, status) : status

/** A pod (wire JSON) with its status as the API server returns it. */
export const podAsServed = <A extends JsonObject>(pod: A): A =>
  isObject(pod["status"]) ? { ...pod, status: podStatusAsServed(pod["status"]) } : pod

/** JSON equality that ignores the order of object keys (not of list items). */
const jsonEqual = (a: Json, b: Json): boolean => {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]))
  }
  return false
}

/**
 * Whether a strategic-merge PATCH of pods/status carrying `status` would change the status the API
 * server holds (`current`, as last read from it): the patch merged into the current status the way
 * the server merges it (conditions by type, container statuses replaced, fields the patch leaves out
 * kept), both sides in the server's encoding. A patch that changes nothing costs a request and no
 * resourceVersion, so the controller sends none.
 */
export const podStatusPatchChanges = (current: V1PodStatus | undefined, status: V1PodStatus): boolean => {
  const before = podStatusAsServed(current === undefined ? {} : toWire("V1PodStatus", current))
  const merged = strategicMerge({ status: before }, { status: patchToWire(status) }, podStrategies)["status"]
  return !jsonEqual(podStatusAsServed(merged ?? {}), before)
}
