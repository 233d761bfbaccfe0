import { Clock, Duration, Effect, Metric, PubSub, Queue, type Scope, Stream } from "effect"
import type { Eci } from "../eci/Eci.ts"
import { type CacheView, clusterTagValue, IMAGE_CACHE_TAGS, ownerUid } from "./identity.ts"
import { listCachesByTags } from "./queries.ts"

/**
 * What we know of our ECI image caches, from one DescribeImageCaches listing of every cache with
 * our cluster tag (paged, 100 a call) on a cadence that follows the need:
 * - hot (`hotInterval`, default 5 s) while a cache is building or for a while after `heat`
 *   (a create, a recreate): progress shows up promptly;
 * - otherwise cold (`resyncInterval`, default 60 s): enough to notice a cache ECI dropped.
 * The quota of DescribeImageCaches (policy.ts assumes 200/min) then allows 12 calls a minute per
 * 100 caches while hot and 1 while cold. One listing serves status, absence and garbage collection.
 */
export interface CacheTrackerOptions {
  readonly clusterId: string
  readonly hotInterval?: Duration.Input
  readonly resyncInterval?: Duration.Input
  /** How long a `heat` keeps the cadence hot. Default 2 × resyncInterval. */
  readonly hotWindow?: Duration.Input
}

export type TrackerChange =
  /** A cache of this resource UID appeared, changed or disappeared. */
  | { readonly _tag: "Changed"; readonly uid: string }
  /** A full listing finished (`first`: the first since start). */
  | { readonly _tag: "Listed"; readonly first: boolean }

export interface CacheTracker {
  /** Caches carrying this resource UID, as last observed. */
  readonly byUid: (uid: string) => ReadonlyArray<CacheView>
  /** Every cache of ours, for garbage collection. */
  readonly all: () => ReadonlyArray<CacheView>
  /** Whether a full listing has finished since start. */
  readonly listed: () => boolean
  /** Record a cache we just learned of (created, looked up, described). */
  readonly put: (cache: CacheView) => Effect.Effect<void>
  /** Forget a cache we deleted or found gone. */
  readonly forget: (cacheId: string) => Effect.Effect<void>
  /** List soon and stay hot for a while. */
  readonly heat: Effect.Effect<void>
  /** Subscribes now (so nothing published from here on is missed); the stream ends with the scope. */
  readonly subscribe: Effect.Effect<Stream.Stream<TrackerChange>, never, Scope.Scope>
  /** The listing loop; runs as long as the tracker is in use. */
  readonly run: Effect.Effect<never, never, Eci>
}

const building = new Set(["Preparing", "Creating", "Updating"])

/** What the status is computed from: a change here is worth a reconcile. */
const fingerprint = (c: CacheView) => JSON.stringify([c.Status, c.Progress, c.ExpireDateTime, c.Events?.length, c.Events?.at(-1)?.Count])

const cachesTracked = Metric.gauge("eci_vn_image_caches", { description: "ECI image caches of this cluster known to the controller" })

export const makeCacheTracker = (options: CacheTrackerOptions) =>
  Effect.gen(function*() {
    const hotMs = Duration.toMillis(options.hotInterval ?? "5 seconds")
    const resyncMs = Math.max(hotMs, Duration.toMillis(options.resyncInterval ?? "60 seconds"))
    const hotWindowMs = options.hotWindow === undefined ? 2 * resyncMs : Duration.toMillis(options.hotWindow)
    const byId = new Map<string, CacheView>()
    /** When a cache was put by us: a listing that started earlier does not prove it gone. */
    const putAt = new Map<string, number>()
    let listedOnce = false
    let hotUntil = 0
    const published = yield* PubSub.unbounded<TrackerChange>()
    const wake = yield* Queue.sliding<void>(1)

    const changed = (c: CacheView | undefined) => {
      const uid = c === undefined ? undefined : ownerUid(c)
      return uid === undefined ? Effect.void : PubSub.publish(published, { _tag: "Changed", uid }).pipe(Effect.asVoid)
    }

    const put = (cache: CacheView) =>
      Effect.gen(function*() {
        const id = cache.ImageCacheId
        if (id === undefined) return
        const before = byId.get(id)
        byId.set(id, cache)
        putAt.set(id, yield* Clock.currentTimeMillis)
        if (before === undefined || fingerprint(before) !== fingerprint(cache)) yield* changed(cache)
      })

    const forget = (id: string) =>
      Effect.gen(function*() {
        const before = byId.get(id)
        byId.delete(id)
        putAt.delete(id)
        yield* changed(before)
      })

    const fullList = Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const caches = yield* listCachesByTags({ [IMAGE_CACHE_TAGS.clusterId]: clusterTagValue(options.clusterId) })
      const seen = new Set<string>()
      for (const c of caches) {
        if (c.ImageCacheId === undefined) continue
        seen.add(c.ImageCacheId)
        const before = byId.get(c.ImageCacheId)
        byId.set(c.ImageCacheId, c)
        putAt.delete(c.ImageCacheId)
        if (before === undefined || fingerprint(before) !== fingerprint(c)) yield* changed(c)
      }
      for (const [id, c] of [...byId]) {
        if (seen.has(id) || (putAt.get(id) ?? -Infinity) >= startedAt) continue
        byId.delete(id)
        putAt.delete(id)
        yield* changed(c)
      }
      const first = !listedOnce
      listedOnce = true
      yield* Metric.update(cachesTracked, byId.size)
      yield* PubSub.publish(published, { _tag: "Listed", first })
    })

    const isHot = Effect.map(Clock.currentTimeMillis, (now) =>
      now < hotUntil || [...byId.values()].some((c) => building.has(c.Status ?? "")))

    const run = Effect.gen(function*() {
      while (true) {
        yield* fullList.pipe(Effect.catch((e) => Effect.logWarning("listing ECI image caches failed; next attempt on schedule", e.code, e.message)))
        // Never more often than hotInterval; when cold, a `heat` cuts the wait short.
        yield* Effect.sleep(Duration.millis(hotMs))
        if (!(yield* isHot)) {
          yield* Queue.clear(wake)
          yield* Effect.raceFirst(Effect.sleep(Duration.millis(resyncMs - hotMs)), Queue.take(wake))
        }
      }
    })

    const tracker: CacheTracker = {
      byUid: (uid) => [...byId.values()].filter((c) => ownerUid(c) === uid),
      all: () => [...byId.values()],
      listed: () => listedOnce,
      put,
      forget,
      heat: Effect.gen(function*() {
        hotUntil = (yield* Clock.currentTimeMillis) + hotWindowMs
        yield* Queue.offer(wake, undefined)
      }),
      subscribe: PubSub.subscribe(published).pipe(Effect.map(Stream.fromSubscription)),
      run
    }
    return tracker
  })
