import { describe, expect, it } from "vitest"
import { internStrings, makeInterner } from "../../src/common/intern.ts"

describe("string interning (what caches keep by the thousand)", () => {
  it("leaves an object equal to what it was: models, arrays, Dates, shared and cyclic parts, long strings", () => {
    class Model {
      name = "app"
      image = "nginx:1.27"
      startedAt = new Date("2030-01-01T00:00:00Z")
    }
    const shared = { reason: "Started", message: "Started container app" }
    const o: Record<string, unknown> = {
      model: new Model(),
      list: ["Ready", "True", 7, null, undefined, shared],
      again: shared,
      long: "x".repeat(1000),
      nested: { deeper: { value: "cn-hangzhou-e" } }
    }
    o["self"] = o
    const copy = structuredClone({ ...o, self: undefined })
    const out = internStrings(o)
    expect(out).toBe(o)
    expect({ ...out, self: undefined }).toEqual(copy)
    expect(out["model"]).toBeInstanceOf(Model)
    expect((out["model"] as Model).startedAt).toBeInstanceOf(Date)
  })

  it("interns short strings only, and never changes a frozen object", () => {
    const interner = makeInterner(100)
    internStrings({ a: "short", b: "y".repeat(257), c: Object.freeze({ d: "inside a frozen object" }) }, interner)
    expect(interner.size()).toBe(1)
  })

  it("holds at most two generations: strings seen once age out, strings that recur stay", () => {
    const interner = makeInterner(10)
    for (let i = 0; i < 1000; i++) {
      interner.intern(`unique-${i}`)
      interner.intern("nginx:1.27")
      expect(interner.size()).toBeLessThanOrEqual(20)
    }
    expect(interner.intern("nginx:1.27")).toBe("nginx:1.27")
  })
})
