import { Clock, Effect } from "effect"
import { randomUuid } from "../common/uuid.ts"
import type { CreateImageCacheRequest } from "../eci/api.generated.ts"
import { Eci } from "../eci/Eci.ts"
import type { EciError } from "../eci/errors.ts"
import { type ImageCache, IMAGE_CACHE_API, type ImageCacheStatus } from "../kube/imageCache.ts"
import { Kube, type KubeError } from "../kube/Kube.ts"
import type { EventType, ObjectEventRecorder } from "../pods/events.ts"
import { done, type ReconcileOutcome, requeueAfter } from "../queue/workQueue.ts"
import type { NodeContext } from "../translate/resolved.ts"
import type { CacheTracker } from "./cacheTracker.ts"
import { resolveCredentials } from "./credentials.ts"
import type { Step } from "./decide.ts"
import { cacheName, cacheTags, CLIENT_TOKEN_ANNOTATION, clusterTagValue, IMAGE_CACHE_FINALIZER, IMAGE_CACHE_TAGS } from "./identity.ts"
import { deleteCache, describeCache, listCachesByTags } from "./queries.ts"
import { eventKey, rfc3339, statusOf, statusPatch } from "./status.ts"

/**
 * Carries out one step of decide.ts against the API server and ECI. Every step is safe to repeat:
 * a crash between any two calls leaves state the next reconcile reads and continues from.
 */

/** What this process remembers about one ImageCache (by UID); losing it on a restart is safe. */
export interface Memory {
  absenceProven: boolean
  readonly goneConfirmed: Set<string>
  readonly retired: Set<string>
}

export interface ActContext {
  readonly node: NodeContext
  /** Placement for new caches, read at each create (the eci-profile may change). */
  readonly placement: Effect.Effect<{ readonly vSwitchIds: ReadonlyArray<string>; readonly securityGroupId: string | undefined; readonly resourceGroupId: string | undefined }>
  readonly tracker: CacheTracker
  readonly record: ObjectEventRecorder
  /** Remember an object the API server just returned (fresher than the watch, until the watch catches up). */
  readonly keep: (ic: ImageCache) => void
  readonly retryRefusedAfterMs: number
}

type Act = Effect.Effect<ReconcileOutcome, KubeError | EciError, Kube | Eci>

const involved = (ic: ImageCache) => ({
  apiVersion: IMAGE_CACHE_API.apiVersion,
  kind: IMAGE_CACHE_API.kind,
  name: ic.metadata?.name ?? "",
  uid: ic.metadata?.uid ?? ""
})

const nowString = Effect.map(Clock.currentTimeMillis, rfc3339)

