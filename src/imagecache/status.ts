import type { ImageCachePhase, ImageCacheStatus, ImageCacheStatusEvent } from "../kube/imageCache.ts"
import type { CacheView } from "./identity.ts"

/**
 * An ECI image cache as the ImageCache's `status`, and which of its ECI events are news. Pure, so
 * the rules are table-tested (test/imagecache/status.test.ts).
 */

const phases: ReadonlyArray<ImageCachePhase> = ["Preparing", "Creating", "Ready", "Failed", "Updating", "UpdateFailed"]

/** ECI's status names the phase; one ECI may add later becomes Unknown (the CRD's enum would refuse it). */
export const phaseOf = (cache: CacheView): ImageCachePhase => {
  const s = cache.Status ?? ""
  return (phases as ReadonlyArray<string>).includes(s) ? s as ImageCachePhase : "Unknown"
}

export type CacheEvent = NonNullable<CacheView["Events"]>[number]

/** The CRD keeps at most this many events (`maxItems`), newest last. */
export const MAX_STATUS_EVENTS = 50

const orUndefined = (s: string | undefined) => (s === undefined || s === "" ? undefined : s)

/** What makes an ECI event distinct; a repeat of the same event raises its count, which is not news. */
export const eventKey = (e: { readonly type?: string | undefined; readonly reason?: string | undefined; readonly message?: string | undefined; readonly firstTimestamp?: string | undefined }) =>
  `${e.type ?? ""}|${e.reason ?? ""}|${e.firstTimestamp ?? ""}|${e.message ?? ""}`

export const statusEvent = (e: CacheEvent): ImageCacheStatusEvent => ({
  ...(orUndefined(e.Type) === undefined ? {} : { type: e.Type! }),
  ...(orUndefined(e.Reason ?? e.Name) === undefined ? {} : { reason: (e.Reason ?? e.Name)! }),
  ...(orUndefined(e.Message) === undefined ? {} : { message: e.Message! }),
  ...(e.Count === undefined ? {} : { count: e.Count }),
  ...(orUndefined(e.FirstTimestamp) === undefined ? {} : { firstTimestamp: e.FirstTimestamp! }),
  ...(orUndefined(e.LastTimestamp) === undefined ? {} : { lastTimestamp: e.LastTimestamp! })
})

/**
 * Why a build failed, from its Warning events: a registry that refused our credentials, an image
 * that does not exist, or a failure ECI does not explain. The message quotes ECI's own words.
 */
export const failureOf = (events: ReadonlyArray<ImageCacheStatusEvent>): { readonly reason: string; readonly message: string } => {
  const warnings = events.filter((e) => e.type === "Warning" && e.message !== undefined)
  const text = warnings.map((e) => e.message!).join("; ")
  if (/unauthori[sz]ed|authenticat|denied|forbidden|credential/i.test(text)) return { reason: "ImagePullUnauthorized", message: text }
  if (/not found|does not exist|manifest unknown|no such/i.test(text)) return { reason: "ImageNotFound", message: text }
  return { reason: "BuildFailed", message: text === "" ? "ECI reports the image cache as Failed without saying why" : text }
}

/**
 * The status an ECI cache stands for, without `lastUpdatedTime` (the caller stamps it when
 * something else changed). Ready and the building phases carry no reason; Failed says why.
 */
export const statusOf = (cache: CacheView): ImageCacheStatus => {
  const phase = phaseOf(cache)
  const events = (cache.Events ?? []).map(statusEvent).slice(-MAX_STATUS_EVENTS)
  const failure = phase === "Failed" || phase === "UpdateFailed" ? failureOf(events) : undefined
  const expire = orUndefined(cache.ExpireDateTime)
  const start = orUndefined(cache.CreationTime)
  const progress = orUndefined(cache.Progress)
  return {
    phase,
    ...(failure === undefined ? {} : failure),
    ...(progress === undefined ? {} : { progress }),
    ...(cache.ImageCacheId === undefined ? {} : { imageCacheId: cache.ImageCacheId }),
    ...(start === undefined ? {} : { startTime: start }),
    ...(expire === undefined ? {} : { expireDateTime: expire }),
    ...(events.length === 0 ? {} : { events })
  }
}

const statusKeys: ReadonlyArray<keyof ImageCacheStatus> = [
  "phase",
  "reason",
  "message",
  "progress",
  "imageCacheId",
  "startTime",
  "expireDateTime",
  "events",
  "lastUpdatedTime"
]

/**
 * The merge patch that turns `current` into `desired` (fields absent from `desired` are removed
 * with null), stamped with `now` as lastUpdatedTime; undefined when nothing but the stamp would
 * change, so an unchanged cache costs no write.
 */
export const statusPatch = (
  current: ImageCacheStatus | undefined,
  desired: ImageCacheStatus,
  now: string
): Record<string, unknown> | undefined => {
  const patch: Record<string, unknown> = {}
  for (const key of statusKeys) {
    if (key === "lastUpdatedTime") continue
    const want = desired[key]
    const have = current?.[key]
    if (JSON.stringify(want) === JSON.stringify(have)) continue
    patch[key] = want === undefined ? null : want
  }
  if (Object.keys(patch).length === 0) return undefined
  return { ...patch, lastUpdatedTime: now }
}

/** How far along a cache's life a phase is; ECI only ever moves a cache forward. */
const rank: Partial<Record<ImageCachePhase, number>> = { Preparing: 0, Creating: 1, Ready: 2, Failed: 2, Updating: 3, UpdateFailed: 4 }

const percent = (p: string | undefined) => {
  const n = Number.parseInt(p ?? "", 10)
  return Number.isNaN(n) ? 0 : n
}

/**
 * Whether our observation of a cache is older than what `status` already says about the same cache
 * (another replica, during a leader handover, wrote a fresher one): writing it would move the
 * status backwards, and two replicas with different views would overwrite each other forever.
 */
export const isBehind = (cache: CacheView, status: ImageCacheStatus | undefined): boolean => {
  if (status === undefined || status.imageCacheId !== cache.ImageCacheId) return false
  const seen = rank[phaseOf(cache)]
  const written = status.phase === undefined ? undefined : rank[status.phase]
  if (seen === undefined || written === undefined) return false
  if (seen !== written) return seen < written
  return percent(cache.Progress) < percent(status.progress) || (cache.Events ?? []).length < (status.events ?? []).length
}

/** ECI events not yet mirrored into `status.events` (those were turned into Kubernetes Events already). */
export const newEvents = (cache: CacheView, current: ImageCacheStatus | undefined): ReadonlyArray<ImageCacheStatusEvent> => {
  const seen = new Set((current?.events ?? []).map(eventKey))
  return (cache.Events ?? []).map(statusEvent).filter((e) => !seen.has(eventKey(e)))
}

/** RFC 3339 at second precision, as ECI and the API server write times. */
export const rfc3339 = (millis: number): string => new Date(Math.floor(millis / 1000) * 1000).toISOString().replace(".000Z", "Z")
