import type { ImageCache, ImageCacheStatus, ImageCacheStatusEvent } from "../kube/imageCache.ts"
import { CLIENT_TOKEN_ANNOTATION, type CacheView, IMAGE_CACHE_FINALIZER, ownerUid } from "./identity.ts"
import { isBehind, newEvents, rfc3339, statusOf, statusPatch } from "./status.ts"

/**
 * The controller's brain for one ImageCache: from what is observed to the one next step. Pure, so
 * every rule is a table test (test/imagecache/decide.test.ts); controller.ts carries the step out
 * and asks again.
 *
 * The rules, in order:
 * 1. Being deleted: delete every ECI cache of this resource (NotFound is success), then remove our
 *    finalizer. Without our finalizer we never made a cache: nothing to do.
 * 2. No finalizer or no client token yet: add both in one write, before any create, so that neither
 *    a deletion nor a crash can leave a cache behind.
 * 3. A cache id in status: follow that cache — mirror its status and events (never backwards: a view
 *    older than the status, from a replica that lags, is not written); when it is gone (a
 *    direct describe confirms it) or past its ExpireDateTime, build it again under a new token. A
 *    Failed build is final (a bad image or bad credentials fail again): delete and re-create the
 *    resource to retry.
 * 4. No cache id: adopt a cache carrying our UID (made before a crash, or by the previous leader);
 *    when none is known to exist, look one up (unless absence is proven), then create.
 */
export interface Observation {
  readonly imageCache: ImageCache
  /** ECI caches carrying this resource's UID tag, as last observed. */
  readonly caches: ReadonlyArray<CacheView>
  /** The tracker has listed every cache of ours at least once: an absence from `caches` means something. */
  readonly listed: boolean
  /** No cache carries this UID for certain (a lookup found none, or we just wrote the first token). */
  readonly absenceProven: boolean
  /** Cache ids a direct describe found gone. */
  readonly goneConfirmed: ReadonlySet<string>
  /** Cache ids we replaced or deleted: never adopted again. */
  readonly retired: ReadonlySet<string>
  readonly now: Date
  /** How long after a refused create (bad placement, permissions) to try again. */
  readonly retryRefusedAfterMs: number
}

export type RecreateReason = "Expired" | "Vanished"

export type Step =
  | { readonly _tag: "Nothing" }
  | { readonly _tag: "Wait"; readonly delayMs: number }
  | { readonly _tag: "AddFinalizer"; readonly needsToken: boolean }
  | { readonly _tag: "Finalize"; readonly knownIds: ReadonlyArray<string> }
  | { readonly _tag: "Lookup" }
  | { readonly _tag: "Create"; readonly clientToken: string }
  | { readonly _tag: "ConfirmGone"; readonly cacheId: string }
  | { readonly _tag: "Recreate"; readonly cacheId: string; readonly reason: RecreateReason; readonly deleteOld: boolean }
  | {
    readonly _tag: "Sync"
    readonly cacheId: string
    /** Merge patch of `status`; undefined when it is up to date. */
    readonly status: Record<string, unknown> | undefined
    /** ECI events to publish as Kubernetes Events (before the status that records them is written). */
    readonly events: ReadonlyArray<ImageCacheStatusEvent>
    /** Look again then (the expiry of a Ready cache); undefined: changes will tell us. */
    readonly recheckInMs: number | undefined
  }

/** Reasons a create was refused by ECI (not a build failure): retried after `retryRefusedAfterMs`. */
export const REFUSED_REASONS = ["CreateRefused", "Unauthorized"] as const

const nothing: Step = { _tag: "Nothing" }

const timeOf = (s: string | undefined): number | undefined => {
  if (s === undefined || s === "") return undefined
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : t
}

/** Which of several caches with our UID to adopt: a usable one before a failed one, the newest first. */
export const adoptable = (caches: ReadonlyArray<CacheView>, retired: ReadonlySet<string>): CacheView | undefined =>
  [...caches]
    .filter((c) => c.ImageCacheId !== undefined && !retired.has(c.ImageCacheId))
    .sort((a, b) => {
      const failed = Number(a.Status === "Failed") - Number(b.Status === "Failed")
      return failed !== 0 ? failed : (timeOf(b.CreationTime) ?? 0) - (timeOf(a.CreationTime) ?? 0)
    })[0]

