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

/** Every group carrying all these tags, following NextToken page by page (20 a page). */
export const listGroupsByTags = (
  tags: Readonly<Record<string, string>>
): Effect.Effect<ReadonlyArray<ContainerGroup>, EciError, Eci> =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const Tag = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
    const out: Array<ContainerGroup> = []
    let nextToken: string | undefined
    do {
      const page = yield* eci.call("DescribeContainerGroups", {
        Tag,
        Limit: describeBatchSize,
        // Events are what pod Events, OOM and NoStock reasons and the matched image cache come from.
        WithEvent: true,
        ...(nextToken === undefined ? {} : { NextToken: nextToken })
      })
      out.push(...(page.ContainerGroups ?? []))
      nextToken = page.NextToken === undefined || page.NextToken === "" ? undefined : page.NextToken
    } while (nextToken !== undefined)
    return out
  })
