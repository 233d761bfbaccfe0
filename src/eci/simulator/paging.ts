import { Faults } from "./failures.ts"
import type { Fields } from "./fields.ts"
import type { Tag } from "./state.ts"

/**
 * Cursor paging, newest first. The NextToken names the last item returned (by creation sequence),
 * so a page never repeats or skips an item that existed when the listing started, even if
 * instances are created or released between the calls.
 */
export const pageOf = <T extends { readonly seq: number }>(
  items: ReadonlyArray<T>,
  f: Fields,
  limits: { readonly default: number; readonly max: number }
): { readonly page: ReadonlyArray<T>; readonly nextToken: string } => {
  const limit = f.int("Limit") ?? limits.default
  if (limit < 1 || limit > limits.max) throw Faults.invalidParameter("Limit", `1 to ${limits.max}`)
  const token = f.str("NextToken")
  let after = Number.POSITIVE_INFINITY
  if (token !== undefined && token !== "") {
    const m = /^cursor-([0-9a-z]+)$/.exec(token)
    if (m === null) throw Faults.invalidParameter("NextToken", "not a token returned by this API")
    after = Number.parseInt(m[1]!, 36)
  }
  const sorted = [...items].sort((a, b) => b.seq - a.seq).filter((x) => x.seq < after)
  const page = sorted.slice(0, limit)
  const last = page.at(-1)
  return { page, nextToken: sorted.length > limit && last !== undefined ? `cursor-${last.seq.toString(36)}` : "" }
}

/**
 * Tag filters (assumption, reference §1.3 leaves it UNCONFIRMED): every filter tag must match (AND);
 * a filter without a Value matches any value of its key.
 */
export const matchesTags = (tags: ReadonlyArray<Tag>, filter: ReadonlyArray<Fields>): boolean =>
  filter.every((t) => {
    const key = t.requiredStr("Key")
    const value = t.str("Value")
    return tags.some((x) => x.key === key && (value === undefined || x.value === value))
  })
