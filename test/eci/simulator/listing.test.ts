import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { at, call, create, createRequest, failureOf, region, withSimulator } from "./support.ts"

const list = (request: Omit<Parameters<typeof call<"DescribeContainerGroups">>[1], "RegionId"> = {}) =>
  call("DescribeContainerGroups", { RegionId: region, ...request })

const ids = (request: Parameters<typeof list>[0] = {}) =>
  list(request).pipe(Effect.map((r) => (r.ContainerGroups ?? []).map((g) => g.ContainerGroupId!)))

const createMany = (n: number, overrides: Parameters<typeof createRequest>[0] = {}, container: Parameters<typeof createRequest>[1] = {}) =>
  Effect.forEach(Array.from({ length: n }, (_, k) => k), (k) =>
    create(createRequest({ ContainerGroupName: `job-${k}`, ...overrides }, container)))

describe("DescribeContainerGroups paging", () => {
  it.effect("pages of at most Limit, newest first, NextToken until the end, TotalCount of all", () =>
    Effect.gen(function*() {
      const created = yield* createMany(45)
      const seen: Array<string> = []
      const sizes: Array<number> = []
      let token: string | undefined = undefined
      do {
        const page: { ContainerGroups?: ReadonlyArray<{ ContainerGroupId?: string }>; NextToken?: string; TotalCount?: number } = yield* list(
          token === undefined ? { Limit: 20 } : { Limit: 20, NextToken: token }
        )
        expect(page.TotalCount).toBe(45)
        sizes.push(page.ContainerGroups?.length ?? 0)
        seen.push(...(page.ContainerGroups ?? []).map((g) => g.ContainerGroupId!))
        token = page.NextToken === "" ? undefined : page.NextToken
      } while (token !== undefined)
      expect(sizes).toEqual([20, 20, 5])
      expect(seen).toEqual([...created].reverse())
    }).pipe(withSimulator()))

  it.effect("instances created while paging do not make a page repeat or skip anything", () =>
    Effect.gen(function*() {
      const created = yield* createMany(5)
      const first = yield* list({ Limit: 2 })
      yield* createMany(3)
      const second = yield* list({ Limit: 2, NextToken: first.NextToken! })
      const third = yield* list({ Limit: 2, NextToken: second.NextToken! })
      const seen = [...first.ContainerGroups!, ...second.ContainerGroups!, ...third.ContainerGroups!].map((g) => g.ContainerGroupId)
      expect(seen).toEqual([...created].reverse())
      expect(third.NextToken).toBe("")
    }).pipe(withSimulator()))

  it.effect("Limit defaults to 20; more than 20 or less than 1, or a foreign NextToken, is InvalidParameter", () =>
    Effect.gen(function*() {
      yield* createMany(25)
      expect((yield* list()).ContainerGroups).toHaveLength(20)
      expect(yield* failureOf("DescribeContainerGroups", { RegionId: region, Limit: 21 })).toMatchObject({ code: "InvalidParameter", httpStatus: 400 })
      expect(yield* failureOf("DescribeContainerGroups", { RegionId: region, Limit: 0 })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("DescribeContainerGroups", { RegionId: region, NextToken: "garbage" })).toMatchObject({ code: "InvalidParameter" })
    }).pipe(withSimulator()))
})

