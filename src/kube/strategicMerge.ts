/**
 * Strategic merge patch and JSON merge patch (RFC 7386) over wire JSON, for the in-memory Kube layer.
 * A real API server takes each list's strategy from the Go struct tags of core/v1; here it comes from
 * a small table per object type that covers the fields a kubelet touches. A list not in the table is
 * atomic (the patch replaces it), which is also what Kubernetes does for lists without a strategy —
 * `status.containerStatuses` is one of them, `status.conditions` is not.
 *
 * Directives understood: `$patch: replace|delete` (maps and list items), `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>`; `$setElementOrder/<field>` is accepted and ignored (we append
 * new list items at the end, which is what the server does without that directive).
 */

/** How one list merges, keyed by its path from the object root (`status.conditions`, `spec.containers.env`). */
export type ListStrategy = { readonly mergeKey: string } | "mergePrimitives"
export type PatchStrategies = Readonly<Record<string, ListStrategy>>

type Json = unknown
type JsonObject = Record<string, Json>

const isObject = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)

const metadataStrategies: PatchStrategies = {
  "metadata.ownerReferences": { mergeKey: "uid" },
  "metadata.finalizers": "mergePrimitives"
}

/** core/v1 Pod (types.go patchStrategy/patchMergeKey tags). */
export const podStrategies: PatchStrategies = {
  ...metadataStrategies,
  "spec.containers": { mergeKey: "name" },
  "spec.containers.env": { mergeKey: "name" },
  "spec.containers.ports": { mergeKey: "containerPort" },
  "spec.containers.volumeMounts": { mergeKey: "mountPath" },
  "spec.initContainers": { mergeKey: "name" },
  "spec.initContainers.env": { mergeKey: "name" },
  "spec.ephemeralContainers": { mergeKey: "name" },
  "spec.volumes": { mergeKey: "name" },
  "spec.imagePullSecrets": { mergeKey: "name" },
  "status.conditions": { mergeKey: "type" },
  "status.podIPs": { mergeKey: "ip" },
  "status.hostIPs": { mergeKey: "ip" },
  "status.resourceClaimStatuses": { mergeKey: "name" }
}

/** core/v1 Node. `spec.taints` and `status.images` have no strategy: atomic. */
export const nodeStrategies: PatchStrategies = {
  ...metadataStrategies,
  "spec.podCIDRs": "mergePrimitives",
  "status.conditions": { mergeKey: "type" },
  "status.addresses": { mergeKey: "type" }
}

/** admissionregistration/v1 MutatingWebhookConfiguration. */
export const mutatingWebhookStrategies: PatchStrategies = {
  ...metadataStrategies,
  "webhooks": { mergeKey: "name" }
}

/** Everything else we store (leases, secrets, ...): only metadata lists merge. */
export const defaultStrategies: PatchStrategies = metadataStrategies

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)

const mergeList = (original: Json, patch: ReadonlyArray<Json>, path: string, strategies: PatchStrategies): Json => {
  const strategy = strategies[path]
  const base = Array.isArray(original) ? original : []
  if (strategy === undefined) return patch.map((item) => isObject(item) ? mergeObject(undefined, item, path, strategies) : item)
  if (strategy === "mergePrimitives") return [...base, ...patch.filter((item) => !base.includes(item))]

  const key = strategy.mergeKey
  if (patch.some((item) => isObject(item) && item["$patch"] === "replace")) {
    return patch
      .filter((item) => !(isObject(item) && item["$patch"] === "replace"))
      .map((item) => isObject(item) ? mergeObject(undefined, item, path, strategies) : item)
  }
  const result = [...base]
  for (const item of patch) {
    if (!isObject(item)) continue
    const index = result.findIndex((existing) => isObject(existing) && existing[key] === item[key])
    if (item["$patch"] === "delete") {
      if (index >= 0) result.splice(index, 1)
      continue
    }
    const merged = mergeObject(index >= 0 ? result[index] : undefined, item, path, strategies)
    if (merged === undefined) continue
    if (index >= 0) result[index] = merged
    else result.push(merged)
  }
  return result
}

const mergeObject = (
  original: Json,
  patch: JsonObject,
  path: string,
  strategies: PatchStrategies
): JsonObject | undefined => {
  if (patch["$patch"] === "delete") return undefined
  const replace = patch["$patch"] === "replace"
  const result: JsonObject = !replace && isObject(original) ? { ...original } : {}
  const retain = patch["$retainKeys"]
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k)) delete result[k]
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/")) continue
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length)
      const current = result[field]
      if (Array.isArray(current) && Array.isArray(v)) result[field] = current.filter((x) => !v.includes(x))
      continue
    }
    if (v === null) delete result[k]
    else if (isObject(v)) {
      const merged = mergeObject(result[k], v, join(path, k), strategies)
      if (merged === undefined) delete result[k]
      else result[k] = merged
    } else if (Array.isArray(v)) result[k] = mergeList(result[k], v, join(path, k), strategies)
    else result[k] = v
  }
  return result
}

/** Applies a strategic merge patch to wire JSON; neither argument is modified. */
export const strategicMerge = (original: JsonObject, patch: Json, strategies: PatchStrategies): JsonObject =>
  isObject(patch) ? mergeObject(original, patch, "", strategies) ?? {} : original

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else (arrays too) replaces. */
export const jsonMergePatch = (original: Json, patch: Json): Json => {
  if (!isObject(patch)) return patch
  const result: JsonObject = isObject(original) ? { ...original } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k]
    else result[k] = jsonMergePatch(result[k], v)
  }
  return result
}
