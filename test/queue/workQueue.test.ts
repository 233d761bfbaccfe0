import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { done, handOver, makeWorkQueue, type ReconcileOutcome, requeueAfter } from "../../src/queue/workQueue.ts"

/** Lets forked workers run to their next suspension point. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("the keyed work queue", () => {
  it.effect("runs a hand-over once the key no longer counts as in flight", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<Array<boolean>>([])
      const q = yield* makeWorkQueue({
        name: "t",
        workers: 1,
        process: (_: string): Effect.Effect<ReconcileOutcome> =>
          Effect.succeed(handOver(Effect.suspend(() => Ref.update(seen, (s) => [...s, q.isProcessing("pod")]))))
      })
      yield* q.add("pod")
      yield* settle
      assert.deepStrictEqual(yield* Ref.get(seen), [false])
    }).pipe(Effect.scoped))

  it.effect("collapses duplicate adds of a waiting key into one reconcile", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make<Array<string>>([])
      const gate = yield* Deferred.make<void>()
      const q = yield* makeWorkQueue({
        name: "t",
        workers: 1,
        process: (k: string) =>
          (k === "blocker" ? Deferred.await(gate) : Effect.void).pipe(Effect.andThen(Ref.update(runs, (r) => [...r, k])), Effect.as(done))
      })
      yield* q.add("blocker")
      yield* settle
      yield* q.add("a")
      yield* q.add("a")
      yield* q.add("a")
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.deepStrictEqual(yield* Ref.get(runs), ["blocker", "a"])
    }).pipe(Effect.scoped))

  it.effect("runs a key once more when it is added while in flight, never twice at once", () =>
    Effect.gen(function*() {
      const inFlight = yield* Ref.make(0)
      const maxInFlight = yield* Ref.make(0)
      const runs = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const q = yield* makeWorkQueue({
        name: "t",
        workers: 4,
        process: (_: string) =>
          Effect.gen(function*() {
            const n = yield* Ref.updateAndGet(inFlight, (x) => x + 1)
            yield* Ref.update(maxInFlight, (m) => Math.max(m, n))
            const count = yield* Ref.updateAndGet(runs, (x) => x + 1)
            if (count === 1) yield* Deferred.await(gate)
            yield* Ref.update(inFlight, (x) => x - 1)
            return done
          })
      })
      yield* q.add("pod")
      yield* settle
      yield* q.add("pod")
      yield* q.add("pod")
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 2)
      assert.strictEqual(yield* Ref.get(maxInFlight), 1)
    }).pipe(Effect.scoped))

  it.effect("backs off exponentially per key after failures, and resets on success", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const q = yield* makeWorkQueue({
        name: "t",
        workers: 1,
        backoff: { base: "1 second", max: "4 seconds" },
        process: (_: string) =>
          Effect.gen(function*() {
            const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
            const n = (yield* Ref.updateAndGet(attempts, (a) => [...a, now])).length
            if (n <= 4) return yield* Effect.fail("boom")
            return done
          })
      })
      yield* q.add("k")
      yield* settle
      for (let i = 0; i < 12; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const times = yield* Ref.get(attempts)
      assert.deepStrictEqual(times.map((t) => t - times[0]!), [0, 1000, 3000, 7000, 11000])
      assert.strictEqual(yield* q.depth, 0)
    }).pipe(Effect.scoped))

  it.effect("re-adds after the delay a reconcile asks for, keeping the earliest pending one", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const q = yield* makeWorkQueue({
        name: "t",
        workers: 1,
        process: (_: string) => Ref.updateAndGet(runs, (n) => n + 1).pipe(Effect.map((n) => (n === 1 ? requeueAfter("10 seconds") : done)))
      })
      yield* q.add("k")
      yield* settle
      yield* q.addAfter("k", "30 seconds") // later than the pending 10 s: ignored
      yield* TestClock.adjust("9 seconds")
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 2)
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 2)
    }).pipe(Effect.scoped))

  it.effect("forget drops a waiting key and its pending timer", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const q = yield* makeWorkQueue({ name: "t", workers: 1, process: (_: string) => Ref.update(runs, (n) => n + 1).pipe(Effect.as(done)) })
      yield* q.addAfter("k", "5 seconds")
      yield* q.forget("k")
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 0)
      assert.strictEqual(yield* q.depth, 0)
    }).pipe(Effect.scoped))

  it.effect("bounds concurrency to the number of workers", () =>
    Effect.gen(function*() {
      const inFlight = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      const q = yield* makeWorkQueue({
        name: "t",
        workers: 3,
        process: (_: number) =>
          Ref.updateAndGet(inFlight, (n) => n + 1).pipe(
            Effect.tap((n) => Ref.update(peak, (p) => Math.max(p, n))),
            Effect.andThen(Deferred.await(gate)),
            Effect.andThen(Ref.update(inFlight, (n) => n - 1)),
            Effect.as(done)
          )
      })
      for (let i = 0; i < 10; i++) yield* q.add(i)
      yield* settle
      assert.strictEqual(yield* Ref.get(peak), 3)
      assert.strictEqual(yield* q.depth, 10)
      const release = yield* Effect.forkChild(Deferred.succeed(gate, undefined))
      yield* Fiber.join(release)
      yield* settle
      assert.strictEqual(yield* q.depth, 0)
    }).pipe(Effect.scoped))
})
