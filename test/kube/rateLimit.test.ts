import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeKubeRateLimiter } from "../../src/kube/rateLimit.ts"

describe("Kube client rate limit (token bucket)", () => {
  it.effect("a full bucket lets `burst` calls through at once, then `qps` per second; nothing is rejected", () =>
    Effect.gen(function*() {
      const limited = yield* makeKubeRateLimiter({ qps: 10, burst: 10 })
      const done: Array<number> = []
      const call = limited(Clock.currentTimeMillis.pipe(Effect.tap((t) => Effect.sync(() => done.push(t)))))
      const fiber = yield* Effect.forkChild(Effect.all(Array.from({ length: 30 }, () => call), { concurrency: "unbounded" }))
      yield* TestClock.adjust("0 millis")
      assert.strictEqual(done.length, 10) // the burst
      yield* TestClock.adjust("1 second")
      assert.strictEqual(done.length, 20)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.strictEqual(done.length, 30)
      assert.strictEqual(Math.max(...done), 2000) // 30 calls at 10/s after a burst of 10: 2 s
    }))

  it.effect("the defaults are generous: 400 calls go through without waiting", () =>
    Effect.gen(function*() {
      const limited = yield* makeKubeRateLimiter({ qps: 200, burst: 400 })
      const times = yield* Effect.all(Array.from({ length: 400 }, () => limited(Clock.currentTimeMillis)), { concurrency: "unbounded" })
      assert.strictEqual(Math.max(...times), 0)
    }))

  it.effect("a nonsensical limit is a defect at construction", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(makeKubeRateLimiter({ qps: 0, burst: 10 }))
      assert.isTrue(exit._tag === "Failure")
    }))
})
