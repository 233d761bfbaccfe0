import { Effect } from "effect"
import type { DescribeContainerGroupsResponseBodyContainerGroups } from "./api.generated.ts"
import { Eci } from "./Eci.ts"
import type { EciError } from "./errors.ts"

export type ContainerGroup = DescribeContainerGroupsResponseBodyContainerGroups

/** ECI's page and id-batch limit for DescribeContainerGroups (eci-reference §1.3). */
export const describeBatchSize = 20

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * The groups with these ids, 20 per call. An id ECI no longer knows (deleted, or past the retention
 * window) is simply absent from the answer: callers decide what absence means.
 */
export const describeGroupsByIds = (
  ids: ReadonlyArray<string>,
  options: { readonly concurrency?: number } = {}
): Effect.Effect<ReadonlyArray<ContainerGroup>, EciError, Eci> =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const unique = [...new Set(ids)]
    const pages = yield* Effect.forEach(
      chunks(unique, describeBatchSize),
      (batch) => eci.call("DescribeContainerGroups", { ContainerGroupIds: JSON.stringify(batch), Limit: describeBatchSize, WithEvent: true }),
      { concurrency: options.concurrency ?? 4 }
    )
    return pages.flatMap((page) => page.ContainerGroups ?? [])
  })

/**
 * Follows ECI's `NextToken` paging (DescribeContainerGroups, DescribeImageCaches): `fetch` gets the
 * token of the page to read (undefined for the first) and answers that page's items and next token.
 */
export const allPages = <A>(
  fetch: (nextToken: string | undefined) => Effect.Effect<{ readonly items: ReadonlyArray<A>; readonly nextToken?: string | undefined }, EciError, Eci>
): Effect.Effect<ReadonlyArray<A>, EciError, Eci> =>
  Effect.gen(function*() {
    const out: Array<A> = []
    let nextToken: string | undefined
    do {
      const page = yield* fetch(nextToken)
      out.push(...page.items)
      nextToken = page.nextToken === undefined || page.nextToken === "" ? undefined : page.nextToken
    } while (nextToken !== undefined)
    return out
  })

/** ECI's tag filter for a map of tags. */
export const tagFilter = (tags: Readonly<Record<string, string>>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))

/** The DescribeContainerGroups request for one page of the groups carrying all these tags. */
const byTagsPage = (tags: Readonly<Record<string, string>>, nextToken: string | undefined) => ({
  Tag: tagFilter(tags),
  Limit: describeBatchSize,
  // Events are what pod Events, OOM and NoStock reasons and the matched image cache come from.
  WithEvent: true,
  ...(nextToken === undefined ? {} : { NextToken: nextToken })
})

/** Every group carrying all these tags, following NextToken page by page (20 a page). */
export const listGroupsByTags = (
  tags: Readonly<Record<string, string>>
): Effect.Effect<ReadonlyArray<ContainerGroup>, EciError, Eci> =>
  Eci.use((eci) =>
    allPages((nextToken) =>
      eci.call("DescribeContainerGroups", byTagsPage(tags, nextToken))
        .pipe(Effect.map((page) => ({ items: page.ContainerGroups ?? [], nextToken: page.NextToken })))
    )
  )

/**
 * `listGroupsByTags` a page at a time: `onPage` handles each page's groups as it arrives and nothing
 * keeps the whole list, which for a node's 10,000 groups is ~60 MB as ECI answers it (the group
 * cache keeps ~2 KB of each).
 */
export const forEachPageOfGroupsByTags = <E, R>(
  tags: Readonly<Record<string, string>>,
  onPage: (groups: ReadonlyArray<ContainerGroup>) => Effect.Effect<void, E, R>
): Effect.Effect<void, EciError | E, Eci | R> =>
  Effect.gen(function*() {
    const eci = yield* Eci
    let nextToken: string | undefined
    do {
      const page = yield* eci.call("DescribeContainerGroups", byTagsPage(tags, nextToken))
      yield* onPage(page.ContainerGroups ?? [])
      nextToken = page.NextToken === undefined || page.NextToken === "" ? undefined : page.NextToken
    } while (nextToken !== undefined)
  })
