import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { metricsText } from "../../src/observability/metricsServer.ts"
import { ProcessMetricsLive } from "../../src/observability/processMetrics.ts"

const valueOf = (text: string, name: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
}

describe("process metrics", () => {
  it.effect("put the process's resident memory, heap and event-loop delay on /metrics as soon as it starts", () =>
    Effect.gen(function*() {
      const text = yield* metricsText.pipe(Effect.provide(Layer.empty))
      const rss = valueOf(text, "process_resident_memory_bytes")
      assert.isDefined(rss)
      assert.isAbove(rss!, 10_000_000) // a Node process is tens of MB at least
      assert.isAbove(valueOf(text, "nodejs_heap_used_bytes")!, 0)
      assert.isAtLeast(valueOf(text, "nodejs_heap_total_bytes")!, valueOf(text, "nodejs_heap_used_bytes")!)
      assert.match(text, /nodejs_eventloop_delay_seconds\{quantile="0\.99"\} \d/)
    }).pipe(Effect.provide(ProcessMetricsLive()), Effect.scoped))
})
