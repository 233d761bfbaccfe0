import { describe, expect, it } from "vitest"
import { adoptable, decide, type Observation, orphanedCaches } from "../../src/imagecache/decide.ts"
import { type CacheView, CLIENT_TOKEN_ANNOTATION, IMAGE_CACHE_FINALIZER, IMAGE_CACHE_TAGS } from "../../src/imagecache/identity.ts"
import type { ImageCache, ImageCacheStatus } from "../../src/kube/imageCache.ts"

const now = new Date("2026-11-26T08:00:00Z")
const UID = "uid-1"

const ic = (over: { finalizer?: boolean; token?: string | null; status?: ImageCacheStatus; deleting?: boolean; otherFinalizers?: Array<string> } = {}): ImageCache => ({
  metadata: {
    name: "base",
    uid: UID,
    resourceVersion: "7",
    finalizers: [...(over.otherFinalizers ?? []), ...(over.finalizer === false ? [] : [IMAGE_CACHE_FINALIZER])],
    ...(over.token === null ? {} : { annotations: { [CLIENT_TOKEN_ANNOTATION]: over.token ?? "t-1" } }),
    ...(over.deleting === true ? { deletionTimestamp: now } : {})
  },
  spec: { images: ["nginx:1.27"], imageCacheSize: 20 },
  ...(over.status === undefined ? {} : { status: over.status })
})

const cache = (over: Partial<CacheView> & { uid?: string } = {}): CacheView => {
  const { uid, ...rest } = over
  return {
    ImageCacheId: "imc-1",
    Status: "Ready",
    Progress: "100%",
    CreationTime: "2026-11-26T07:50:00Z",
    ExpireDateTime: "",
    Images: ["nginx:1.27"],
    Tags: [{ Key: IMAGE_CACHE_TAGS.clusterId, Value: "c1" }, { Key: IMAGE_CACHE_TAGS.uid, Value: uid ?? UID }],
    Events: [],
    ...rest
  }
}

const observe = (o: Partial<Observation> & { imageCache: ImageCache }): Observation => ({
  caches: [],
  listed: true,
  absenceProven: false,
  goneConfirmed: new Set(),
  retired: new Set(),
  now,
  retryRefusedAfterMs: 300_000,
  ...o
})

const tagOf = (o: Partial<Observation> & { imageCache: ImageCache }) => decide(observe(o))._tag

