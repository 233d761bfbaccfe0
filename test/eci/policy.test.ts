import { assert, describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Logger, Metric, Random } from "effect"
import { TestClock } from "effect/testing"
import type { EciAction, EciRequest, EciResponse, EciTransport } from "../../src/eci/Eci.ts"
import { classifyEciError, type EciError, isRetryable } from "../../src/eci/errors.ts"
import { callsTotal, documentedQuotas, makePolicy, retriesTotal, scaledQuotas, throttlesTotal } from "../../src/eci/policy.ts"

// A scripted transport: each attempt takes the next outcome (the last one repeats) and is recorded
// with its virtual time and request.
interface Recorded {
  readonly action: EciAction
  readonly request: unknown
  readonly at: number
}
const scripted = (outcomes: ReadonlyArray<"ok" | EciError | "hang">) => {
  const attempts: Array<Recorded> = []
  const transport: EciTransport = <A extends EciAction>(action: A, request: EciRequest<A>) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const outcome = outcomes[Math.min(attempts.length, outcomes.length - 1)] ?? "ok"
      attempts.push({ action, request, at })
      if (outcome === "hang") return yield* Effect.never
      if (outcome === "ok") return { RequestId: `OK-${attempts.length}` } as EciResponse<A>
      return yield* Effect.fail(outcome)
    })
  return { attempts, transport }
}

const failure = (code: string, httpStatus: number, requestId = "RID") =>
  classifyEciError({ action: "DeleteContainerGroup", code, message: `${code} happened`, requestId, httpStatus })

const del = { ContainerGroupId: "eci-1" }
const isolatedMetrics = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => Effect.provideService(self, Metric.MetricRegistry, new Map()))

