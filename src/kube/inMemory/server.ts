import { Duration, Effect, Random, type Schedule, Stream } from "effect"
import { fromWire, patchToWire, toWire, type Wire } from "../codec.ts"
import { notFound, staleConflict } from "../errors.ts"
import type { KubeError, PatchType } from "../Kube.ts"
import {
  defaultStrategies,
  jsonMergePatch,
  mutatingWebhookStrategies,
  nodeStrategies,
  type PatchStrategies,
  podStrategies,
  strategicMerge
} from "../strategicMerge.ts"
import { type ListWatchSource, listWatch } from "../watch.ts"
import { decodeImageCache } from "../imageCache.ts"
import { podAsServed } from "../podStatusWire.ts"
import { defaultAllocatable } from "./admission.ts"
import { makeAuth } from "./auth.ts"
import { decideCustomDelete, imageCacheUpdate } from "./imageCaches.ts"
import { checkPatchPrecondition, checkPodSpecUpdate, decidePodDelete, keepSystemMetadata, readyToRemove } from "./pods.ts"
import { formatTime, invalid, keyOf, makeStore, meta, normalizeWire, type Resource, resourceInfo, tx } from "./store.ts"

/** Faults the in-memory API server injects; randomness from `Random`, time from `Clock`, so a seeded run replays. */
export interface KubeFaults {
  /** Probability (0–1) that a watch connection drops right after delivering an event; watchers resume. */
  readonly watchDropRate: number
  /** Probability (0–1) that a write (create, patch, update, delete) fails with 409 Conflict, unapplied. */
  readonly conflictRate: number
  /** Extra latency per call, uniform in [min, max]; none when absent. */
  readonly latency?: { readonly min: Duration.Input; readonly max: Duration.Input }
}

export interface ServerOptions {
  readonly historySize: number
  readonly apiAudiences: ReadonlyArray<string>
  readonly watchRetry: Schedule.Schedule<unknown, KubeError>
  readonly faults: KubeFaults
}

/** The model type client-node uses for each resource (reads decode through it, like the live layer's). */
const modelOf: Record<Resource, string> = {
  pods: "V1Pod",
  nodes: "V1Node",
  leases: "V1Lease",
  events: "CoreV1Event",
  namespaces: "V1Namespace",
  secrets: "V1Secret",
  configmaps: "V1ConfigMap",
  serviceaccounts: "V1ServiceAccount",
  services: "V1Service",
  mutatingwebhookconfigurations: "V1MutatingWebhookConfiguration",
  // No client-node model: the JSON stays as it is, metadata decoded by decodeImageCache.
  imagecaches: "ImageCache"
}
const strategiesOf: Partial<Record<Resource, PatchStrategies>> = {
  pods: podStrategies,
  nodes: nodeStrategies,
  mutatingwebhookconfigurations: mutatingWebhookStrategies
}

const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789" // apiserver's generateName alphabet

/**
 * The in-memory API server's request handling, generic over resources: create (names, uid,
 * timestamps, admission), get, patch (strategic or merge, main resource or status), put and remove
 * for fixtures, pod deletion, and list+watch sources — each with injected latency and, for writes,
 * injected conflicts. The Kube service and its admin handle (kubeInMemory.ts) are built on it.
 */