describe("deciding the next step for an ImageCache", () => {
  describe("before anything is created", () => {
    it.each([
      ["no finalizer, no token", ic({ finalizer: false, token: null }), { _tag: "AddFinalizer", needsToken: true }],
      ["a finalizer but no token", ic({ token: null }), { _tag: "AddFinalizer", needsToken: true }],
      ["a token but no finalizer", ic({ finalizer: false }), { _tag: "AddFinalizer", needsToken: false }],
      ["an empty token", ic({ token: "" }), { _tag: "AddFinalizer", needsToken: true }]
    ])("%s: finalizer and token are written first", (_, imageCache, step) => {
      expect(decide(observe({ imageCache }))).toEqual(step)
    })
    it("looks for a cache with its UID when absence is not proven (a crash may have left one)", () => {
      expect(tagOf({ imageCache: ic() })).toBe("Lookup")
    })
    it("creates with the persisted token once absence is proven", () => {
      expect(decide(observe({ imageCache: ic(), absenceProven: true }))).toEqual({ _tag: "Create", clientToken: "t-1" })
    })
    it("adopts a cache with its UID instead of creating one: the usable before the failed, the newest first", () => {
      const older = cache({ ImageCacheId: "imc-old", CreationTime: "2026-11-26T07:00:00Z" })
      const newer = cache({ ImageCacheId: "imc-new", CreationTime: "2026-11-26T07:30:00Z" })
      const failed = cache({ ImageCacheId: "imc-failed", Status: "Failed", CreationTime: "2026-11-26T07:59:00Z" })
      const step = decide(observe({ imageCache: ic(), caches: [older, failed, newer] }))
      expect(step).toMatchObject({ _tag: "Sync", cacheId: "imc-new", status: { phase: "Ready", imageCacheId: "imc-new" } })
      expect(adoptable([failed], new Set())?.ImageCacheId).toBe("imc-failed")
    })
    it("never adopts a cache it retired, nor one of another UID", () => {
      const retired = cache({ ImageCacheId: "imc-retired" })
      const foreign = cache({ ImageCacheId: "imc-foreign", uid: "uid-2" })
      expect(decide(observe({ imageCache: ic(), caches: [retired, foreign], retired: new Set(["imc-retired"]), absenceProven: true }))).toEqual({
        _tag: "Create",
        clientToken: "t-1"
      })
    })
    it.each([
      ["CreateRefused, 1 minute ago: waits the rest of the 5 minutes", "CreateRefused", "2026-11-26T07:59:00Z", { _tag: "Wait", delayMs: 240_000 }],
      ["Unauthorized, 6 minutes ago: tries again", "Unauthorized", "2026-11-26T07:54:00Z", { _tag: "Create", clientToken: "t-1" }],
      ["a build failure is not a refusal", "ImageNotFound", "2026-11-26T07:59:00Z", { _tag: "Create", clientToken: "t-1" }]
    ])("a refused create: %s", (_, reason, at, step) => {
      const status: ImageCacheStatus = { phase: "Failed", reason, message: "m", lastUpdatedTime: at }
      expect(decide(observe({ imageCache: ic({ status }), absenceProven: true }))).toEqual(step)
    })
  })

  describe("following its cache", () => {
    const following = (status: ImageCacheStatus) => ic({ status: { imageCacheId: "imc-1", ...status } })

    it("mirrors a building cache, without a write when nothing changed", () => {
      const building = cache({ Status: "Creating", Progress: "40%", CreationTime: "2026-11-26T07:59:00Z" })
      const step = decide(observe({ imageCache: following({ phase: "Preparing", progress: "0%", startTime: "2026-11-26T07:59:00Z" }), caches: [building] }))
      expect(step).toEqual({
        _tag: "Sync",
        cacheId: "imc-1",
        status: { phase: "Creating", progress: "40%", lastUpdatedTime: "2026-11-26T08:00:00Z" },
        events: [],
        recheckInMs: undefined
      })
      const same = decide(observe({ imageCache: following({ phase: "Creating", progress: "40%", startTime: "2026-11-26T07:59:00Z" }), caches: [building] }))
      expect(same).toEqual({ _tag: "Sync", cacheId: "imc-1", status: undefined, events: [], recheckInMs: undefined })
    })
    it("publishes ECI events it has not recorded yet, and records them in status", () => {
      const pulled = { Type: "Normal", Reason: "Pulled", Message: "Successfully pulled image", Count: 1, FirstTimestamp: "2026-11-26T07:59:30Z", LastTimestamp: "2026-11-26T07:59:30Z" }
      const seen = { type: "Normal", reason: "Preparing", message: "being prepared", count: 1, firstTimestamp: "2026-11-26T07:59:00Z", lastTimestamp: "2026-11-26T07:59:00Z" }
      const c = cache({ Events: [{ Type: "Normal", Reason: "Preparing", Message: "being prepared", Count: 1, FirstTimestamp: "2026-11-26T07:59:00Z", LastTimestamp: "2026-11-26T07:59:00Z" }, pulled] })
      const step = decide(observe({ imageCache: following({ phase: "Creating", events: [seen] }), caches: [c] }))
      expect(step._tag === "Sync" ? step.events.map((e) => e.reason) : []).toEqual(["Pulled"])
      expect(step._tag === "Sync" ? (step.status?.["events"] as Array<unknown>).length : 0).toBe(2)
    })
    it("looks again at a Ready cache's expiry", () => {
      const step = decide(observe({ imageCache: following({ phase: "Ready" }), caches: [cache({ ExpireDateTime: "2026-11-26T09:00:00Z" })] }))
      expect(step).toMatchObject({ _tag: "Sync", recheckInMs: 3_600_000 })
    })
    it("replaces a Ready cache past its retention (deleting it first)", () => {
      const step = decide(observe({ imageCache: following({ phase: "Ready" }), caches: [cache({ ExpireDateTime: "2026-11-26T07:59:59Z" })] }))
      expect(step).toEqual({ _tag: "Recreate", cacheId: "imc-1", reason: "Expired", deleteOld: true })
    })
    it("mirrors a Failed build with its reason; a failed cache's expiry is not a reason to rebuild", () => {
      const failed = cache({
        Status: "Failed",
        Progress: "50%",
        ExpireDateTime: "2026-11-26T07:00:00Z",
        Events: [{ Type: "Warning", Reason: "Failed", Message: `Failed to pull image "x": not found`, FirstTimestamp: "2026-11-26T07:00:00Z" }]
      })
      const step = decide(observe({ imageCache: following({ phase: "Creating" }), caches: [failed] }))
      expect(step).toMatchObject({ _tag: "Sync", status: { phase: "Failed", reason: "ImageNotFound", message: `Failed to pull image "x": not found` } })
    })
    it("does not write a view older than the status (another replica is ahead)", () => {
      const stale = cache({ Status: "Creating", Progress: "60%" })
      expect(tagOf({ imageCache: following({ phase: "Ready", progress: "100%" }), caches: [stale] })).toBe("Nothing")
      expect(tagOf({ imageCache: following({ phase: "Creating", progress: "80%" }), caches: [stale] })).toBe("Nothing")
    })
  })

  describe("a cache that is not where the status says", () => {
    const following = ic({ status: { phase: "Ready", imageCacheId: "imc-1" } })
    it("waits for the first full listing before reading anything into an absence", () => {
      expect(tagOf({ imageCache: following, listed: false })).toBe("Nothing")
    })
    it("confirms the absence with a direct describe", () => {
      expect(decide(observe({ imageCache: following }))).toEqual({ _tag: "ConfirmGone", cacheId: "imc-1" })
    })
    it("builds it again once the absence is confirmed", () => {
      expect(decide(observe({ imageCache: following, goneConfirmed: new Set(["imc-1"]) }))).toEqual({
        _tag: "Recreate",
        cacheId: "imc-1",
        reason: "Vanished",
        deleteOld: false
      })
    })
    it("leaves a Failed one alone: ECI dropped the failed cache, the failure stands", () => {
      const failed = ic({ status: { phase: "Failed", imageCacheId: "imc-1", reason: "ImageNotFound" } })
      expect(tagOf({ imageCache: failed, goneConfirmed: new Set(["imc-1"]) })).toBe("Nothing")
    })
  })

  describe("deletion", () => {
    it("deletes every cache it knows of (status and UID tag), then releases the finalizer", () => {
      const imageCache = ic({ deleting: true, status: { imageCacheId: "imc-1" } })
      const step = decide(observe({ imageCache, caches: [cache({ ImageCacheId: "imc-2" }), cache({ ImageCacheId: "imc-x", uid: "uid-2" })] }))
      expect(step).toEqual({ _tag: "Finalize", knownIds: ["imc-1", "imc-2"] })
    })
    it("finalizes even before anything was listed (a fresh lookup happens in the step)", () => {
      expect(decide(observe({ imageCache: ic({ deleting: true }), listed: false }))).toEqual({ _tag: "Finalize", knownIds: [] })
    })
    it("without our finalizer there is nothing of ours to clean up", () => {
      expect(tagOf({ imageCache: ic({ deleting: true, finalizer: false, otherFinalizers: ["example.com/other"] }) })).toBe("Nothing")
    })
  })
})

