import { Duration, Effect, Schedule } from "effect"
import { loggingLayer } from "../../src/observability/logging.ts"

/**
 * Polls `read` until `done` holds, every 10 ms, failing after `within` (live clock). For effects
 * that finish in a background fiber; not a fixed sleep: it returns as soon as the condition holds.
 */
export const eventually = <A, E, R>(read: Effect.Effect<A, E, R>, done: (a: A) => boolean, within: Duration.Input = "5 seconds") =>
  read.pipe(
    Effect.filterOrFail(done, (a) => new Error(`condition not met; last value: ${JSON.stringify(a)}`)),
    Effect.retry(Schedule.spaced("10 millis")),
    Effect.timeoutOrElse({
      duration: Duration.fromInputUnsafe(within),
      orElse: () => Effect.flatMap(read, (a) => Effect.die(new Error(`condition not met within ${Duration.format(Duration.fromInputUnsafe(within))}; last value: ${JSON.stringify(a)}`)))
    })
  )

/** JSON log lines in an array, through the product's own logger. */
export const captureLogs = () => {
  const lines: Array<Record<string, unknown>> = []
  const layer = loggingLayer({ format: "json", level: "info", write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { lines, layer }
}
