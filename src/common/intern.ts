/**
 * String interning for objects a cache keeps by the thousand. Every pod from the watch and every group
 * from DescribeContainerGroups arrives with its own copies of the same strings (the image, the node
 * name, the vSwitch, "ContainersReady", "Pulling image …"): a heap snapshot at 10,000 bench pods had
 * 35 MB of duplicate strings out of 138 MB live. `internStrings` replaces each short string of an
 * object, in place, with one canonical copy.
 *
 * The table is bounded: two generations of at most `generationSize` strings each. A lookup that
 * hits the old generation promotes the string; when the young one is full the old one is dropped.
 * Strings that recur (shared by many objects) stay; strings seen once (UIDs, names, addresses) age out
 * after two generations, so the table never holds more than 2 × `generationSize` strings.
 */
export interface Interner {
  readonly intern: (s: string) => string
  /** Strings held now (both generations). */
  readonly size: () => number
}

export const makeInterner = (generationSize = 20_000): Interner => {
  let young = new Map<string, string>()
  let old = new Map<string, string>()
  const intern = (s: string): string => {
    const hit = young.get(s)
    if (hit !== undefined) return hit
    const canonical = old.get(s) ?? s
    if (young.size >= generationSize) {
      old = young
      young = new Map()
    }
    young.set(canonical, canonical)
    return canonical
  }
  return { intern, size: () => young.size + old.size }
}

/** Longer strings (a Secret's data, an event's long message) are rarely shared: left as they are. */
const MAX_LENGTH = 256

const shared = makeInterner()

/**
 * Replaces, in place, every string up to 256 characters in `value` (plain objects, class instances
 * such as client-node's models, arrays; not Dates, Maps or typed arrays) with its interned copy, and
 * returns `value`. Objects already visited (a shared sub-object) are walked once; frozen ones are left.
 */
export const internStrings = <T>(value: T, interner: Interner = shared): T => {
  const seen = new Set<object>()
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.length <= MAX_LENGTH ? interner.intern(v) : v
    if (typeof v !== "object" || v === null || seen.has(v) || Object.isFrozen(v)) return v
    if (v instanceof Date || v instanceof Map || v instanceof Set || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v
    seen.add(v)
    // Strings are written back whatever `===` says: it compares their contents, not which copy it is.
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i]
        if (typeof x === "string") v[i] = walk(x)
        else walk(x)
      }
      return v
    }
    const o = v as Record<string, unknown>
    for (const k of Object.keys(o)) {
      const x = o[k]
      if (typeof x === "string") o[k] = walk(x)
      else walk(x)
    }
    return v
  }
  return walk(value) as T
}