describe("garbage collection", () => {
  const nowMs = Date.parse("2026-11-26T08:00:00Z")
  const old = "2026-11-26T07:00:00Z"
  const young = "2026-11-26T07:59:30Z"
  const gc = (caches: ReadonlyArray<CacheView>, owners: ReadonlyArray<[string, string | undefined]>, resourcesSynced = true) =>
    orphanedCaches({ caches, owners: new Map(owners), resourcesSynced, nowMs, safetyMs: 120_000 }).map((c) => c.ImageCacheId)

  it.each<[string, ReadonlyArray<CacheView>, ReadonlyArray<[string, string | undefined]>, ReadonlyArray<string>]>([
    ["no resource has its UID", [cache({ ImageCacheId: "imc-a", uid: "gone", CreationTime: old })], [], ["imc-a"]],
    ["its resource follows it", [cache({ ImageCacheId: "imc-a", CreationTime: old })], [[UID, "imc-a"]], []],
    ["its resource follows another (a duplicate, an old generation)", [cache({ ImageCacheId: "imc-b", CreationTime: old })], [[UID, "imc-a"]], ["imc-b"]],
    ["its resource follows none yet (it may adopt this one)", [cache({ ImageCacheId: "imc-a", CreationTime: old })], [[UID, undefined]], []],
    ["too young: its resource may not have reached us", [cache({ ImageCacheId: "imc-a", uid: "gone", CreationTime: young })], [], []],
    ["no creation time: cannot tell its age", [cache({ ImageCacheId: "imc-a", uid: "gone", CreationTime: "" })], [], []],
    ["no UID tag: not ours to judge", [{ ...cache({ ImageCacheId: "imc-a", CreationTime: old }), Tags: [{ Key: IMAGE_CACHE_TAGS.clusterId, Value: "c1" }] }], [], []]
  ])("%s", (_, caches, owners, expected) => {
    expect(gc(caches, owners)).toEqual(expected)
  })

  it("collects nothing before the resources were listed", () => {
    expect(gc([cache({ ImageCacheId: "imc-a", uid: "gone", CreationTime: old })], [], false)).toEqual([])
  })
})