const sync = (status: ImageCacheStatus | undefined, cache: CacheView, now: Date): Step => {
  const desired = statusOf(cache)
  const expire = timeOf(cache.ExpireDateTime)
  return {
    _tag: "Sync",
    cacheId: cache.ImageCacheId ?? "",
    status: statusPatch(status, desired, rfc3339(now.getTime())),
    events: newEvents(cache, status),
    recheckInMs: desired.phase === "Ready" && expire !== undefined ? Math.max(1000, expire - now.getTime()) : undefined
  }
}

export const decide = (o: Observation): Step => {
  const ic = o.imageCache
  const status = ic.status
  const uid = ic.metadata?.uid ?? ""
  const ours = (ic.metadata?.finalizers ?? []).includes(IMAGE_CACHE_FINALIZER)
  const statusId = status?.imageCacheId
  const caches = o.caches.filter((c) => ownerUid(c) === uid)

  // 1. deletion
  if (ic.metadata?.deletionTimestamp !== undefined) {
    if (!ours) return nothing
    const ids = new Set<string>()
    if (statusId !== undefined) ids.add(statusId)
    for (const c of caches) if (c.ImageCacheId !== undefined) ids.add(c.ImageCacheId)
    return { _tag: "Finalize", knownIds: [...ids].sort() }
  }

  // 2. finalizer and token before anything else
  const token = ic.metadata?.annotations?.[CLIENT_TOKEN_ANNOTATION]
  if (!ours || token === undefined || token === "") return { _tag: "AddFinalizer", needsToken: token === undefined || token === "" }

  // 3. following our cache
  if (statusId !== undefined) {
    const cache = caches.find((c) => c.ImageCacheId === statusId)
    if (cache === undefined) {
      // Before the first full list an absence means nothing; that list re-queues every resource.
      if (!o.listed) return nothing
      if (!o.goneConfirmed.has(statusId)) return { _tag: "ConfirmGone", cacheId: statusId }
      if (status?.phase === "Failed") return nothing
      return { _tag: "Recreate", cacheId: statusId, reason: "Vanished", deleteOld: false }
    }
    // Our view is older than the status (written by another replica): the tracker will catch up.
    if (isBehind(cache, status)) return nothing
    const expire = timeOf(cache.ExpireDateTime)
    if (cache.Status === "Ready" && expire !== undefined && expire <= o.now.getTime()) {
      return { _tag: "Recreate", cacheId: statusId, reason: "Expired", deleteOld: true }
    }
    return sync(status, cache, o.now)
  }

  // 4. no cache yet: adopt, look up, or create
  const found = adoptable(caches, o.retired)
  if (found !== undefined) return sync(status, found, o.now)
  if (!o.absenceProven) return { _tag: "Lookup" }
  if (status?.phase === "Failed" && (REFUSED_REASONS as ReadonlyArray<string>).includes(status.reason ?? "")) {
    const last = timeOf(status.lastUpdatedTime) ?? 0
    const due = last + o.retryRefusedAfterMs - o.now.getTime()
    if (due > 0) return { _tag: "Wait", delayMs: due }
  }
  return { _tag: "Create", clientToken: token }
}

/**
 * Garbage collection over one full list of our caches: a cache is an orphan when no ImageCache has
 * its UID, or when its ImageCache follows another cache (a duplicate from a crash, or a generation
 * we replaced). Young caches are spared (`safetyMs`): their resource may not have reached our watch
 * yet, or its status may not name them yet. Nothing is collected before the resources are listed.
 */
export const orphanedCaches = (input: {
  readonly caches: ReadonlyArray<CacheView>
  /** ImageCaches by UID: the cache id their status follows (undefined: none yet). */
  readonly owners: ReadonlyMap<string, string | undefined>
  readonly resourcesSynced: boolean
  readonly nowMs: number
  readonly safetyMs: number
}): ReadonlyArray<CacheView> => {
  if (!input.resourcesSynced) return []
  return input.caches.filter((c) => {
    const uid = ownerUid(c)
    if (uid === undefined || c.ImageCacheId === undefined) return false
    const created = timeOf(c.CreationTime)
    if (created === undefined || input.nowMs - created < input.safetyMs) return false
    if (!input.owners.has(uid)) return true
    const follows = input.owners.get(uid)
    return follows !== undefined && follows !== c.ImageCacheId
  })
}
