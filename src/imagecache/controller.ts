import { Clock, Duration, Effect, Metric, Stream } from "effect"
import type { ImageCache } from "../kube/imageCache.ts"
import { Kube } from "../kube/Kube.ts"
import { makeObjectEventRecorder } from "../pods/events.ts"
import type { PodControllerOptions } from "../pods/podController.ts"
import { done, makeWorkQueue, requeueAfter } from "../queue/workQueue.ts"
import type { NodeContext } from "../translate/resolved.ts"
import { type ActContext, makeActions, type Memory } from "./act.ts"
import { makeCacheTracker } from "./cacheTracker.ts"
import { decide, orphanedCaches } from "./decide.ts"
import { ownerUid } from "./identity.ts"
import { deleteCache } from "./queries.ts"

/**
 * ImageCache resources become ECI image caches (leader only, beside the pod controller):
 *
 *   ImageCache watch ──┐                      ┌─▶ decide(resource, caches, memory) ─▶ one step
 *                      ├─▶ work queue (name) ─┤
 *   cache tracker ─────┘                      └─▶ requeue: at once, after a delay, or with backoff
 *        └─▶ after every full listing: garbage collection of caches no resource owns
 *
 * State lives in the API server (the resource: finalizer, client token, status.imageCacheId) and in
 * ECI (caches, found by their tags). What this process remembers only saves calls.
 */
export interface ImageCacheControllerOptions {
  /** Cluster id (the tag that marks our caches), region, default vSwitches and security group. */
  readonly node: NodeContext
  /** The eci-profile's placement defaults (as for pods), read at each create; configuration fills in where it is silent. */
  readonly profileDefaults?: PodControllerOptions["profileDefaults"]
  readonly workers?: number
  /** Listing cadence while a cache builds (default 5 s) and otherwise (default 60 s). */
  readonly hotInterval?: Duration.Input
  readonly resyncInterval?: Duration.Input
  /** A cache no resource owns is deleted only when older than this (watch lag, a write not yet seen). Default 2 minutes. */
  readonly orphanSafetyDelay?: Duration.Input
  /** After ECI refused a create (placement, permissions): try again after this. Default 5 minutes. */
  readonly retryRefusedAfter?: Duration.Input
  /** While the CRD or its RBAC is missing, look again this often. Default 1 minute. */
  readonly apiRecheckInterval?: Duration.Input
}

const orphansDeleted = Metric.counter("eci_vn_image_caches_orphans_deleted_total", {
  description: "ECI image caches deleted because no ImageCache resource owns them"
})

/** A resourceVersion no older than the one we hold (they are etcd revisions: integers, compared as such). */
const notOlder = (next: ImageCache, held: ImageCache | undefined) => {
  const a = next.metadata?.resourceVersion
  const b = held?.metadata?.resourceVersion
  if (a === undefined || b === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return true
  return BigInt(a) >= BigInt(b)
}

/**
 * Returns once ImageCaches can be listed. A cluster without the CRD (k8s/imagecache-crd.yaml) or
 * without its RBAC (k8s/imagecache-rbac.yaml) leaves the controller idle, saying why once, instead of
 * a watch failing every few seconds with a warning.
 */
const awaitImageCacheApi = (recheck: Duration.Input) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    let said: string | undefined
    while (true) {
      const problem = yield* kube.listImageCaches.pipe(
        Effect.as(undefined),
        Effect.catch((e) =>
          Effect.succeed(
            e._tag === "KubeNotFound"
              ? "the ImageCache CRD (imagecaches.eci.alibabacloud.com) is not installed"
              : `ImageCaches cannot be listed (${e._tag === "KubeApiError" ? `${e.status} ${e.reason}` : e._tag}: ${e.message})`
          )
        )
      )
      if (problem === undefined) return
      if (problem !== said) yield* Effect.logWarning(`image cache controller idle: ${problem}; checking again every ${Duration.format(Duration.fromInputUnsafe(recheck))}`)
      said = problem
      yield* Effect.sleep(recheck)
    }
  })

