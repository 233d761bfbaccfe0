import { monitorEventLoopDelay } from "node:perf_hooks"
import { type Duration, Effect, Layer, Metric } from "effect"

/**
 * The process's own health on `/metrics`, sampled every few seconds: resident memory and V8 heap
 * (the RSS budget is what a node with 10,000 pods must stay within), and the event-loop delay —
 * a loop blocked for 200 ms delays every watch event, create and status write by as much.
 * A platform edge: the figures come from Node's `process` and `perf_hooks`.
 */
export const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "resident set size of the process" })
export const heapUsed = Metric.gauge("nodejs_heap_used_bytes", { description: "V8 heap in use" })
export const heapTotal = Metric.gauge("nodejs_heap_total_bytes", { description: "V8 heap reserved" })
export const eventLoopDelay = Metric.gauge("nodejs_eventloop_delay_seconds", {
  description: "event-loop delay over the last sampling period, by quantile (p50, p99, max)"
})

export interface ProcessSample {
  readonly rssBytes: number
  readonly heapUsedBytes: number
  readonly heapTotalBytes: number
  /** Event-loop delay in seconds since the previous sample. */
  readonly delay: { readonly p50: number; readonly p99: number; readonly max: number }
}

/** Publishes one sample on the gauges. */
export const recordSample = (s: ProcessSample) =>
  Effect.all([
    Metric.update(residentMemory, s.rssBytes),
    Metric.update(heapUsed, s.heapUsedBytes),
    Metric.update(heapTotal, s.heapTotalBytes),
    Metric.update(Metric.withAttributes(eventLoopDelay, { quantile: "0.5" }), s.delay.p50),
    Metric.update(Metric.withAttributes(eventLoopDelay, { quantile: "0.99" }), s.delay.p99),
    Metric.update(Metric.withAttributes(eventLoopDelay, { quantile: "1" }), s.delay.max)
  ], { discard: true })

/** Samples every `every` for as long as the layer lives (every replica, leader or not). */
export const ProcessMetricsLive = (every: Duration.Input = "5 seconds") =>
  Layer.effectDiscard(Effect.gen(function*() {
    const histogram = monitorEventLoopDelay({ resolution: 10 })
    histogram.enable()
    yield* Effect.addFinalizer(() => Effect.sync(() => histogram.disable()))
    const sample = Effect.suspend(() => {
      const memory = process.memoryUsage()
      const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0)
      const s: ProcessSample = {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        heapTotalBytes: memory.heapTotal,
        delay: { p50: seconds(histogram.percentile(50)), p99: seconds(histogram.percentile(99)), max: seconds(histogram.max) }
      }
      histogram.reset()
      return recordSample(s)
    })
    yield* sample // on /metrics from the start
    yield* Effect.forkScoped(Effect.sleep(every).pipe(Effect.andThen(sample), Effect.forever))
  }))