export const makeActions = (ctx: ActContext) => {
  const event = (ic: ImageCache, type: EventType, reason: string, message: string, dedupeKey?: string) =>
    ctx.record(involved(ic), type, reason, message, dedupeKey)

  /**
   * Writes `desired` (fields it lacks are removed); `force` stamps lastUpdatedTime even if nothing
   * else changed. Status patches carry the resourceVersion they were computed from: a replica with a
   * stale read (a leader handover) gets a conflict instead of overwriting a fresher status.
   */
  const writeStatus = (ic: ImageCache, desired: ImageCacheStatus, force = false) =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const now = yield* nowString
      const patch = statusPatch(ic.status, desired, now) ?? (force ? { lastUpdatedTime: now } : undefined)
      if (patch === undefined) return
      ctx.keep(yield* kube.patchImageCacheStatus(ic.metadata?.name ?? "", { metadata: { resourceVersion: ic.metadata?.resourceVersion }, status: patch }))
    })

  const lookup = (ic: ImageCache) =>
    listCachesByTags({ [IMAGE_CACHE_TAGS.clusterId]: clusterTagValue(ctx.node.clusterId), [IMAGE_CACHE_TAGS.uid]: ic.metadata?.uid ?? "" })

  const addFinalizer = (ic: ImageCache, needsToken: boolean, m: Memory): Act =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const finalizers = ic.metadata?.finalizers ?? []
      const hadOurs = finalizers.includes(IMAGE_CACHE_FINALIZER)
      const token = needsToken ? yield* randomUuid : undefined
      // A merge patch replaces the list whole: the resourceVersion makes it fail instead of dropping
      // a finalizer someone else added meanwhile.
      ctx.keep(yield* kube.patchImageCache(ic.metadata?.name ?? "", {
        metadata: {
          resourceVersion: ic.metadata?.resourceVersion,
          ...(hadOurs ? {} : { finalizers: [...finalizers, IMAGE_CACHE_FINALIZER] }),
          ...(token === undefined ? {} : { annotations: { [CLIENT_TOKEN_ANNOTATION]: token } })
        }
      }))
      // We create only with a token and hold a finalizer before that: a resource with neither has no cache.
      if (!hadOurs && token !== undefined) m.absenceProven = true
      return requeueAfter(0)
    })

  const finalize = (ic: ImageCache, knownIds: ReadonlyArray<string>): Act =>
    Effect.gen(function*() {
      const kube = yield* Kube
      // A fresh lookup, not the tracker: a cache made just before a crash may not be listed yet.
      const found = yield* lookup(ic)
      const ids = new Set([...knownIds, ...found.flatMap((c) => (c.ImageCacheId === undefined ? [] : [c.ImageCacheId]))])
      for (const id of [...ids].sort()) {
        yield* deleteCache(id)
        yield* ctx.tracker.forget(id)
        yield* Effect.logInfo("deleted ECI image cache of a deleted ImageCache", id)
      }
      ctx.keep(yield* kube.patchImageCache(ic.metadata?.name ?? "", {
        metadata: {
          resourceVersion: ic.metadata?.resourceVersion,
          finalizers: (ic.metadata?.finalizers ?? []).filter((f) => f !== IMAGE_CACHE_FINALIZER)
        }
      }))
      return done
    })

  const doLookup = (ic: ImageCache, m: Memory): Act =>
    Effect.gen(function*() {
      const found = yield* lookup(ic)
      for (const c of found) yield* ctx.tracker.put(c)
      // Caches we retired (replaced, deletion under way) do not count: they are never adopted.
      if (found.every((c) => c.ImageCacheId === undefined || m.retired.has(c.ImageCacheId))) m.absenceProven = true
      return requeueAfter(0)
    })

  const create = (ic: ImageCache, clientToken: string, m: Memory): Act =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const eci = yield* Eci
      const name = ic.metadata?.name ?? ""
      const spec = ic.spec ?? { images: [] }
      const credentials = yield* resolveCredentials(spec.imagePullSecrets ?? [], ctx.node)
      if (credentials._tag === "Unusable") {
        yield* event(ic, "Warning", credentials.reason, credentials.message)
        yield* writeStatus(ic, { phase: "Pending", reason: credentials.reason, message: credentials.message })
        return requeueAfter("30 seconds")
      }
      const placement = yield* ctx.placement
      const request: CreateImageCacheRequest = {
        ImageCacheName: cacheName(ctx.node.clusterId, name),
        Image: spec.images,
        ImageCacheSize: spec.imageCacheSize ?? 20,
        ...(spec.retentionDays === undefined ? {} : { RetentionDays: spec.retentionDays }),
        ClientToken: clientToken,
        Tag: cacheTags(ctx.node.clusterId, ic),
        ...(placement.vSwitchIds.length === 0 ? {} : { VSwitchId: placement.vSwitchIds.join(",") }),
        ...(placement.securityGroupId === undefined ? {} : { SecurityGroupId: placement.securityGroupId }),
        ...(placement.resourceGroupId === undefined ? {} : { ResourceGroupId: placement.resourceGroupId }),
        ...(ctx.node.zoneId === undefined ? {} : { ZoneId: ctx.node.zoneId }),
        ...(credentials.credentials.length === 0 ? {} : { ImageRegistryCredential: credentials.credentials })
      }
      const response = yield* eci.call("CreateImageCache", request).pipe(
        Effect.catchTags({
          EciInvalidParameter: (e) => Effect.succeed({ refused: e } as const),
          EciAuthFailed: (e) => Effect.succeed({ refused: e } as const)
        })
      )
      if ("refused" in response) {
        const e = response.refused
        if (e.code === "IdempotentParameterMismatch") {
          // The request changed under the same token (a rotated registry password): a new token, and a
          // lookup first, in case the old one did make a cache.
          ctx.keep(yield* kube.patchImageCache(name, { metadata: { annotations: { [CLIENT_TOKEN_ANNOTATION]: yield* randomUuid } } }))
          m.absenceProven = false
          return requeueAfter(0)
        }
        const reason = e._tag === "EciAuthFailed" ? "Unauthorized" : "CreateRefused"
        const message = `ECI refused CreateImageCache: ${e.code}: ${e.message} (RequestId ${e.requestId}); trying again in ${Math.round(ctx.retryRefusedAfterMs / 1000)} s`
        yield* event(ic, "Warning", "ImageCacheCreateFailed", message)
        yield* writeStatus(ic, { phase: "Failed", reason, message }, true)
        return requeueAfter(ctx.retryRefusedAfterMs)
      }
      const id = response.ImageCacheId ?? ""
      // ECI's own view (its CreationTime, not ours: a replica that lists the cache must compute the
      // same status, or two replicas in a handover would overwrite each other). Until ECI shows it,
      // a minimal view with no times.
      const view = (yield* describeCache(id).pipe(Effect.orElseSucceed(() => undefined))) ??
        { ImageCacheId: id, Status: "Preparing", Progress: "0%", Images: spec.images, Tags: request.Tag ?? [] }
      yield* ctx.tracker.put(view)
      yield* ctx.tracker.heat
      // Without events: the next Sync publishes them as Kubernetes Events, then records them here.
      const { events: _events, ...first } = statusOf(view)
      yield* writeStatus(ic, first)
      yield* event(ic, "Normal", "ImageCacheCreated", `created ECI image cache ${id} (${spec.images.length} image${spec.images.length === 1 ? "" : "s"})`)
      yield* Effect.logInfo("created ECI image cache", id, name)
      return done
    })

  const confirmGone = (cacheId: string, m: Memory): Act =>
    Effect.gen(function*() {
      const found = yield* describeCache(cacheId)
      if (found !== undefined) yield* ctx.tracker.put(found)
      else m.goneConfirmed.add(cacheId)
      return requeueAfter(0)
    })

  const recreate = (ic: ImageCache, step: Extract<Step, { _tag: "Recreate" }>, m: Memory): Act =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const name = ic.metadata?.name ?? ""
      if (step.deleteOld) yield* deleteCache(step.cacheId)
      yield* ctx.tracker.forget(step.cacheId)
      m.retired.add(step.cacheId)
      // The new token first: were the status cleared first and we crashed, the old token would bring
      // the old (gone) cache back.
      const rotated = yield* kube.patchImageCache(name, { metadata: { annotations: { [CLIENT_TOKEN_ANNOTATION]: yield* randomUuid } } })
      ctx.keep(rotated)
      const message = step.reason === "Expired"
        ? `ECI image cache ${step.cacheId} reached its retention end; building a new one`
        : `ECI image cache ${step.cacheId} no longer exists; building a new one`
      const reason = step.reason === "Expired" ? "CacheExpired" : "CacheVanished"
      yield* event(ic, step.reason === "Expired" ? "Normal" : "Warning", reason, message)
      yield* writeStatus(rotated, { phase: "Pending", reason, message }, true)
      m.absenceProven = true
      return requeueAfter(0)
    })

  const sync = (ic: ImageCache, step: Extract<Step, { _tag: "Sync" }>): Act =>
    Effect.gen(function*() {
      const kube = yield* Kube
      for (const e of step.events) {
        const type = e.type === "Warning" ? "Warning" : "Normal"
        const reason = e.reason ?? "ImageCacheEvent"
        yield* event(ic, type, reason, e.message ?? reason, `${step.cacheId}|${eventKey(e)}`)
      }
      if (step.status !== undefined) {
        ctx.keep(yield* kube.patchImageCacheStatus(ic.metadata?.name ?? "", { metadata: { resourceVersion: ic.metadata?.resourceVersion }, status: step.status }))
      }
      return step.recheckInMs === undefined ? done : requeueAfter(step.recheckInMs)
    })

  return (ic: ImageCache, step: Step, m: Memory): Act => {
    switch (step._tag) {
      case "Nothing":
        return Effect.succeed(done)
      case "Wait":
        return Effect.succeed(requeueAfter(step.delayMs))
      case "AddFinalizer":
        return addFinalizer(ic, step.needsToken, m)
      case "Finalize":
        return finalize(ic, step.knownIds)
      case "Lookup":
        return doLookup(ic, m)
      case "Create":
        return create(ic, step.clientToken, m)
      case "ConfirmGone":
        return confirmGone(step.cacheId, m)
      case "Recreate":
        return recreate(ic, step, m)
      case "Sync":
        return sync(ic, step)
    }
  }
}