export const runImageCacheController = (options: ImageCacheControllerOptions) =>
  Effect.gen(function*() {
    const node = options.node
    const retryRefusedAfterMs = Duration.toMillis(options.retryRefusedAfter ?? "5 minutes")
    const safetyMs = Duration.toMillis(options.orphanSafetyDelay ?? "2 minutes")
    yield* awaitImageCacheApi(options.apiRecheckInterval ?? "1 minute")
    const kube = yield* Kube
    const record = yield* makeObjectEventRecorder({ component: "eci-virtual-node", host: node.nodeName })
    const tracker = yield* makeCacheTracker({
      clusterId: node.clusterId,
      ...(options.hotInterval === undefined ? {} : { hotInterval: options.hotInterval }),
      ...(options.resyncInterval === undefined ? {} : { resyncInterval: options.resyncInterval })
    })
    const trackerChanges = yield* tracker.subscribe

    const resources = new Map<string, ImageCache>()
    const nameByUid = new Map<string, string>()
    let resourcesSynced = false
    const memory = new Map<string, Memory>()
    const remember = (uid: string): Memory => {
      let m = memory.get(uid)
      if (m === undefined) memory.set(uid, m = { absenceProven: false, goneConfirmed: new Set(), retired: new Set() })
      return m
    }
    const store = (ic: ImageCache) => {
      const name = ic.metadata?.name
      if (name === undefined) return
      resources.set(name, ic)
      if (ic.metadata?.uid !== undefined) nameByUid.set(ic.metadata.uid, name)
    }
    const forgetResource = (name: string) => {
      const uid = resources.get(name)?.metadata?.uid
      resources.delete(name)
      if (uid !== undefined) {
        nameByUid.delete(uid)
        memory.delete(uid)
      }
    }

    const placement: ActContext["placement"] = options.profileDefaults === undefined
      ? Effect.succeed({ vSwitchIds: node.vSwitchIds, securityGroupId: node.securityGroupId, resourceGroupId: node.resourceGroupId })
      : Effect.map(options.profileDefaults, (p) => ({
        vSwitchIds: p.vSwitchIds.length > 0 ? p.vSwitchIds : node.vSwitchIds,
        securityGroupId: p.securityGroupId ?? node.securityGroupId,
        resourceGroupId: p.resourceGroupId ?? node.resourceGroupId
      }))

    const act = makeActions({
      node,
      placement,
      tracker,
      record,
      retryRefusedAfterMs,
      // Only a resource we still hold, and never an older version than the watch delivered.
      keep: (ic) => {
        const name = ic.metadata?.name
        if (name !== undefined && resources.has(name) && notOlder(ic, resources.get(name))) store(ic)
      }
    })

    const reconcile = (name: string) =>
      Effect.gen(function*() {
        const ic = resources.get(name)
        if (ic === undefined) return done
        const uid = ic.metadata?.uid ?? ""
        const m = remember(uid)
        const step = decide({
          imageCache: ic,
          caches: tracker.byUid(uid),
          listed: tracker.listed(),
          absenceProven: m.absenceProven,
          goneConfirmed: m.goneConfirmed,
          retired: m.retired,
          now: new Date(yield* Clock.currentTimeMillis),
          retryRefusedAfterMs
        })
        return yield* act(ic, step, m).pipe(
          Effect.catchTags({
            // The resource went away meanwhile: its watch event says so.
            KubeNotFound: () => Effect.succeed(done),
            // Someone wrote it meanwhile: read it again and decide anew.
            KubeConflict: () =>
              kube.getImageCache(name).pipe(
                Effect.map((fresh) => (store(fresh), requeueAfter(0))),
                Effect.catchTag("KubeNotFound", () => Effect.succeed(done))
              )
          }),
          Effect.annotateLogs({ imageCache: name, step: step._tag })
        )
      })

    const queue = yield* makeWorkQueue({ name: "imagecaches", workers: options.workers ?? 4, process: reconcile })

    const collectGarbage = Effect.gen(function*() {
      const owners = new Map<string, string | undefined>()
      for (const ic of resources.values()) if (ic.metadata?.uid !== undefined) owners.set(ic.metadata.uid, ic.status?.imageCacheId)
      const orphans = orphanedCaches({ caches: tracker.all(), owners, resourcesSynced, nowMs: yield* Clock.currentTimeMillis, safetyMs })
      for (const c of orphans) {
        const id = c.ImageCacheId ?? ""
        yield* deleteCache(id).pipe(
          Effect.andThen(tracker.forget(id)),
          Effect.andThen(Metric.update(orphansDeleted, 1)),
          Effect.andThen(Effect.logInfo("deleted an ECI image cache no ImageCache owns", id, ownerUid(c) ?? "")),
          Effect.catch((e) => Effect.logWarning("deleting an orphaned ECI image cache failed; next listing retries", id, e.code))
        )
      }
    })

    const watch = kube.watchImageCaches.pipe(
      Stream.runForEach((event) =>
        Effect.gen(function*() {
          if (event.type === "Snapshot") {
            const seen = new Set<string>()
            for (const ic of event.imageCaches) {
              const name = ic.metadata?.name
              if (name === undefined) continue
              seen.add(name)
              store(ic)
              yield* queue.add(name)
            }
            for (const name of [...resources.keys()]) if (!seen.has(name)) forgetResource(name)
            resourcesSynced = true
          } else {
            const name = event.imageCache.metadata?.name
            if (name === undefined) return
            if (event.type === "Deleted") forgetResource(name)
            else store(event.imageCache)
            yield* queue.add(name)
          }
        })
      )
    )

    const fromTracker = trackerChanges.pipe(
      Stream.runForEach((change) =>
        Effect.gen(function*() {
          if (change._tag === "Changed") {
            const name = nameByUid.get(change.uid)
            if (name !== undefined) yield* queue.add(name)
            return
          }
          // Absences mean something only from the first full listing on: look at everything once.
          if (change.first) for (const name of resources.keys()) yield* queue.add(name)
          yield* collectGarbage
        })
      )
    )

    yield* Effect.logInfo("image cache controller started")
    yield* Effect.all([watch, fromTracker, tracker.run], { concurrency: "unbounded", discard: true })
  }).pipe(Effect.scoped, Effect.annotateLogs({ controller: "imagecaches" }))
