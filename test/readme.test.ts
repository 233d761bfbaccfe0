import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { configTable } from "../src/config/table.ts"

const readme = readFileSync(join(import.meta.dirname, "../README.md"), "utf8")

describe("the README", () => {
  it("holds the configuration table generated from the settings (node tools/config-table.ts)", () => {
    const between = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1]
    expect(between).toBe(configTable())
  })

  it("names the two commands of the contract with its users", () => {
    expect(readme).toContain("npm ci && npm start")
    expect(readme).toContain("npm ci && npm test")
  })
})
