/**
 * CreateImageCache / DescribeImageCaches / DeleteImageCache (reference §1.10, §5.7). A cache's
 * status is a function of its age: Preparing (builder instance starting), Creating with Progress
 * counting up to 100%, then Ready; a cache holding an image that cannot be pulled (its reference
 * contains `does-not-exist`) goes Failed half-way and expires a day later, as ECI keeps failed caches.
 */
import type { DescribeImageCachesResponseBodyImageCaches as CacheView } from "../api.generated.ts"
import type { Timings } from "./config.ts"
import { Faults } from "./failures.ts"
import { Fields } from "./fields.ts"
import { unpullableImage } from "./lifecycle.ts"
import { matchesTags, pageOf } from "./paging.ts"
import type { Tag } from "./state.ts"
import { checkGroupName, splitIds, validateClientToken, validateTags } from "./validation.ts"
import { rfc3339 } from "./views.ts"

export interface ImageCache {
  readonly id: string
  readonly seq: number
  readonly regionId: string
  readonly name: string
  readonly createdAt: number
  readonly images: ReadonlyArray<string>
  readonly size: number
  readonly retentionDays: number | undefined
  readonly eliminationStrategy: string | undefined
  readonly tags: ReadonlyArray<Tag>
  /** The temporary instance ECI builds the cache with (not listed by DescribeContainerGroups here). */
  readonly builderId: string
  readonly snapshotId: string
  readonly request: Readonly<Record<string, unknown>>
}

export interface CachePlan {
  readonly regionId: string
  readonly name: string
  readonly images: ReadonlyArray<string>
  readonly size: number
  readonly retentionDays: number | undefined
  readonly eliminationStrategy: string | undefined
  readonly tags: ReadonlyArray<Tag>
  readonly clientToken: string | undefined
  readonly vSwitchIds: ReadonlyArray<string>
  readonly securityGroupId: string
}

const dayMs = 86_400_000

export const validateCreateCache = (raw: unknown): CachePlan => {
  const f = new Fields(raw)
  const regionId = f.requiredStr("RegionId")
  const name = checkGroupName(f, "ImageCacheName")
  const images = f.strList("Image") ?? []
  if (images.length === 0) throw Faults.missingParameter("Image")
  if (images.length > 20) throw Faults.invalidParameter("Image", "at most 20 images")
  images.forEach((image, k) => {
    if (image.trim() === "") throw Faults.invalidParameter(`Image.${k + 1}`, "an image reference is expected")
  })
  // Assumption: both are required, as the API page marks them and the builder instance needs a network.
  const securityGroupId = f.requiredStr("SecurityGroupId")
  f.requiredStr("VSwitchId")
  const vSwitchIds = splitIds(f, "VSwitchId", "vsw", 10)
  if (!securityGroupId.startsWith("sg-")) throw Faults.securityGroupNotFound(securityGroupId)
  const size = f.int("ImageCacheSize") ?? 20
  if (size < 20 || size > 32768) throw Faults.invalidParameter("ImageCacheSize", "20 to 32768 GiB")
  const retentionDays = f.int("RetentionDays")
  if (retentionDays !== undefined && retentionDays < 1) throw Faults.invalidParameter("RetentionDays", "at least 1")
  const elimination = f.str("EliminationStrategy")
  if (elimination !== undefined && elimination !== "" && elimination !== "LRU") {
    throw Faults.invalidParameter("EliminationStrategy", "only LRU is supported")
  }
  return {
    regionId,
    name,
    images,
    size,
    retentionDays,
    eliminationStrategy: elimination === "" ? undefined : elimination,
    tags: validateTags(f) ?? [],
    clientToken: validateClientToken(f),
    vSwitchIds,
    securityGroupId
  }
}

export interface CacheState {
  readonly status: "Preparing" | "Creating" | "Ready" | "Failed"
  readonly progress: number
  /** When the cache became Ready or Failed. */
  readonly settledAt: number | undefined
}

export const cacheState = (c: ImageCache, now: number, t: Timings): CacheState => {
  const age = now - c.createdAt
  const failing = c.images.some(unpullableImage)
  if (age < t.imageCachePrepareMs) return { status: "Preparing", progress: 0, settledAt: undefined }
  const failAt = t.imageCachePrepareMs + Math.floor(t.imageCacheBuildMs / 2)
  if (failing && age >= failAt) return { status: "Failed", progress: 50, settledAt: c.createdAt + failAt }
  const built = age - t.imageCachePrepareMs
  if (built < t.imageCacheBuildMs) {
    return { status: "Creating", progress: Math.min(99, Math.floor((built / t.imageCacheBuildMs) * 100)), settledAt: undefined }
  }
  return { status: "Ready", progress: 100, settledAt: c.createdAt + t.imageCachePrepareMs + t.imageCacheBuildMs }
}

const expiresAt = (c: ImageCache, s: CacheState): number | undefined =>
  s.status === "Failed" && s.settledAt !== undefined
    ? s.settledAt + dayMs
    : c.retentionDays === undefined
    ? undefined
    : c.createdAt + c.retentionDays * dayMs

