import { describe, expect, it } from "vitest"
import { expand } from "../../src/translate/expansion.ts"

const vars: Record<string, string> = { VAR_A: "A", VAR_B: "B", EMPTY: "" }
const lookup = (n: string) => vars[n]

describe("$(VAR) expansion, as the kubelet does it (third_party/forked/golang/expansion)", () => {
  it.each([
    ["$(VAR_A)", "A"],
    ["___$(VAR_B)___", "___B___"],
    ["$(VAR_A)$(VAR_B)", "AB"],
    ["$(EMPTY)x", "x"],
    ["$$(VAR_A)", "$(VAR_A)"],
    ["$$$(VAR_A)", "$A"],
    ["$$$$$$(VAR_A)", "$$$(VAR_A)"],
    ["$(VAR_A) $$(VAR_B)", "A $(VAR_B)"],
    ["$$$$", "$$"],
    ["$(VAR_DNE)", "$(VAR_DNE)"],
    ["$(VAR_A", "$(VAR_A"],
    ["$VAR_A", "$VAR_A"],
    ["$ (VAR_A)", "$ (VAR_A)"],
    ["$()", "$()"],
    ["$(", "$("],
    ["$)", "$)"],
    ["$", "$"],
    ["no refs", "no refs"],
    ["", ""]
  ])("%j → %j", (input, output) => {
    expect(expand(input, lookup)).toBe(output)
  })
})
