import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { DescribeContainerLogRequest } from "../../../src/eci/api.generated.ts"
import { at, call, create, createRequest, failureOf, region, withSimulator } from "./support.ts"

const log = (id: string, request: Omit<DescribeContainerLogRequest, "RegionId" | "ContainerGroupId"> = {}) =>
  call("DescribeContainerLog", { RegionId: region, ContainerGroupId: id, ContainerName: "app", ...request }).pipe(
    Effect.map((r) => r.Content ?? "")
  )

describe("DescribeContainerLog", () => {
  it.effect("what the scripted command printed, as it printed it", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Command: ["sh", "-c", "echo one; echo two >&2; sleep 5; echo three"] }))
      expect(yield* log(id)).toBe("") // not started yet
      yield* at(1_000)
      expect(yield* log(id)).toBe("one\ntwo\n")
      yield* at(6_000)
      expect(yield* log(id)).toBe("one\ntwo\nthree\n")
      expect(yield* log(id, { Tail: 1 })).toBe("three\n")
      expect(yield* log(id, { Tail: 0 })).toBe("")
      expect(yield* log(id, { LimitBytes: 6 })).toBe("one\ntw")
    }).pipe(withSimulator()))

  it.effect("Timestamps, SinceSeconds and StartTime select by the time a line was printed", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Command: ["sh", "-c", "echo early; sleep 10; echo late"] }))
      yield* at(20_000)
      // started at 90 ms; `late` printed at 10.09 s
      expect(yield* log(id, { Timestamps: true })).toBe(
        "1970-01-01T00:00:00.090000000Z early\n1970-01-01T00:00:10.090000000Z late\n"
      )
      expect(yield* log(id, { SinceSeconds: 15 })).toBe("late\n")
      expect(yield* log(id, { StartTime: "1970-01-01T00:00:10Z" })).toBe("late\n")
      expect(yield* log(id, { StartTime: "1970-01-01T00:00:11Z" })).toBe("")
    }).pipe(withSimulator()))

  it.effect("a long-running image logs a banner and then a line every interval (logs -f has something to follow)", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      yield* at(90 + 1_000)
      const lines = (yield* log(id)).trimEnd().split("\n")
      expect(lines.slice(0, 2)).toEqual([
        "/docker-entrypoint.sh: Configuration complete; ready for start up",
        "nginx: [notice] start worker processes"
      ])
      expect(lines).toHaveLength(2 + 5) // one line every 200 ms in the fast profile
      yield* at(90 + 10 * 3_600_000)
      const tail = (yield* log(id, { Tail: 2000 })).trimEnd().split("\n")
      expect(tail).toHaveLength(2000)
      expect(tail.at(-1)).toContain("request=180000")
    }).pipe(withSimulator()))

  it.effect("LastTime shows the previous run of a restarted container", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({ RestartPolicy: "Always" }, { Command: ["sh", "-c", "echo attempt; exit 1"] }))
      expect(yield* log(id, { LastTime: true })).toBe("")
      yield* at(300)
      expect(yield* log(id)).toBe("attempt\n")
      expect(yield* log(id, { LastTime: true })).toBe("attempt\n")
    }).pipe(withSimulator()))

  it.effect("limits: Tail ≤ 2000, LimitBytes 1..1 MiB, a valid StartTime, a known container", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      const base = { RegionId: region, ContainerGroupId: id, ContainerName: "app" }
      expect(yield* failureOf("DescribeContainerLog", { ...base, Tail: 2001 })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("DescribeContainerLog", { ...base, LimitBytes: 0 })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("DescribeContainerLog", { ...base, StartTime: "yesterday" })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("DescribeContainerLog", { ...base, ContainerName: "nope" })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("DescribeContainerLog", { ...base, ContainerName: "" })).toMatchObject({ code: "MissingParameter" })
      expect(yield* failureOf("DescribeContainerLog", { ...base, ContainerGroupId: "eci-gone" })).toMatchObject({
        code: "InvalidContainerGroupId.NotFound"
      })
    }).pipe(withSimulator()))
})

