import { Cause, Effect, Queue, Stream } from "effect"
import type { Wire } from "../codec.ts"
import { alreadyExists, notFound } from "../errors.ts"
import { KubeApiError, KubeConflict, type KubeError, KubeNotFound } from "../Kube.ts"
import { WatchExpired, type WatchItem } from "../watch.ts"
import { canonicalQuantity } from "./quantity.ts"

/** The resources the fake API server stores, by their plural (what error messages name). */
export type Resource =
  | "pods"
  | "nodes"
  | "leases"
  | "events"
  | "namespaces"
  | "secrets"
  | "configmaps"
  | "serviceaccounts"
  | "services"
  | "mutatingwebhookconfigurations"
  | "imagecaches"

/** apiVersion/kind stamped on stored objects, and whether the resource lives in a namespace. */
export const resourceInfo: Record<Resource, { readonly apiVersion: string; readonly kind: string; readonly namespaced: boolean }> = {
  pods: { apiVersion: "v1", kind: "Pod", namespaced: true },
  nodes: { apiVersion: "v1", kind: "Node", namespaced: false },
  leases: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespaced: true },
  events: { apiVersion: "v1", kind: "Event", namespaced: true },
  namespaces: { apiVersion: "v1", kind: "Namespace", namespaced: false },
  secrets: { apiVersion: "v1", kind: "Secret", namespaced: true },
  configmaps: { apiVersion: "v1", kind: "ConfigMap", namespaced: true },
  serviceaccounts: { apiVersion: "v1", kind: "ServiceAccount", namespaced: true },
  services: { apiVersion: "v1", kind: "Service", namespaced: true },
  mutatingwebhookconfigurations: { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", namespaced: false },
  imagecaches: { apiVersion: "eci.alibabacloud.com/v1", kind: "ImageCache", namespaced: false }
}

/** One committed change; `object` is what a watch delivers (for a deletion: the last state at the deletion's RV). */
interface Change {
  readonly rv: number
  readonly resource: Resource
  readonly before: Wire | undefined
  readonly after: Wire | undefined
  readonly object: Wire
}

interface Watcher {
  readonly resource: Resource
  readonly matches: (object: Wire) => boolean
  readonly queue: Queue.Queue<WatchItem<Wire>, WatchExpired | Cause.Done>
  /** The resourceVersion its replay reached: later changes come live. */
  since: number
}

export const isKubeError = (e: unknown): e is KubeError =>
  e instanceof KubeNotFound || e instanceof KubeConflict || e instanceof KubeApiError

/** Runs a synchronous transaction that signals failure by throwing a KubeError; other throws are defects. */
export const tx = <A>(f: () => A): Effect.Effect<A, KubeError> =>
  Effect.try({
    try: f,
    catch: (e) => {
      if (isKubeError(e)) return e
      throw e
    }
  })

export const invalid = (operation: string, message: string) =>
  new KubeApiError({ operation, status: 422, reason: "Invalid", message })

export const meta = (o: Wire): Record<string, unknown> => (o["metadata"] ?? {}) as Record<string, unknown>
export const keyOf = (namespace: string | undefined, name: string) => namespace === undefined ? name : `${namespace}/${name}`

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Structural JSON equality, ignoring key order (the API server compares serialized objects). */
export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  if (isPlain(a) && isPlain(b)) {
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]))
  }
  return false
}

/** metav1.Time has second precision: the API server drops fractions on these fields. */
const timeFields = new Set([
  "creationTimestamp",
  "deletionTimestamp",
  "lastTransitionTime",
  "lastProbeTime",
  "lastHeartbeatTime",
  "lastUpdateTime",
  "startTime",
  "startedAt",
  "finishedAt",
  "firstTimestamp",
  "lastTimestamp"
])
/** Maps whose keys are the user's, not schema fields. */
const opaqueMaps = new Set(["labels", "annotations", "data", "binaryData", "stringData", "nodeSelector"])
/** Maps of resource name → resource.Quantity; the server stores quantities in canonical form. */
const quantityMaps = new Set(["capacity", "allocatable", "requests", "limits", "overhead", "allocatedResources"])