const cacheView = (c: ImageCache, now: number, t: Timings): CacheView => {
  const s = cacheState(c, now, t)
  const expire = expiresAt(c, s)
  const events: Array<{ at: number; type: string; reason: string; message: string }> = [
    { at: c.createdAt, type: "Normal", reason: "Preparing", message: `Image cache ${c.id} is being prepared` }
  ]
  if (s.status !== "Preparing") {
    const pullAt = c.createdAt + t.imageCachePrepareMs
    for (const image of c.images) events.push({ at: pullAt, type: "Normal", reason: "Pulling", message: `Pulling image "${image}"` })
  }
  if (s.status === "Ready" && s.settledAt !== undefined) {
    for (const image of c.images) events.push({ at: s.settledAt, type: "Normal", reason: "Pulled", message: `Successfully pulled image "${image}"` })
    events.push({ at: s.settledAt, type: "Normal", reason: "Created", message: `Image cache ${c.id} is ready` })
  }
  if (s.status === "Failed" && s.settledAt !== undefined) {
    for (const image of c.images.filter(unpullableImage)) {
      events.push({ at: s.settledAt, type: "Warning", reason: "Failed", message: `Failed to pull image "${image}": not found` })
    }
  }
  return {
    ImageCacheId: c.id,
    ImageCacheName: c.name,
    RegionId: c.regionId,
    Status: s.status,
    Progress: `${s.progress}%`,
    Images: c.images,
    ImageCacheSize: c.size,
    SnapshotId: s.status === "Ready" ? c.snapshotId : "",
    FlashSnapshotId: "",
    ContainerGroupId: c.builderId,
    CreationTime: rfc3339(c.createdAt),
    ExpireDateTime: expire === undefined ? "" : rfc3339(expire),
    LastMatchedTime: "",
    EliminationStrategy: c.eliminationStrategy ?? "",
    ResourceGroupId: "",
    Tags: c.tags.map((x) => ({ Key: x.key, Value: x.value })),
    Events: events.map((e) => ({
      Type: e.type,
      Reason: e.reason,
      Message: e.message,
      Name: c.id,
      Count: 1,
      FirstTimestamp: rfc3339(e.at),
      LastTimestamp: rfc3339(e.at)
    }))
  }
}

/** The image caches of all regions. */
export class ImageCaches {
  private readonly caches = new Map<string, ImageCache>()

  add(c: ImageCache) {
    this.caches.set(c.id, c)
  }

  get(id: string): ImageCache | undefined {
    return this.caches.get(id)
  }

  delete(id: string): boolean {
    return this.caches.delete(id)
  }

  clear() {
    this.caches.clear()
  }

  /** Caches past their expiry are gone (RetentionDays, or a day after failing). */
  purge(now: number, t: Timings) {
    for (const c of [...this.caches.values()]) {
      const expire = expiresAt(c, cacheState(c, now, t))
      if (expire !== undefined && now >= expire) this.caches.delete(c.id)
    }
  }

  /** A Ready cache of the region holding every image, newest first (AutoMatchImageCache). */
  match(regionId: string, images: ReadonlyArray<string>, now: number, t: Timings): ImageCache | undefined {
    return [...this.caches.values()]
      .filter((c) => c.regionId === regionId && cacheState(c, now, t).status === "Ready")
      .filter((c) => images.every((image) => c.images.includes(image)))
      .sort((a, b) => b.seq - a.seq)[0]
  }

  isReady(id: string, now: number, t: Timings): boolean {
    const c = this.caches.get(id)
    return c !== undefined && cacheState(c, now, t).status === "Ready"
  }

  describe(raw: unknown, now: number, t: Timings) {
    const f = new Fields(raw)
    const regionId = f.requiredStr("RegionId")
    const id = f.str("ImageCacheId")
    const ids = id === undefined || id === "" ? undefined : id.split(",").map((s) => s.trim())
    const name = f.str("ImageCacheName")
    const snapshotId = f.str("SnapshotId")
    const image = f.str("Image")
    const matchImages = f.strList("MatchImage") ?? []
    const fullMatch = f.bool("ImageFullMatch") ?? false
    const matchCount = f.int("ImageMatchCountRequest")
    const tags = f.list("Tag") ?? []
    let found = [...this.caches.values()].filter((c) =>
      c.regionId === regionId
      && (ids === undefined || ids.includes(c.id))
      && (name === undefined || name === "" || c.name === name)
      && (snapshotId === undefined || snapshotId === "" || (cacheState(c, now, t).status === "Ready" && c.snapshotId === snapshotId))
      && (image === undefined || image === "" || c.images.includes(image))
      && matchImages.every((m) => c.images.includes(m))
      && (!fullMatch || matchImages.length === 0 || (c.images.length === matchImages.length))
      && matchesTags(c.tags, tags)
    )
    if (matchImages.length > 0 && matchCount !== undefined) found = found.slice(0, Math.max(1, matchCount))
    // Assumption: Limit defaults to 10 and may be at most 100 (UNCONFIRMED).
    const { page, nextToken } = pageOf(found, f, { default: 10, max: 100 })
    return { ImageCaches: page.map((c) => cacheView(c, now, t)), NextToken: nextToken, TotalCount: found.length }
  }
}