describe("metrics", () => {
  it.effect("DescribeContainerGroupMetric: one record per Period, plausible and growing counters", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({ Cpu: 2, Memory: 4 }, { Cpu: 1, Memory: 2 }))
      yield* at(10 * 60_000)
      const r = yield* call("DescribeContainerGroupMetric", { RegionId: region, ContainerGroupId: id })
      expect(r.ContainerGroupId).toBe(id)
      expect(r.Records).toHaveLength(6) // the last 5 minutes, every 60 s, both ends included
      const [first, last] = [r.Records![0]!, r.Records!.at(-1)!]
      expect(last.Timestamp).toBe("1970-01-01T00:10:00Z")
      expect(last.CPU!.UsageNanoCores!).toBeGreaterThan(0)
      expect(last.CPU!.UsageNanoCores!).toBeLessThanOrEqual(2e9)
      expect(last.CPU!.UsageCoreNanoSeconds!).toBeGreaterThan(first.CPU!.UsageCoreNanoSeconds!)
      expect(last.Memory!.WorkingSet!).toBeGreaterThan(0)
      expect(last.Memory!.WorkingSet!).toBeLessThan(2 * 1024 ** 3)
      expect(last.Containers?.map((c) => c.Name)).toEqual(["app"])
      expect(last.Network?.Interfaces?.[0]?.RxBytes).toBeGreaterThan(first.Network?.Interfaces?.[0]?.RxBytes ?? 0)
      const again = yield* call("DescribeContainerGroupMetric", { RegionId: region, ContainerGroupId: id })
      expect(again.Records).toEqual(r.Records) // deterministic
    }).pipe(withSimulator()))

  it.effect("a range of more than 50 records, or an unknown Period, is InvalidParameter", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      yield* at(2 * 3_600_000)
      const base = { RegionId: region, ContainerGroupId: id }
      expect(yield* failureOf("DescribeContainerGroupMetric", { ...base, StartTime: "1970-01-01T00:00:00Z", Period: "60" })).toMatchObject({
        code: "InvalidParameter"
      })
      expect(yield* failureOf("DescribeContainerGroupMetric", { ...base, Period: "7" })).toMatchObject({ code: "InvalidParameter" })
      const r = yield* call("DescribeContainerGroupMetric", { ...base, StartTime: "1970-01-01T01:00:00Z", EndTime: "1970-01-01T01:10:00Z", Period: "600" })
      expect(r.Records?.map((x) => x.Timestamp)).toEqual(["1970-01-01T01:00:00Z", "1970-01-01T01:10:00Z"])
    }).pipe(withSimulator()))

  it.effect("DescribeMultiContainerGroupMetric: the latest record of each known instance, at most 20 ids", () =>
    Effect.gen(function*() {
      const a = yield* create(createRequest())
      const b = yield* create(createRequest({}, { Command: ["true"] }))
      yield* at(60_000)
      const r = yield* call("DescribeMultiContainerGroupMetric", {
        RegionId: region,
        ContainerGroupIds: JSON.stringify([a, b, "eci-unknown"]),
        MetricType: "summary"
      })
      expect(r.MonitorDatas?.map((m) => m.ContainerGroupId)).toEqual([a, b])
      const [running, done] = r.MonitorDatas!.map((m) => m.Records![0]!)
      expect(running?.CPU?.UsageNanoCores).toBeGreaterThan(0)
      expect(done?.CPU?.UsageNanoCores).toBe(0)
      expect(running?.Disk?.[0]).toHaveProperty("ReadIo")
      expect(
        yield* failureOf("DescribeMultiContainerGroupMetric", { RegionId: region, ContainerGroupIds: JSON.stringify(Array(21).fill(a)) })
      ).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("DescribeMultiContainerGroupMetric", { RegionId: region })).toMatchObject({ code: "MissingParameter" })
    }).pipe(withSimulator()))
})
