import { Effect } from "effect"
import { Eci } from "../eci/Eci.ts"
import { allPages, tagFilter } from "../eci/queries.ts"
import type { EciError } from "../eci/errors.ts"
import type { CacheView } from "./identity.ts"

/**
 * DescribeImageCaches as the controller uses it. ECI pages caches (eci-reference §1.10, `Limit` +
 * `NextToken`); we ask for 100 a page (the simulator's documented maximum; UNCONFIRMED for ECI), so
 * following every cache of a cluster costs one call per 100 caches.
 */
export const PAGE_SIZE = 100

/** Every cache carrying all these tags, page by page. */
export const listCachesByTags = (tags: Readonly<Record<string, string>>): Effect.Effect<ReadonlyArray<CacheView>, EciError, Eci> =>
  Eci.use((eci) =>
    allPages((nextToken) =>
      eci.call("DescribeImageCaches", {
        Tag: tagFilter(tags),
        Limit: PAGE_SIZE,
        ...(nextToken === undefined ? {} : { NextToken: nextToken })
      }).pipe(Effect.map((page) => ({ items: page.ImageCaches ?? [], nextToken: page.NextToken })))
    )
  )

/** The cache with this id, or undefined when ECI no longer has it (DescribeImageCaches omits unknown ids). */
export const describeCache = (id: string): Effect.Effect<CacheView | undefined, EciError, Eci> =>
  Eci.use((eci) => eci.call("DescribeImageCaches", { ImageCacheId: id })).pipe(
    Effect.map((r) => (r.ImageCaches ?? []).find((c) => c.ImageCacheId === id))
  )

/** DeleteImageCache; a cache that is already gone counts as deleted. */
export const deleteCache = (id: string): Effect.Effect<void, EciError, Eci> =>
  Eci.use((eci) => eci.call("DeleteImageCache", { ImageCacheId: id })).pipe(
    Effect.asVoid,
    Effect.catchTag("EciNotFound", () => Effect.void)
  )
