import type { Wire } from "../codec.ts"
import { IMAGE_CACHE_API } from "../imageCache.ts"
import { formatTime, invalid, jsonEqual, meta } from "./store.ts"

/**
 * What kube-apiserver does with an ImageCache, for the in-memory layer: the CRD's schema and CEL
 * rules (k8s/imagecache-crd.yaml) with the API server's messages, the `imageCacheSize` default, the
 * status subresource, and custom-resource deletion (finalizers hold the object; no grace period).
 * test/imagecache/crd.test.ts checks these rules against the CRD file; the Kube contract suite checks
 * the messages against a real API server.
 */

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? v as Obj : {})

/** The CEL rules' regular expressions, as written (unescaped) in the CRD. */
export const IMAGE_PATTERN =
  "^[^\\s/:@]+(:[0-9]+)?(/[^\\s/:@]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
export const PULL_SECRET_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"

/** The CEL rules' messages, as written in the CRD. */
export const IMAGE_CACHE_MESSAGES = {
  image: "must be an image reference such as nginx:1.27, registry.example.com:5000/team/app:1.2 or app@sha256:<digest>",
  pullSecret: "must be namespace:secretName, e.g. default:registry-credentials",
  size: "imageCacheSize is in GiB and must be between 20 and 32768",
  retention: "retentionDays must be between 1 and 65536 (leave it out for a cache that never expires)",
  immutable: "spec is immutable; delete the ImageCache and create it again to change it"
} as const

export const PHASES = ["Pending", "Preparing", "Creating", "Ready", "Failed", "Updating", "UpdateFailed", "Unknown"] as const

const imageRe = new RegExp(IMAGE_PATTERN)
const pullSecretRe = new RegExp(PULL_SECRET_PATTERN)

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v))

/** A list of strings: maxItems, set semantics, maxLength and a CEL rule per item. */
const checkList = (
  errors: Array<string>,
  field: string,
  value: unknown,
  limits: { readonly minItems: number; readonly maxItems: number; readonly maxLength: number; readonly re: RegExp; readonly message: string }
) => {
  if (!Array.isArray(value)) return void errors.push(`${field}: Invalid value: ${show(typeof value)}: ${field} in body must be of type array: ${show(typeof value)}`)
  if (value.length < limits.minItems) errors.push(`${field}: Invalid value: ${value.length}: ${field} in body should have at least ${limits.minItems} items`)
  if (value.length > limits.maxItems) errors.push(`${field}: Too many: ${value.length}: must have at most ${limits.maxItems} items`)
  value.forEach((item, i) => {
    const at = `${field}[${i}]`
    if (typeof item !== "string") return void errors.push(`${at}: Invalid value: ${show(typeof item)}: ${at} in body must be of type string: ${show(typeof item)}`)
    if (value.indexOf(item) < i) errors.push(`${at}: Duplicate value: ${show(item)}`)
    if (item.length > limits.maxLength) errors.push(`${at}: Too long: may not be more than ${limits.maxLength} bytes`)
    else if (!limits.re.test(item)) errors.push(`${at}: Invalid value: ${show(item)}: ${limits.message}`)
  })
}

const checkRange = (errors: Array<string>, field: string, value: unknown, min: number, max: number, message: string) => {
  if (value === undefined) return
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return void errors.push(`${field}: Invalid value: ${show(typeof value)}: ${field} in body must be of type integer: ${show(typeof value)}`)
  }
  if (value < min || value > max) errors.push(`${field}: Invalid value: ${value}: ${message}`)
}

