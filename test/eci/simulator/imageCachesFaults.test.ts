import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { CreateImageCacheRequest } from "../../../src/eci/api.generated.ts"
import { admin, at, call, create, createRequest, describe1, failureOf, region, withSimulator } from "./support.ts"

const cacheRequest = (overrides: Partial<CreateImageCacheRequest> = {}): CreateImageCacheRequest => ({
  RegionId: region,
  ImageCacheName: "web-cache",
  Image: ["nginx:1.25", "redis:7"],
  VSwitchId: "vsw-test1",
  SecurityGroupId: "sg-test1",
  ...overrides
})

const cache = (id: string) =>
  call("DescribeImageCaches", { RegionId: region, ImageCacheId: id }).pipe(Effect.map((r) => r.ImageCaches?.[0]))

// Fast profile: Preparing 50 ms, then Creating for 250 ms.
describe("image caches", () => {
  it.effect("Preparing → Creating with growing Progress → Ready, then matched by AutoMatchImageCache", () =>
    Effect.gen(function*() {
      const created = yield* call("CreateImageCache", cacheRequest())
      const id = created.ImageCacheId!
      expect(id).toMatch(/^imc-/)
      expect(created.ContainerGroupId).toMatch(/^eci-/)
      expect(yield* cache(id)).toMatchObject({ Status: "Preparing", Progress: "0%", Images: ["nginx:1.25", "redis:7"] })
      yield* at(175)
      expect(yield* cache(id)).toMatchObject({ Status: "Creating", Progress: "50%" })
      yield* at(300)
      const ready = yield* cache(id)
      expect(ready).toMatchObject({ Status: "Ready", Progress: "100%" })
      expect(ready?.SnapshotId).not.toBe("")
      const hit = yield* describe1(yield* create(createRequest({ AutoMatchImageCache: true })))
      expect(hit?.Events?.find((e) => e.Reason === "SuccessfulHitImageCache")?.Message).toContain(id)
      const miss = yield* describe1(yield* create(createRequest({ AutoMatchImageCache: true }, { Image: "busybox" })))
      expect(miss?.Events?.find((e) => e.Reason === "ImageCacheMissed")).toMatchObject({ Type: "Warning" })
    }).pipe(withSimulator()))

  it.effect("an image that cannot be pulled fails the cache; failed caches expire after a day", () =>
    Effect.gen(function*() {
      const id = (yield* call("CreateImageCache", cacheRequest({ Image: ["nginx", "example.com/does-not-exist:1"] }))).ImageCacheId!
      yield* at(175)
      expect(yield* cache(id)).toMatchObject({ Status: "Failed", Progress: "50%", ExpireDateTime: "1970-01-02T00:00:00Z" })
      yield* at(175 + 86_400_000)
      expect(yield* cache(id)).toBeUndefined()
    }).pipe(withSimulator()))

  it.effect("filters, paging, delete, and NotFound for an unknown cache", () =>
    Effect.gen(function*() {
      const a = (yield* call("CreateImageCache", cacheRequest({ ImageCacheName: "cache-a", Tag: [{ Key: "team", Value: "x" }] }))).ImageCacheId!
      const b = (yield* call("CreateImageCache", cacheRequest({ ImageCacheName: "cache-b", Image: ["busybox"] }))).ImageCacheId!
      const list = yield* call("DescribeImageCaches", { RegionId: region, Limit: 1 })
      expect(list.TotalCount).toBe(2)
      expect(list.ImageCaches?.map((c) => c.ImageCacheId)).toEqual([b])
      const next = yield* call("DescribeImageCaches", { RegionId: region, Limit: 1, NextToken: list.NextToken! })
      expect(next.ImageCaches?.map((c) => c.ImageCacheId)).toEqual([a])
      expect((yield* call("DescribeImageCaches", { RegionId: region, Image: "busybox" })).ImageCaches?.map((c) => c.ImageCacheId)).toEqual([b])
      expect((yield* call("DescribeImageCaches", { RegionId: region, Tag: [{ Key: "team", Value: "x" }] })).ImageCaches?.map((c) => c.ImageCacheId)).toEqual([a])
      yield* call("DeleteImageCache", { RegionId: region, ImageCacheId: a })
      expect(yield* cache(a)).toBeUndefined()
      expect(yield* failureOf("DeleteImageCache", { RegionId: region, ImageCacheId: a })).toMatchObject({
        code: "InvalidImageCacheId.NotFound",
        httpStatus: 404
      })
    }).pipe(withSimulator()))

  it.effect("validation: name, images, network, size", () =>
    Effect.gen(function*() {
      expect(yield* failureOf("CreateImageCache", cacheRequest({ Image: [] }))).toMatchObject({ code: "MissingParameter" })
      expect(yield* failureOf("CreateImageCache", cacheRequest({ ImageCacheName: "Bad_Name" }))).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("CreateImageCache", cacheRequest({ VSwitchId: "" }))).toMatchObject({ code: "MissingParameter" })
      expect(yield* failureOf("CreateImageCache", cacheRequest({ ImageCacheSize: 10 }))).toMatchObject({ code: "InvalidParameter" })
    }).pipe(withSimulator()))

  it.effect("ClientToken makes CreateImageCache idempotent", () =>
    Effect.gen(function*() {
      const first = yield* call("CreateImageCache", cacheRequest({ ClientToken: "t-1" }))
      const again = yield* call("CreateImageCache", cacheRequest({ ClientToken: "t-1" }))
      expect(again.ImageCacheId).toBe(first.ImageCacheId)
      expect(yield* failureOf("CreateImageCache", cacheRequest({ ClientToken: "t-1", ImageCacheName: "other" }))).toMatchObject({
        code: "IdempotentParameterMismatch"
      })
    }).pipe(withSimulator()))
})