const canonicalQuantities = (map: unknown, operation: string): unknown => {
  if (!isPlain(map)) return map
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(map)) {
    const canonical = typeof v === "string" || typeof v === "number" ? canonicalQuantity(String(v)) : undefined
    if (canonical === undefined) {
      throw new KubeApiError({
        operation,
        status: 400,
        reason: "BadRequest",
        message: `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (${k}: ${JSON.stringify(v)})`
      })
    }
    out[k] = canonical
  }
  return out
}
const fractionalTime = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+(Z|[+-]\d\d:\d\d)$/
/** metav1.MicroTime must carry exactly six fractional digits (RFC3339Micro) or the server rejects it. */
const microTimeFields = new Set(["renewTime", "acquireTime", "eventTime"])
const microTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/

/**
 * What the API server does to values on the way in: truncates Times to seconds, insists on
 * MicroTime's six digits, stores quantities canonically.
 */
export const normalizeWire = (value: unknown, operation: string): unknown => {
  if (Array.isArray(value)) return value.map((v) => normalizeWire(v, operation))
  if (!isPlain(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string" && timeFields.has(k)) out[k] = v.replace(fractionalTime, "$1$2")
    else if (typeof v === "string" && microTimeFields.has(k)) {
      if (!microTime.test(v)) {
        throw new KubeApiError({
          operation,
          status: 400,
          reason: "BadRequest",
          message: `parsing time "${v}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse (${k} is a MicroTime)`
        })
      }
      out[k] = v
    } else if (quantityMaps.has(k)) out[k] = canonicalQuantities(v, operation)
    else out[k] = opaqueMaps.has(k) ? v : normalizeWire(v, operation)
  }
  return out
}

export const formatTime = (millis: number) => new Date(Math.floor(millis / 1000) * 1000).toISOString().replace(".000Z", "Z")

export interface StoreOptions {
  /** Changes kept for watch resumption; a watch resuming from before them gets 410 Gone. */
  readonly historySize: number
}

/**
 * The fake API server's storage: objects by resource and key, one global resourceVersion counter,
 * a bounded change history, and the open watches. Every method is synchronous and is called inside
 * one `tx`, so a change, its history entry and its watch events are atomic.
 */
export const makeStore = (options: StoreOptions) => {
  let rv = 0
  let uids = 0
  let compactedThrough = 0 // history holds every change with rv > compactedThrough
  const objects = new Map<Resource, Map<string, Wire>>()
  const history: Array<Change> = []
  const watchers = new Set<Watcher>()

  const table = (resource: Resource) => {
    let t = objects.get(resource)
    if (t === undefined) objects.set(resource, t = new Map())
    return t
  }

  const itemFor = (w: Watcher, c: Change): WatchItem<Wire> | undefined => {
    if (w.resource !== c.resource) return undefined
    // A field selector turns "stopped matching" into DELETED and "started matching" into ADDED.
    const was = c.before !== undefined && w.matches(c.before)
    const is = c.after !== undefined && w.matches(c.after)
    const resourceVersion = String(c.rv)
    if (is) return { type: was ? "Modified" : "Added", object: c.object, resourceVersion }
    if (was) return { type: "Deleted", object: c.object, resourceVersion }
    return undefined
  }

  // Offering to a queue can resume its consumer synchronously, and that consumer may write (and so
  // fan out) or open a watch before we return. Fan-outs therefore run one at a time, in commit order,
  // over a copy of the watcher set: every watcher sees changes in resourceVersion order, exactly once.
  const pending: Array<() => void> = []
  let delivering = false
  const deliver = (fanOut: () => void) => {
    pending.push(fanOut)
    if (delivering) return
    delivering = true
    try {
      while (pending.length > 0) pending.shift()!()
    } finally {
      delivering = false
    }
  }

  const commit = (resource: Resource, key: string, before: Wire | undefined, after: Wire | undefined): Wire => {
    rv += 1
    const object = structuredClone(after ?? before) as Wire
    object["metadata"] = { ...meta(object), resourceVersion: String(rv) }
    if (after === undefined) table(resource).delete(key)
    else table(resource).set(key, object)
    const change: Change = { rv, resource, before, after: after === undefined ? undefined : object, object }
    history.push(change)
    while (history.length > options.historySize) compactedThrough = history.shift()!.rv
    deliver(() => {
      for (const w of [...watchers]) {
        if (w.since >= change.rv) continue // its replay already had it
        const item = itemFor(w, change)
        if (item !== undefined) Queue.offerUnsafe(w.queue, item)
      }
    })
    return object
  }

  return {
    resourceVersion: () => rv,
    nextUid: () => {
      uids += 1
      const hex = uids.toString(16).padStart(12, "0")
      return `00000000-0000-4000-8000-${hex}`
    },
    get: (resource: Resource, key: string): Wire | undefined => table(resource).get(key),
    getOrFail: (resource: Resource, key: string, name: string): Wire => {
      const o = table(resource).get(key)
      if (o === undefined) throw notFound(resource, name)
      return o
    },
    /** In key order (namespace/name), as etcd returns a range. */
    list: (resource: Resource, matches: (o: Wire) => boolean = () => true): Array<Wire> =>
      [...table(resource).entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, o]) => o)
        .filter(matches),
    /** Stores a new object: stamps apiVersion/kind and the resourceVersion, emits ADDED. */
    create: (resource: Resource, key: string, object: Wire): Wire => {
      if (table(resource).has(key)) throw alreadyExists(resource, String(meta(object)["name"]))
      const { apiVersion, kind } = resourceInfo[resource]
      return commit(resource, key, undefined, { ...object, apiVersion, kind })
    },
    /** Replaces an object; a change that changes nothing is not a write (no new RV, no event). */
    update: (resource: Resource, key: string, object: Wire): Wire => {
      const before = table(resource).get(key)
      if (before === undefined) throw notFound(resource, String(meta(object)["name"]))
      if (jsonEqual(before, object)) return before
      return commit(resource, key, before, object)
    },
    remove: (resource: Resource, key: string): Wire => {
      const before = table(resource).get(key)
      if (before === undefined) throw notFound(resource, key.slice(key.indexOf("/") + 1))
      return commit(resource, key, before, undefined)
    },
    /** Changes after `from` matching `matches`, then live ones; 410 (WatchExpired) if `from` was compacted. */
    watch: (resource: Resource, matches: (o: Wire) => boolean, from: string): Stream.Stream<WatchItem<Wire>, WatchExpired> =>
      Stream.callback<WatchItem<Wire>, WatchExpired>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const start = Number(from)
            const watcher: Watcher = { resource, matches, queue, since: rv }
            if (!Number.isInteger(start) || start < compactedThrough) {
              Queue.failCauseUnsafe(queue, Cause.fail(new WatchExpired({ message: `too old resource version: ${from} (${compactedThrough})` })))
              return watcher
            }
            // Replay and registration in one synchronous step: no change can fall between them.
            for (const c of history) {
              if (c.rv <= start) continue
              const item = itemFor(watcher, c)
              if (item !== undefined) Queue.offerUnsafe(queue, item)
            }
            watchers.add(watcher)
            return watcher
          }),
          (watcher) => Effect.sync(() => watchers.delete(watcher))
        )
      ),
    /** Ends every open watch, as a dropped connection would; watchers resume from their last RV. */
    dropWatches: () =>
      deliver(() => {
        const open = [...watchers]
        watchers.clear()
        for (const w of open) Queue.endUnsafe(w.queue)
      }),
    /** Sends every open watch a BOOKMARK at the current resourceVersion. */
    bookmark: () => {
      const at = String(rv)
      deliver(() => {
        for (const w of [...watchers]) Queue.offerUnsafe(w.queue, { type: "Bookmark", resourceVersion: at })
      })
    },
    /** Forgets the whole history, as etcd compaction does: resuming from any earlier RV gets 410. */
    compact: () => {
      history.length = 0
      compactedThrough = rv
    }
  }
}

export type Store = ReturnType<typeof makeStore>