describe("ECI client policy", () => {
  it.effect("fills RegionId when absent and keeps the caller's", () =>
    Effect.gen(function*() {
      const { attempts, transport } = scripted(["ok"])
      const eci = yield* makePolicy(transport, { regionId: "cn-hangzhou" })
      yield* eci.call("DeleteContainerGroup", del)
      yield* eci.call("DeleteContainerGroup", { ...del, RegionId: "cn-beijing" })
      assert.deepStrictEqual(attempts.map((a) => a.request), [
        { ContainerGroupId: "eci-1", RegionId: "cn-hangzhou" },
        { ContainerGroupId: "eci-1", RegionId: "cn-beijing" }
      ])
    }).pipe(isolatedMetrics))

  const codes: ReadonlyArray<readonly [string, number]> = [
    ["Throttling.User", 400],
    ["Degrade.Api", 400],
    ["ServiceUnavailable", 503],
    ["InternalError", 500],
    ["InvalidParameter", 400],
    ["MissingParameter", 400],
    ["SignatureDoesNotMatch", 400],
    ["InvalidAccessKeyId.NotFound", 404],
    ["Forbidden.RAM", 403],
    ["OperationDenied.NoStock", 403],
    ["IncorrectStatus.ContainerGroup", 403],
    ["ContainerGroup.NotFound", 404]
  ]
  for (const [code, status] of codes) {
    const error = failure(code, status)
    const expected = isRetryable(error) ? 5 : 1
    it.effect(`${code} → ${error._tag}: ${expected} attempt(s), then that error`, () =>
      Effect.gen(function*() {
        const { attempts, transport } = scripted([error])
        const eci = yield* makePolicy(transport, { regionId: "r" })
        const fiber = yield* Effect.forkChild(Effect.exit(eci.call("DeleteContainerGroup", del)))
        yield* TestClock.adjust("1 minute")
        const exit = yield* Fiber.join(fiber)
        assert.deepStrictEqual(exit, Exit.fail(error))
        assert.strictEqual(attempts.length, expected)
        const retried = yield* Metric.value(Metric.withAttributes(retriesTotal, { action: "DeleteContainerGroup", code }))
        assert.strictEqual(retried.count, expected - 1)
      }).pipe(Random.withSeed(1), isolatedMetrics))
  }

  it.effect("backs off exponentially (300 ms doubling, ±20% jitter) and succeeds when the error clears", () =>
    Effect.gen(function*() {
      const throttled = failure("Throttling.User", 400)
      const { attempts, transport } = scripted([throttled, throttled, throttled, throttled, "ok"])
      const eci = yield* makePolicy(transport, { regionId: "r" })
      const fiber = yield* Effect.forkChild(eci.call("DeleteContainerGroup", del))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.RequestId, "OK-5")
      const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at)
      assert.strictEqual(gaps.length, 4)
      gaps.forEach((gap, i) => {
        const nominal = 300 * 2 ** i
        assert.isAtLeast(gap, nominal * 0.8, `gap ${i}`)
        assert.isAtMost(gap, nominal * 1.2, `gap ${i}`)
      })
      // Each delay at least 1.6× the one before (2× nominal with the worst jitter: 0.8·2 / 1.2 > 1.3).
      gaps.slice(1).forEach((gap, i) => assert.isAbove(gap, gaps[i]! * 1.3))
    }).pipe(Random.withSeed(7), isolatedMetrics))

  it.effect("the jitter is drawn from Random: the same seed replays the same delays", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.gen(function*() {
          const { attempts, transport } = scripted([failure("ServiceUnavailable", 503)])
          const eci = yield* makePolicy(transport, { regionId: "r" })
          const fiber = yield* Effect.forkChild(Effect.exit(eci.call("DeleteContainerGroup", del)))
          yield* TestClock.adjust("1 minute")
          yield* Fiber.join(fiber)
          const t0 = attempts[0]!.at
          // Rounded to the microsecond: the runs start at different virtual times.
          return attempts.map((a) => Math.round((a.at - t0) * 1000) / 1000)
        }).pipe(Random.withSeed(seed))
      const a = yield* run(3)
      const b = yield* run(3)
      const c = yield* run(4)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
    }).pipe(isolatedMetrics))

  it.effect("caps the delay at maxDelay and honours maxAttempts", () =>
    Effect.gen(function*() {
      const { attempts, transport } = scripted([failure("InternalError", 500)])
      const eci = yield* makePolicy(transport, {
        regionId: "r",
        retry: { maxAttempts: 8, baseDelay: "1 second", maxDelay: "2 seconds" }
      })
      const fiber = yield* Effect.forkChild(Effect.exit(eci.call("DeleteContainerGroup", del)))
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(fiber)
      assert.strictEqual(attempts.length, 8)
      const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at)
      gaps.forEach((gap) => assert.isAtMost(gap, 2400))
      gaps.slice(1).forEach((gap) => assert.isAtLeast(gap, 1600))
    }).pipe(Random.withSeed(11), isolatedMetrics))

  it.effect("token bucket: 30 calls at 10/s (burst 10) take 2 s of virtual time, none rejected", () =>
    Effect.gen(function*() {
      const { attempts, transport } = scripted(["ok"])
      const eci = yield* makePolicy(transport, {
        regionId: "r",
        quotas: { DescribeContainerGroups: { perSecond: 10, burst: 10 } }
      })
      const fiber = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 30 }, () => eci.call("DescribeContainerGroups", {})), {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(attempts.length, 29)
      yield* TestClock.adjust("1 millis")
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(results.length, 30)
      assert.strictEqual(attempts.length, 30)
      const times = attempts.map((a) => a.at)
      assert.deepStrictEqual(times.slice(0, 10), Array(10).fill(0))
      assert.strictEqual(Math.max(...times), 2000)
      // Steady state: one call every 100 ms after the burst.
      assert.deepStrictEqual(times.slice(10), Array.from({ length: 20 }, (_, i) => (i + 1) * 100))
      const delayed = yield* Metric.value(
        Metric.withAttributes(throttlesTotal, { action: "DescribeContainerGroups", source: "client" })
      )
      assert.strictEqual(delayed.count, 20)
    }).pipe(isolatedMetrics))

  it.effect("buckets are per action: one action's queue does not delay another", () =>
    Effect.gen(function*() {
      const { attempts, transport } = scripted(["ok"])
      const eci = yield* makePolicy(transport, {
        regionId: "r",
        quotas: { DescribeContainerGroups: { perSecond: 1, burst: 1 } }
      })
      yield* eci.call("DescribeContainerGroups", {}) // empties the describe bucket
      const waiting = yield* Effect.forkChild(eci.call("DescribeContainerGroups", {}))
      yield* eci.call("DeleteContainerGroup", del) // does not queue behind the waiting describe
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waiting)
      assert.deepStrictEqual(attempts.map((a) => [a.action, a.at]), [
        ["DescribeContainerGroups", 0],
        ["DeleteContainerGroup", 0],
        ["DescribeContainerGroups", 1000]
      ])
    }).pipe(isolatedMetrics))

  it.effect("documented quotas: Create refills at 1000/min; our burst is 90 of ECI's 100 (headroom for jitter and other callers)", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(documentedQuotas.CreateContainerGroup, { perSecond: 1000 / 60, burst: 90 })
      assert.deepStrictEqual(documentedQuotas.DescribeContainerLog, { perSecond: 500 / 60, burst: 45 })
      const { attempts, transport } = scripted(["ok"])
      const eci = yield* makePolicy(transport, { regionId: "r" })
      const fiber = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 200 }, () => eci.call("CreateContainerGroup", {})), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      // 90 at once, the other 110 at 1000/min: the last one 6.6 s later.
      assert.strictEqual(attempts.filter((a) => a.at === 0).length, 90)
      assert.closeTo(Math.max(...attempts.map((a) => a.at)), 6600, 1)
    }).pipe(isolatedMetrics))

  it.effect("a hanging attempt times out as EciUnavailable RequestTimeout and is retried", () =>
    Effect.gen(function*() {
      const { attempts, transport } = scripted(["hang", "ok"])
      const eci = yield* makePolicy(transport, { regionId: "r", attemptTimeout: "5 seconds" })
      const fiber = yield* Effect.forkChild(eci.call("DeleteContainerGroup", del))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Fiber.join(fiber)).RequestId, "OK-2")
      assert.strictEqual(attempts.length, 2)
      assert.isAtLeast(attempts[1]!.at, 5000)

      const hang = scripted(["hang"])
      const once = yield* makePolicy(hang.transport, { regionId: "r", attemptTimeout: "5 seconds", retry: { maxAttempts: 1 } })
      const f2 = yield* Effect.forkChild(Effect.flip(once.call("DeleteContainerGroup", del)))
      yield* TestClock.adjust("5 seconds")
      const e = yield* Fiber.join(f2)
      assert.strictEqual(e._tag, "EciUnavailable")
      assert.strictEqual(e.code, "RequestTimeout")
    }).pipe(Random.withSeed(5), isolatedMetrics))

  it.effect("give-up returns the last typed error with its RequestId, counts it, and logs one line without the request", () => {
    const lines: Array<string> = []
    const capture = Logger.layer([Logger.make((o) => { lines.push(Logger.formatJson.log(o)) })])
    return Effect.gen(function*() {
      const errors = [1, 2, 3].map((i) => failure("ServiceUnavailable", 503, `REQ-${i}`))
      const { transport } = scripted(errors)
      const eci = yield* makePolicy(transport, { regionId: "r", retry: { maxAttempts: 3 } })
      const secretRequest = {
        ContainerGroupName: "web",
        ImageRegistryCredential: [{ Server: "reg", UserName: "u", Password: "hunter2-secret" }]
      }
      const fiber = yield* Effect.forkChild(Effect.flip(eci.call("CreateContainerGroup", secretRequest)))
      yield* TestClock.adjust("1 minute")
      const e = yield* Fiber.join(fiber)
      assert.deepStrictEqual(e, errors[2])
      assert.strictEqual(e.requestId, "REQ-3")

      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === "WARN")
      assert.strictEqual(warnings.length, 1)
      const text = JSON.stringify(warnings[0])
      for (const expected of ["CreateContainerGroup", "ServiceUnavailable", "REQ-3", "EciUnavailable"]) {
        assert.include(text, expected)
      }
      assert.notInclude(lines.join("\n"), "hunter2-secret")

      const failed = yield* Metric.value(
        Metric.withAttributes(callsTotal, { action: "CreateContainerGroup", outcome: "EciUnavailable" })
      )
      assert.strictEqual(failed.count, 1)
    }).pipe(Effect.provide(capture), Random.withSeed(9), isolatedMetrics)
  })

  it.effect("counts successes and server-side throttles", () =>
    Effect.gen(function*() {
      const { transport } = scripted([failure("Throttling.User", 400), "ok"])
      const eci = yield* makePolicy(transport, { regionId: "r" })
      const fiber = yield* Effect.forkChild(eci.call("DeleteContainerGroup", del))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      const ok = yield* Metric.value(Metric.withAttributes(callsTotal, { action: "DeleteContainerGroup", outcome: "success" }))
      const server = yield* Metric.value(
        Metric.withAttributes(throttlesTotal, { action: "DeleteContainerGroup", source: "server" })
      )
      assert.strictEqual(ok.count, 1)
      assert.strictEqual(server.count, 1)
    }).pipe(Random.withSeed(2), isolatedMetrics))
})

describe("scaled quotas (--eci-quota-multiplier)", () => {
  it("multiplies every action's rate and burst, keeping a burst of at least one", () => {
    const doubled = scaledQuotas(2)
    expect(doubled.CreateContainerGroup.perSecond).toBeCloseTo(documentedQuotas.CreateContainerGroup.perSecond * 2)
    expect(doubled.CreateContainerGroup.burst).toBe(documentedQuotas.CreateContainerGroup.burst * 2)
    expect(scaledQuotas(0.001).DescribeContainerLog.burst).toBe(1)
  })
})