/** The API server's 422 for a list of field errors: one inline, several in brackets. */
const refuse = (operation: string, name: string, errors: ReadonlyArray<string>) => {
  const detail = errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`
  return invalid(operation, `${IMAGE_CACHE_API.kind}.${IMAGE_CACHE_API.group} "${name}" is invalid: ${detail}`)
}

/** Schema validation of the whole object (spec always, status when present). */
const validate = (operation: string, o: Wire) => {
  const errors: Array<string> = []
  const spec = o["spec"]
  if (spec === undefined) errors.push("spec: Required value")
  else {
    const s = obj(spec)
    if (s["images"] === undefined) errors.push("spec.images: Required value")
    else checkList(errors, "spec.images", s["images"], { minItems: 1, maxItems: 20, maxLength: 512, re: imageRe, message: IMAGE_CACHE_MESSAGES.image })
    if (s["imagePullSecrets"] !== undefined) {
      checkList(errors, "spec.imagePullSecrets", s["imagePullSecrets"], { minItems: 0, maxItems: 20, maxLength: 317, re: pullSecretRe, message: IMAGE_CACHE_MESSAGES.pullSecret })
    }
    checkRange(errors, "spec.imageCacheSize", s["imageCacheSize"], 20, 32768, IMAGE_CACHE_MESSAGES.size)
    checkRange(errors, "spec.retentionDays", s["retentionDays"], 1, 65536, IMAGE_CACHE_MESSAGES.retention)
  }
  const phase = obj(o["status"])["phase"]
  if (phase !== undefined && !(PHASES as ReadonlyArray<unknown>).includes(phase)) {
    errors.push(`status.phase: Unsupported value: ${show(phase)}: supported values: ${PHASES.map((p) => `"${p}"`).join(", ")}`)
  }
  if (errors.length > 0) throw refuse(operation, String(meta(o)["name"]), errors)
}

/** Create: status is dropped (status subresource), `imageCacheSize` defaulted, generation 1. */
export const imageCacheCreate = (o: Wire): Wire => {
  const { status: _status, ...rest } = o
  const spec = obj(rest["spec"])
  const next: Wire = {
    ...rest,
    ...(rest["spec"] === undefined ? {} : { spec: { ...spec, imageCacheSize: spec["imageCacheSize"] ?? 20 } }),
    metadata: { ...meta(o), generation: 1 }
  }
  validate("createImageCache", next)
  return next
}

const finalizersOf = (o: Wire): ReadonlyArray<unknown> => {
  const f = meta(o)["finalizers"]
  return Array.isArray(f) ? f : []
}

/**
 * An update. The status subresource takes only `status` from `next`; the main resource keeps the
 * current `status`, may not change the spec (CEL `self == oldSelf`) and may not add finalizers to an
 * object being deleted. `next` has the system metadata of `current` already.
 */
export const imageCacheUpdate = (current: Wire, next: Wire, part: "object" | "status"): Wire => {
  const name = String(meta(current)["name"])
  if (part === "status") {
    const updated: Wire = { ...current }
    if (next["status"] === undefined) delete updated["status"]
    else updated["status"] = next["status"]
    validate("patchImageCacheStatus", updated)
    return updated
  }
  const updated: Wire = { ...next }
  if (current["status"] === undefined) delete updated["status"]
  else updated["status"] = current["status"]
  const spec = obj(updated["spec"])
  if (updated["spec"] !== undefined && spec["imageCacheSize"] === undefined) updated["spec"] = { ...spec, imageCacheSize: 20 }
  if (!jsonEqual(updated["spec"], current["spec"])) throw refuse("patchImageCache", name, [`spec: Invalid value: "object": ${IMAGE_CACHE_MESSAGES.immutable}`])
  const before = finalizersOf(current)
  const added = finalizersOf(updated).filter((f) => !before.includes(f))
  if (meta(current)["deletionTimestamp"] !== undefined && added.length > 0) {
    throw refuse("patchImageCache", name, [
      `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`
    ])
  }
  validate("patchImageCache", updated)
  return updated
}

export type CustomDeleteDecision =
  | { readonly _tag: "Remove" }
  | { readonly _tag: "Unchanged" }
  | { readonly _tag: "MarkDeleting"; readonly object: Wire }

/**
 * DELETE of a custom resource: no grace period; without finalizers it goes at once, with them it
 * gets deletionTimestamp = now, deletionGracePeriodSeconds 0 and a new generation, and stays until
 * the last finalizer is removed (store's `readyToRemove`). A second DELETE changes nothing.
 */
export const decideCustomDelete = (current: Wire, nowMillis: number): CustomDeleteDecision => {
  const m = meta(current)
  if (finalizersOf(current).length === 0) return { _tag: "Remove" }
  if (m["deletionTimestamp"] !== undefined) return { _tag: "Unchanged" }
  const generation = typeof m["generation"] === "number" ? m["generation"] + 1 : 1
  return {
    _tag: "MarkDeleting",
    object: { ...current, metadata: { ...m, deletionTimestamp: formatTime(nowMillis), deletionGracePeriodSeconds: 0, generation } }
  }
}