describe("DescribeContainerGroups filters", () => {
  it.effect("by ids (a JSON array of at most 20); unknown ids are simply absent", () =>
    Effect.gen(function*() {
      const [a, b] = yield* createMany(3)
      expect(yield* ids({ ContainerGroupIds: JSON.stringify([a, "eci-unknown", b]) })).toEqual([b, a])
      const tooMany = JSON.stringify(Array.from({ length: 21 }, (_, k) => `eci-${k}`))
      expect(yield* failureOf("DescribeContainerGroups", { RegionId: region, ContainerGroupIds: tooMany })).toMatchObject({
        code: "InvalidParameter"
      })
      expect(yield* failureOf("DescribeContainerGroups", { RegionId: region, ContainerGroupIds: "eci-a,eci-b" })).toMatchObject({
        code: "InvalidParameter"
      })
    }).pipe(withSimulator()))

  it.effect("by tags, all of which must match (AND); a tag without a value matches any value", () =>
    Effect.gen(function*() {
      const web = yield* create(createRequest({ Tag: [{ Key: "app", Value: "web" }, { Key: "env", Value: "prod" }] }))
      const webDev = yield* create(createRequest({ Tag: [{ Key: "app", Value: "web" }, { Key: "env", Value: "dev" }] }))
      yield* create(createRequest({ Tag: [{ Key: "app", Value: "db" }, { Key: "env", Value: "prod" }] }))
      expect(yield* ids({ Tag: [{ Key: "app", Value: "web" }, { Key: "env", Value: "prod" }] })).toEqual([web])
      expect(yield* ids({ Tag: [{ Key: "app", Value: "web" }] })).toEqual([webDev, web])
      expect(yield* ids({ Tag: [{ Key: "env" }] })).toHaveLength(3)
    }).pipe(withSimulator()))

  it.effect("by status and by name", () =>
    Effect.gen(function*() {
      const done = yield* create(createRequest({ ContainerGroupName: "batch" }, { Command: ["true"] }))
      const server = yield* create(createRequest({ ContainerGroupName: "server" }))
      yield* at(200)
      expect(yield* ids({ Status: "Succeeded" })).toEqual([done])
      expect(yield* ids({ Status: "Running" })).toEqual([server])
      expect(yield* ids({ ContainerGroupName: "server" })).toEqual([server])
    }).pipe(withSimulator()))

  it.effect("events only with WithEvent=true", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      yield* at(100)
      const without = yield* list({ ContainerGroupIds: JSON.stringify([id]) })
      const withEvents = yield* list({ ContainerGroupIds: JSON.stringify([id]), WithEvent: true })
      expect(without.ContainerGroups?.[0]?.Events).toEqual([])
      expect(withEvents.ContainerGroups?.[0]?.Events?.length).toBeGreaterThan(0)
    }).pipe(withSimulator()))
})

describe("retention of terminal instances", () => {
  it.effect("a terminal instance disappears 1 h after it ended, unless among the newest N", () =>
    Effect.gen(function*() {
      // keepNewest 2 so that the rule shows with a handful of instances (ECI: 100).
      const finished = yield* createMany(4, {}, { Command: ["true"] })
      const running = yield* create(createRequest({ ContainerGroupName: "server" }))
      yield* at(90) // all four Succeeded at 90 ms
      yield* at(90 + 3_600_000 - 1)
      expect(yield* ids()).toHaveLength(5)
      yield* at(90 + 3_600_000)
      expect(yield* ids()).toEqual([running, finished[3], finished[2]])
      expect(yield* failureOf("DeleteContainerGroup", { RegionId: region, ContainerGroupId: finished[0]! })).toMatchObject({
        code: "InvalidContainerGroupId.NotFound"
      })
    }).pipe(withSimulator({ retention: { keepNewest: 2 } })))

  it.effect("running instances are never dropped; ScheduleFailed ones go after 24 h", () =>
    Effect.gen(function*() {
      const running = yield* create(createRequest())
      const failed = yield* create(createRequest({ ZoneId: "cn-hangzhou-x" }))
      yield* at(100)
      expect(yield* ids({ Status: "ScheduleFailed" })).toEqual([failed])
      yield* at(23 * 3_600_000)
      expect(yield* ids()).toEqual([failed, running])
      yield* at(24 * 3_600_000 + 50)
      expect(yield* ids()).toEqual([running])
    }).pipe(withSimulator({ retention: { keepNewest: 0 }, stockOut: { zones: ["cn-hangzhou-x"] } })))
})
