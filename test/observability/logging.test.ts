import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { loggingLayer } from "../../src/observability/logging.ts"

const capture = (format: "json" | "text", level: "info" | "debug", program: Effect.Effect<void>) => {
  const lines: Array<string> = []
  Effect.runSync(program.pipe(Effect.provide(loggingLayer({ format, level, write: (l) => lines.push(l) }))))
  return lines
}

describe("logging", () => {
  it("writes one JSON object per line with the fiber's context as top-level keys", () => {
    const lines = capture("json", "info", Effect.logInfo("created container group").pipe(
      Effect.annotateLogs({ node: "vk-1", pod: "default/web", action: "CreateContainerGroup", requestId: "REQ-1" })
    ))
    expect(lines).toHaveLength(1)
    const line = JSON.parse(lines[0]!)
    expect(line).toMatchObject({
      level: "info",
      msg: "created container group",
      node: "vk-1",
      pod: "default/web",
      action: "CreateContainerGroup",
      requestId: "REQ-1"
    })
    expect(typeof line.time).toBe("string")
  })

  it("drops lines below the configured level", () => {
    expect(capture("json", "info", Effect.logDebug("noise"))).toEqual([])
    expect(capture("json", "debug", Effect.logDebug("detail"))).toHaveLength(1)
  })

  it("renders a human-readable line for terminals", () => {
    const [line] = capture("text", "info", Effect.logWarning("slow").pipe(Effect.annotateLogs({ pod: "a/b" })))
    expect(line).toMatch(/^\d\d:\d\d:\d\d WARN  slow pod=a\/b$/)
  })

  it("never prints a Redacted value", () => {
    const lines = capture("json", "info", Effect.logInfo("key", { secret: Redacted.make("hunter2") }).pipe(
      Effect.annotateLogs({ accessKeySecret: Redacted.make("hunter2") })
    ))
    expect(lines.join("\n")).not.toContain("hunter2")
  })
})