export const makeServer = (options: ServerOptions) => {
  const store = makeStore({ historySize: options.historySize })
  const auth = makeAuth(options.apiAudiences)
  let faults: KubeFaults = options.faults
  const now = Effect.clockWith((clock) => Effect.sync(() => clock.currentTimeMillisUnsafe()))
  const decode = <A>(resource: Resource, o: Wire): A =>
    resource === "imagecaches" ? decodeImageCache(o) as A : fromWire<A>(modelOf[resource], structuredClone(o))
  /**
   * A pod is kept as the real server keeps it, as Go structs: its status reads back in their JSON
   * encoding (null times, `{}` states, …), and a write that differs only in that encoding is no change.
   */
  const asStored = (resource: Resource, o: Wire): Wire => resource === "pods" ? podAsServed(o) : o

  const latency = Effect.suspend(() => {
    const l = faults.latency
    if (l === undefined) return Effect.void
    const min = Duration.toMillis(Duration.fromInputUnsafe(l.min))
    const max = Duration.toMillis(Duration.fromInputUnsafe(l.max))
    return Random.nextBetween(min, max).pipe(Effect.flatMap((ms) => Effect.sleep(Duration.millis(ms))))
  })
  /** Every call: injected latency first. */
  const read = <A>(effect: Effect.Effect<A, KubeError>) => Effect.andThen(latency, effect)
  /** Every write: latency, then maybe an injected 409 (the write is not applied). */
  const write = <A>(resource: Resource, name: string, effect: Effect.Effect<A, KubeError>) =>
    read(Effect.gen(function*() {
      if (faults.conflictRate > 0 && (yield* Random.next) < faults.conflictRate) {
        return yield* Effect.fail(staleConflict(resource, name))
      }
      return yield* effect
    }))

  const suffix = Effect.forEach([0, 1, 2, 3, 4], () => Random.nextIntBetween(0, nameAlphabet.length - 1))
    .pipe(Effect.map((ix) => ix.map((i) => nameAlphabet[i]).join("")))

  const requireNamespace = (namespace: string) => {
    if (store.get("namespaces", namespace) === undefined) throw notFound("namespaces", namespace)
  }

  /** Server-side create: name (or generateName), namespace, uid, creationTimestamp; then store. */
  const create = <A>(
    resource: Resource,
    value: unknown,
    operation: string,
    prepare: (o: Wire) => Wire = (o) => o,
    via: "api" | "admin" = "api"
  ) =>
    Effect.gen(function*() {
      const wire = toWire(modelOf[resource], value)
      const m = meta(wire)
      const generated = typeof m["generateName"] === "string" && m["name"] === undefined
        ? `${m["generateName"]}${yield* suffix}`
        : undefined
      const name = generated ?? m["name"]
      const millis = yield* now
      const apply = tx(() => {
        if (typeof name !== "string" || name === "") throw invalid(operation, "metadata.name: Required value: name or generateName is required")
        const namespace = resourceInfo[resource].namespaced ? String(m["namespace"] ?? "default") : undefined
        if (namespace !== undefined) requireNamespace(namespace)
        const {
          resourceVersion: _rv,
          deletionTimestamp: _dt,
          deletionGracePeriodSeconds: _dg,
          ...rest
        } = m
        const object = asStored(resource, prepare(normalizeWire({
          ...wire,
          metadata: {
            ...rest,
            name,
            ...(namespace === undefined ? {} : { namespace }),
            uid: store.nextUid(),
            creationTimestamp: formatTime(millis)
          }
        }, operation) as Wire))
        return decode<A>(resource, store.create(resource, keyOf(namespace, name), object))
      })
      return yield* (via === "api" ? write(resource, String(name ?? ""), apply) : apply)
    })

  const get = <A>(resource: Resource, namespace: string | undefined, name: string) =>
    read(tx(() => decode<A>(resource, store.getOrFail(resource, keyOf(namespace, name), name))))

  /** PATCH of the main resource (`part: "object"`, status kept) or of the status subresource. */
  const patch = <A>(
    resource: Resource,
    namespace: string | undefined,
    name: string,
    body: unknown,
    type: PatchType,
    part: "object" | "status",
    operation: string
  ) =>
    write(
      resource,
      name,
      tx(() => {
        const key = keyOf(namespace, name)
        const current = store.getOrFail(resource, key, name)
        const p = patchToWire(body)
        checkPatchPrecondition(resource, name, current, p)
        const merged = type === "merge"
          ? jsonMergePatch(current, p) as Wire
          : strategicMerge(current, p, strategiesOf[resource] ?? defaultStrategies)
        if (resource === "imagecaches") {
          // A custom resource: the JSON is stored as sent (no time truncation outside metadata).
          const withSystem = keepSystemMetadata(current, merged)
          const next = imageCacheUpdate(current, { ...withSystem, metadata: normalizeWire(withSystem["metadata"], operation) }, part)
          const stored = store.update(resource, key, next)
          return decode<A>(resource, readyToRemove(stored) ? store.remove(resource, key) : stored)
        }
        // The status subresource keeps the spec and the main resource keeps the status. Neither
        // resets labels or annotations: pods/status and nodes/status predate ResetObjectMetaForStatus.
        const kept = part === "status" ? "spec" : "status"
        const patched = normalizeWire({ ...keepSystemMetadata(current, merged), [kept]: current[kept] }, operation) as Wire
        if (patched[kept] === undefined) delete patched[kept]
        const next = resource === "nodes" ? defaultAllocatable(patched) : asStored(resource, patched)
        if (resource === "pods" && part === "object") checkPodSpecUpdate(name, current, next)
        const stored = store.update(resource, key, next)
        return decode<A>(resource, readyToRemove(stored) ? store.remove(resource, key) : stored)
      })
    )

  /** Create-or-replace for admin fixtures (no faults: the test's own setup must not flake). */
  const put = <A>(resource: Resource, value: unknown, prepare: (o: Wire) => Wire = (o) => o) =>
    Effect.gen(function*() {
      const wire = toWire(modelOf[resource], value)
      const m = meta(wire)
      const name = String(m["name"])
      const namespace = resourceInfo[resource].namespaced ? String(m["namespace"] ?? "default") : undefined
      const existing = store.get(resource, keyOf(namespace, name))
      if (existing === undefined) return yield* create<A>(resource, value, `put ${resource}`, prepare, "admin")
      return yield* tx(() =>
        decode<A>(resource, store.update(resource, keyOf(namespace, name), keepSystemMetadata(existing, prepare(wire))))
      )
    })

  const remove = (resource: Resource, namespace: string | undefined, name: string) =>
    tx(() => {
      store.remove(resource, keyOf(namespace, name))
    })

  const deletePod = (namespace: string, name: string, opts: { readonly uid?: string; readonly gracePeriodSeconds?: number }) =>
    Effect.gen(function*() {
      const millis = yield* now
      return yield* write(
        "pods",
        name,
        tx(() => {
          const key = keyOf(namespace, name)
          const decision = decidePodDelete(store.getOrFail("pods", key, name), opts, millis)
          if (decision._tag === "Remove") store.remove("pods", key)
          else if (decision._tag === "MarkDeleting") store.update("pods", key, decision.pod)
        })
      )
    })

  /** DELETE of a custom resource (finalizers hold it; no grace period). */
  const deleteCustom = (resource: Resource, name: string) =>
    Effect.gen(function*() {
      const millis = yield* now
      return yield* write(
        resource,
        name,
        tx(() => {
          const decision = decideCustomDelete(store.getOrFail(resource, name, name), millis)
          if (decision._tag === "Remove") store.remove(resource, name)
          else if (decision._tag === "MarkDeleting") store.update(resource, name, decision.object)
        })
      )
    })

  /** The list+watch pair the shared reflector (`listWatch`) resumes over, with drop injection. */
  const source = <A>(resource: Resource, matches: (o: Wire) => boolean): ListWatchSource<A> => ({
    list: read(tx(() => ({
      items: store.list(resource, matches).map((o) => decode<A>(resource, o)),
      resourceVersion: String(store.resourceVersion())
    }))),
    watch: (from) =>
      store.watch(resource, matches, from).pipe(
        Stream.takeUntilEffect(() =>
          faults.watchDropRate > 0 ? Effect.map(Random.next, (r) => r < faults.watchDropRate) : Effect.succeed(false)
        ),
        Stream.map((item) => item.type === "Bookmark" ? item : { ...item, object: decode<A>(resource, item.object) })
      )
  })

  const watchNamed = <A>(resource: Resource, namespace: string, name: string) =>
    listWatch(
      source<A>(resource, (o) => meta(o)["namespace"] === namespace && meta(o)["name"] === name),
      options.watchRetry
    ).pipe(Stream.map((e) => e.type === "Snapshot" ? e.items[0] : e.type === "Deleted" ? undefined : e.object))

  const serviceAccountUid = (namespace: string, name: string) => {
    const sa = store.get("serviceaccounts", keyOf(namespace, name))
    return sa === undefined ? undefined : String(meta(sa)["uid"])
  }

  return {
    store,
    auth,
    now,
    decode,
    read,
    write,
    create,
    get,
    patch,
    put,
    remove,
    deletePod,
    deleteCustom,
    source,
    watchNamed,
    serviceAccountUid,
    setFaults: (next: Partial<KubeFaults>) => {
      faults = { ...faults, ...next }
    }
  }
}
