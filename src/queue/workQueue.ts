import { Cause, Duration, Effect, FiberMap, Metric, Queue, type Scope } from "effect"

/**
 * A keyed work queue, as client-go's workqueue but in Effect:
 * - latest wins: adding a key that is already waiting does nothing (the worker reads fresh state);
 * - one reconcile in flight per key: a key added while it runs is run once more afterwards;
 * - bounded concurrency (`workers`);
 * - per-key exponential backoff after failures, reset by a success or by `forget`;
 * - delayed re-adds (`addAfter`) for "look again in 5 s", the earliest pending one wins;
 * - `forget` frees everything we hold for a key (a deleted pod leaves nothing behind).
 * Time comes from Effect's Clock (TestClock drives it); no global rate limit here: callers put
 * their rate limits where the cost is (the ECI and Kubernetes clients).
 */
export interface WorkQueue<K> {
  readonly add: (key: K) => Effect.Effect<void>
  readonly addAfter: (key: K, delay: Duration.Input) => Effect.Effect<void>
  readonly forget: (key: K) => Effect.Effect<void>
  /** Keys waiting or in flight. */
  readonly depth: Effect.Effect<number>
  /** Whether a reconcile of `key` is running now. */
  readonly isProcessing: (key: K) => boolean
}

/**
 * What a reconcile asks for: nothing more, another look after a delay, or `then` run once this
 * reconcile no longer counts as in flight (to hand the key to another queue that checks for that).
 */
export type ReconcileOutcome =
  | { readonly _tag: "Done" }
  | { readonly _tag: "RequeueAfter"; readonly delay: Duration.Input }
  | { readonly _tag: "HandOver"; readonly then: Effect.Effect<void> }
export const done: ReconcileOutcome = { _tag: "Done" }
export const requeueAfter = (delay: Duration.Input): ReconcileOutcome => ({ _tag: "RequeueAfter", delay })
export const handOver = (then: Effect.Effect<void>): ReconcileOutcome => ({ _tag: "HandOver", then })

export interface WorkQueueOptions<K, E, R> {
  readonly name: string
  readonly workers: number
  readonly process: (key: K) => Effect.Effect<ReconcileOutcome, E, R>
  readonly backoff?: { readonly base: Duration.Input; readonly max: Duration.Input }
}

const queueDepth = Metric.gauge("eci_vn_workqueue_depth", { description: "keys waiting or in flight, by queue" })
const reconciles = Metric.counter("eci_vn_reconcile_total", { description: "reconciles by queue and outcome" })
const reconcileSeconds = Metric.histogram("eci_vn_reconcile_seconds", {
  description: "reconcile latency by queue",
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })
})

export const makeWorkQueue = <K, E, R>(options: WorkQueueOptions<K, E, R>): Effect.Effect<WorkQueue<K>, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const base = Duration.toMillis(options.backoff?.base ?? "200 millis")
    const max = Duration.toMillis(options.backoff?.max ?? "5 minutes")
    const ready = yield* Queue.unbounded<K>()
    const dirty = new Set<K>()
    const processing = new Set<K>()
    const failures = new Map<K, number>()
    const timers = yield* FiberMap.make<K>()
    const timerDue = new Map<K, number>()
    const attributes = { queue: options.name }
    // O(workers), not O(keys): it runs on every add. A key can be both waiting and in flight.
    const depth = Effect.sync(() => {
      let both = 0
      for (const key of processing) if (dirty.has(key)) both += 1
      return dirty.size + processing.size - both
    })
    const report = depth.pipe(Effect.flatMap((n) => Metric.update(Metric.withAttributes(queueDepth, attributes), n)))

    const add = (key: K) =>
      Effect.sync(() => {
        if (dirty.has(key)) return
        dirty.add(key)
        if (!processing.has(key)) Queue.offerUnsafe(ready, key)
      }).pipe(Effect.andThen(report))

    const addAfter = (key: K, delay: Duration.Input): Effect.Effect<void> =>
      Effect.gen(function*() {
        const ms = Duration.toMillis(delay)
        if (ms <= 0) return yield* add(key)
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        const due = now + ms
        const pending = timerDue.get(key)
        if (pending !== undefined && pending <= due) return
        timerDue.set(key, due)
        yield* FiberMap.run(
          timers,
          key,
          Effect.sleep(ms).pipe(Effect.andThen(Effect.sync(() => timerDue.delete(key))), Effect.andThen(add(key)))
        )
      })

    const forget = (key: K) =>
      Effect.gen(function*() {
        failures.delete(key)
        timerDue.delete(key)
        dirty.delete(key)
        yield* FiberMap.remove(timers, key)
        yield* report
      })

    const handOvers = new Map<K, Effect.Effect<void>>()
    const finish = (key: K) =>
      Effect.suspend(() => {
        processing.delete(key)
        if (dirty.has(key)) Queue.offerUnsafe(ready, key)
        const then = handOvers.get(key)
        handOvers.delete(key)
        return then === undefined ? report : report.pipe(Effect.andThen(then))
      })

    const handle = (key: K) =>
      options.process(key).pipe(
        Effect.trackDuration(Metric.withAttributes(reconcileSeconds, attributes), Duration.toSeconds),
        Effect.matchCauseEffect({
          onSuccess: (outcome) =>
            Effect.gen(function*() {
              failures.delete(key)
              yield* Metric.update(Metric.withAttributes(reconciles, { ...attributes, outcome: "ok" }), 1)
              if (outcome._tag === "RequeueAfter") yield* addAfter(key, outcome.delay)
              if (outcome._tag === "HandOver") handOvers.set(key, outcome.then)
            }),
          onFailure: (cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
            const n = (failures.get(key) ?? 0) + 1
            failures.set(key, n)
            const delay = Math.min(max, base * 2 ** (n - 1))
            return Effect.logWarning("reconcile failed; retrying", String(key), `attempt ${n}`, `in ${delay} ms`, cause).pipe(
              Effect.andThen(Metric.update(Metric.withAttributes(reconciles, { ...attributes, outcome: "error" }), 1)),
              Effect.andThen(addAfter(key, Duration.millis(delay)))
            )
          }
        }),
        Effect.ensuring(finish(key))
      )

    const worker = Queue.take(ready).pipe(
      Effect.flatMap((key) =>
        Effect.suspend(() => {
          if (!dirty.has(key) || processing.has(key)) return Effect.void // forgotten, or already running
          dirty.delete(key)
          processing.add(key)
          return handle(key)
        })
      ),
      Effect.forever
    )
    for (let i = 0; i < options.workers; i++) yield* Effect.forkScoped(worker)
    return { add, addAfter, forget, depth, isProcessing: (key: K) => processing.has(key) }
  })
