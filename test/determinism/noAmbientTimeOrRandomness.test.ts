import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"

/**
 * The deterministic simulation replays a run from its seed only if every clock read, timer and
 * random draw in src/ goes through Effect (Clock, Schedule, Random). This test reads the sources
 * and fails on ambient ones. A file at a true platform edge (a process launcher, a socket server's
 * deadlines) opts out with a first-lines comment `// platform-edge: <why>`, which reviewers see.
 */
const forbidden: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bDate\.now\s*\(/, "Date.now() — use Clock.currentTimeMillis"],
  [/\bnew Date\(\s*\)/, "new Date() — use Clock / DateTime.now"],
  [/\bperformance\.now\s*\(/, "performance.now() — use Clock.currentTimeNanos"],
  [/\bMath\.random\s*\(/, "Math.random() — use the Random service"],
  [/\b(randomUUID|randomBytes|randomInt|getRandomValues)\s*\(/, "crypto randomness — use the Random service"],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, "timers — use Effect.sleep / Schedule"]
]

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith(".ts") ? [path] : []
  })

/** Blank out comments and string literals so prose about Date.now does not count. */
const code = (text: string) =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/\/\/.*$/gm, "")
    .replace(/(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g, (m) => m.replace(/./g, " "))

const root = join(import.meta.dirname, "../../src")

describe("src/ reads no wall clock, timer or randomness outside Effect", () => {
  const files = sourceFiles(root)

  it("finds the sources", () => {
    expect(files.length).toBeGreaterThan(5)
  })

  it("has no ambient time or randomness except in declared platform edges", () => {
    const violations: Array<string> = []
    for (const file of files) {
      const text = readFileSync(file, "utf8")
      if (/^\/\/ platform-edge: \S/m.test(text.split("\n").slice(0, 5).join("\n"))) continue
      code(text).split("\n").forEach((line, i) => {
        for (const [pattern, why] of forbidden) {
          if (pattern.test(line)) violations.push(`${relative(root, file)}:${i + 1}: ${why}`)
        }
      })
    }
    expect(violations).toEqual([])
  })

  it("would catch a violation (the scanner itself works)", () => {
    const sample = code("const t = Date.now()\n// Date.now() in a comment is fine\nconst s = \"Math.random()\"\nsetTimeout(f, 1)")
    const hits = sample.split("\n").flatMap((line) => forbidden.filter(([p]) => p.test(line)).map(([, why]) => why))
    expect(hits).toEqual(["Date.now() — use Clock.currentTimeMillis", "timers — use Effect.sleep / Schedule"])
  })
})
