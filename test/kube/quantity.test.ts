import { assert, describe, it } from "@effect/vitest"
import { canonicalQuantity } from "../../src/kube/inMemory/quantity.ts"

// Each pair is what kube-apiserver v1.36.3 stored for the input (checked on the e2e control plane:
// integers as extended resources in a Node's capacity, fractions as container CPU requests).
const cases: ReadonlyArray<readonly [string, string]> = [
  ["5000", "5k"],
  ["1000", "1k"],
  ["1500", "1500"],
  ["0", "0"],
  ["4Ti", "4Ti"],
  ["1024Mi", "1Gi"],
  ["1536Mi", "1536Mi"],
  ["100Ki", "100Ki"],
  ["0.5Ki", "512"],
  ["1.5Ki", "1536"],
  ["2Ei", "2Ei"],
  ["1e3", "1e3"],
  ["12e2", "1200"],
  ["1.5e3", "1500"],
  ["1e21", "1e21"],
  ["2000000", "2M"],
  ["1000k", "1M"],
  ["1k", "1k"],
  ["2048", "2048"],
  ["1G", "1G"],
  ["0.5", "500m"],
  ["100m", "100m"],
  ["1.5", "1500m"],
  ["1.25", "1250m"],
  ["250m", "250m"],
  ["1m", "1m"],
  ["1e-3", "1e-3"],
  ["0.001k", "1"],
  ["0.1Gi", "107374182400m"]
]

describe("resource.Quantity canonical form", () => {
  for (const [input, canonical] of cases) {
    it(`${input} → ${canonical}`, () => {
      assert.strictEqual(canonicalQuantity(input), canonical)
    })
  }

  it("rejects what is not a quantity", () => {
    for (const bad of ["", "abc", "1.2.3", "5 k", "Ki"]) assert.isUndefined(canonicalQuantity(bad), bad)
  })
})