describe("quotas", () => {
  it.effect("a token bucket per action: Throttling.User (HTTP 400) when empty, refilled at the per-minute rate", () =>
    Effect.gen(function*() {
      yield* admin((a) => a.setQuota("DescribeContainerGroups", { perMinute: 60, burst: 2 }))
      const describe = call("DescribeContainerGroups", { RegionId: region })
      yield* describe
      yield* describe
      expect(yield* failureOf("DescribeContainerGroups", { RegionId: region })).toEqual({
        code: "Throttling.User",
        httpStatus: 400,
        message: "Request was denied due to user flow control."
      })
      yield* call("DescribeContainerLog", { RegionId: region, ContainerGroupId: "eci-x", ContainerName: "a" }).pipe(Effect.flip) // other actions unaffected
      yield* at(999)
      expect((yield* failureOf("DescribeContainerGroups", { RegionId: region })).code).toBe("Throttling.User")
      yield* at(2_000)
      yield* describe
      yield* admin((a) => a.setQuota("DescribeContainerGroups", null))
      for (let k = 0; k < 10; k++) yield* describe
    }).pipe(withSimulator()))

  it.effect("the defaults follow the documented limits: Create has a burst of 100", () =>
    Effect.gen(function*() {
      for (let k = 0; k < 100; k++) yield* create(createRequest({ ContainerGroupName: `n-${k}` }))
      expect((yield* failureOf("CreateContainerGroup", createRequest())).code).toBe("Throttling.User")
      yield* at(60) // 1000/min = one token every 60 ms
      yield* create(createRequest())
    }).pipe(withSimulator()))
})

describe("injected faults", () => {
  it.effect("failNext fails exactly the next calls of that action with the ECI code and status", () =>
    Effect.gen(function*() {
      yield* admin((a) => a.failNext("CreateContainerGroup", { kind: "error", code: "ServiceUnavailable" }, 2))
      yield* admin((a) => a.failNext("DeleteContainerGroup", { kind: "error", code: "InternalError" }))
      expect(yield* failureOf("CreateContainerGroup", createRequest())).toMatchObject({ code: "ServiceUnavailable", httpStatus: 503 })
      expect(yield* failureOf("CreateContainerGroup", createRequest())).toMatchObject({ code: "ServiceUnavailable", httpStatus: 503 })
      const id = yield* create(createRequest())
      expect(yield* failureOf("DeleteContainerGroup", { RegionId: region, ContainerGroupId: id })).toMatchObject({ code: "InternalError", httpStatus: 500 })
      expect((yield* admin((a) => a.listInstances)).map((i) => i.containerGroupId)).toEqual([id])
    }).pipe(withSimulator()))

  it.effect("a connection dropped after the action: the instance exists, and a retry with the same ClientToken finds it", () =>
    Effect.gen(function*() {
      yield* admin((a) => a.failNext("CreateContainerGroup", { kind: "drop", phase: "response" }))
      const request = createRequest({ ClientToken: "pod-uid-1" })
      expect(yield* failureOf("CreateContainerGroup", request)).toMatchObject({ code: "dropped", message: "response" })
      const [lost] = yield* admin((a) => a.listInstances)
      expect(yield* create(request)).toBe(lost!.containerGroupId)
      expect(yield* admin((a) => a.listInstances)).toHaveLength(1)
    }).pipe(withSimulator()))

  it.effect("a connection dropped before the action: nothing happened", () =>
    Effect.gen(function*() {
      yield* admin((a) => a.failNext("CreateContainerGroup", { kind: "drop", phase: "request" }))
      expect(yield* failureOf("CreateContainerGroup", createRequest())).toMatchObject({ code: "dropped", message: "request" })
      expect(yield* admin((a) => a.listInstances)).toHaveLength(0)
    }).pipe(withSimulator()))

  it.effect("error rates draw from the seeded Random: the same seed fails the same calls", () =>
    Effect.gen(function*() {
      const outcomes = Effect.forEach(Array.from({ length: 40 }, (_, k) => k), () =>
        call("DescribeContainerGroups", { RegionId: region }).pipe(Effect.exit, Effect.map(Exit.isSuccess)))
      const run = (seed: number) =>
        admin((a) => a.setFaults("*", { errorRate: 0.5, errorCode: "InternalError" })).pipe(
          Effect.andThen(outcomes),
          withSimulator({ seed, quotas: { DescribeContainerGroups: null } })
        )
      const a = yield* run(1)
      expect(yield* run(1)).toEqual(a)
      expect(a.filter((ok) => ok).length).toBeGreaterThan(8)
      expect(a.filter((ok) => !ok).length).toBeGreaterThan(8)
    }))

  it.effect("added latency delays the answer on the simulator's clock", () =>
    Effect.gen(function*() {
      yield* admin((a) => a.setFaults("DescribeContainerGroups", { latencyMs: 2_000 }))
      const fiber = yield* call("DescribeContainerGroups", { RegionId: region }).pipe(Effect.forkChild)
      yield* TestClock.adjust(Duration.millis(1_999))
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* Fiber.join(fiber)).TotalCount).toBe(0)
    }).pipe(withSimulator()))

  it.effect("an unknown action is InvalidApi.NotFound (404)", () =>
    Effect.gen(function*() {
      const { EciSimulator } = yield* Effect.promise(() => import("../../../src/eci/simulator/simulator.ts"))
      const failure = yield* EciSimulator.use((sim) => sim.handle("RunInstances", {})).pipe(Effect.flip)
      expect(failure).toMatchObject({ _tag: "SimulatorApiError", code: "InvalidApi.NotFound", httpStatus: 404 })
    }).pipe(withSimulator()))
})
