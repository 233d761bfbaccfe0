import type { Wire } from "../codec.ts"
import { staleConflict, uidConflict } from "../errors.ts"
import { formatTime, invalid, jsonEqual, meta } from "./store.ts"

/**
 * Pod rules of a real API server that a kubelet runs into, for the in-memory layer:
 * creation defaults, which spec fields may change, and graceful deletion.
 */

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? v as Obj : {})

/** Defaults the API server fills in on create, as far as the rules below need them; status starts Pending. */
export const podCreateDefaults = (pod: Wire): Wire => {
  const spec = obj(pod["spec"])
  return {
    ...pod,
    spec: {
      ...spec,
      restartPolicy: spec["restartPolicy"] ?? "Always",
      terminationGracePeriodSeconds: spec["terminationGracePeriodSeconds"] ?? 30,
      dnsPolicy: spec["dnsPolicy"] ?? "ClusterFirst",
      schedulerName: spec["schedulerName"] ?? "default-scheduler",
      // The ServiceAccount admission plugin's default.
      serviceAccountName: spec["serviceAccountName"] ?? "default"
    },
    status: { phase: "Pending" }
  }
}

/** Metadata only the server sets; a write never changes them. */
const systemMetadata = ["uid", "name", "namespace", "creationTimestamp", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"]

/** `next` with the system metadata of `current` restored. */
export const keepSystemMetadata = (current: Wire, next: Wire): Wire => {
  const m: Obj = { ...meta(next) }
  const c = meta(current)
  for (const k of systemMetadata) {
    if (c[k] === undefined) delete m[k]
    else m[k] = c[k]
  }
  return { ...next, metadata: m }
}

/** A patch's own metadata.resourceVersion is an optimistic-concurrency precondition. */
export const checkPatchPrecondition = (resource: string, name: string, current: Wire, patch: unknown) => {
  const wanted = obj(obj(patch)["metadata"])["resourceVersion"]
  if (typeof wanted === "string" && wanted !== meta(current)["resourceVersion"]) throw staleConflict(resource, name)
}

const withoutMutable = (spec: Obj): Obj => {
  const images = (list: unknown) => Array.isArray(list) ? list.map((c) => ({ ...obj(c), image: undefined })) : list
  const { activeDeadlineSeconds: _a, tolerations: _t, schedulingGates: _s, ...rest } = spec
  return { ...rest, containers: images(spec["containers"]), initContainers: images(spec["initContainers"]) }
}

/** Pod spec is immutable except images, activeDeadlineSeconds, tolerations and scheduling gates. */
export const checkPodSpecUpdate = (name: string, current: Wire, next: Wire) => {
  if (!jsonEqual(JSON.parse(JSON.stringify(withoutMutable(obj(current["spec"])))), JSON.parse(JSON.stringify(withoutMutable(obj(next["spec"])))))) {
    throw invalid(
      "patchPod",
      `Pod "${name}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`,\`spec.initContainers[*].image\`,\`spec.activeDeadlineSeconds\`,\`spec.tolerations\` (only additions to existing tolerations),\`spec.terminationGracePeriodSeconds\` (allow it to be set to 1 if it was previously negative)`
    )
  }
}

export type DeleteDecision =
  | { readonly _tag: "Remove" }
  | { readonly _tag: "Unchanged" }
  | { readonly _tag: "MarkDeleting"; readonly pod: Wire }

/**
 * What a DELETE does to a pod (registry/core/pod strategy CheckGracefulDelete + BeforeDelete):
 * a UID precondition must match; an unscheduled or finished pod goes at once; otherwise the pod gets
 * deletionTimestamp = now + grace and waits for its kubelet, and a later DELETE may only shorten the
 * grace. Grace 0 removes it unless finalizers hold it.
 */
export const decidePodDelete = (
  current: Wire,
  options: { readonly uid?: string; readonly gracePeriodSeconds?: number },
  nowMillis: number
): DeleteDecision => {
  const m = meta(current)
  const name = String(m["name"])
  if (options.uid !== undefined && options.uid !== m["uid"]) {
    throw uidConflict("Pod", name, options.uid, String(m["uid"]))
  }
  const spec = obj(current["spec"])
  const phase = obj(current["status"])["phase"]
  let grace = options.gracePeriodSeconds ?? Number(spec["terminationGracePeriodSeconds"] ?? 30)
  if (grace < 0) grace = 1
  if (!spec["nodeName"] || phase === "Succeeded" || phase === "Failed") grace = 0
  const finalizers = Array.isArray(m["finalizers"]) ? m["finalizers"] : []
  const existing = m["deletionGracePeriodSeconds"]
  if (typeof existing === "number" && existing <= grace) return { _tag: "Unchanged" }
  if (grace === 0 && finalizers.length === 0) return { _tag: "Remove" }
  return {
    _tag: "MarkDeleting",
    pod: {
      ...current,
      metadata: { ...m, deletionTimestamp: formatTime(nowMillis + grace * 1000), deletionGracePeriodSeconds: grace }
    }
  }
}

/** An object marked for deletion with grace 0 goes once its last finalizer is removed. */
export const readyToRemove = (o: Wire): boolean => {
  const m = meta(o)
  const finalizers = Array.isArray(m["finalizers"]) ? m["finalizers"] : []
  return m["deletionTimestamp"] !== undefined && m["deletionGracePeriodSeconds"] === 0 && finalizers.length === 0
}
