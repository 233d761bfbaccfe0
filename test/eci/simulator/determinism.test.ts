import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import type { SimulatorConfig } from "../../../src/eci/simulator/config.ts"
import { admin, at, call, create, createRequest, region, withSimulator } from "./support.ts"

/** A small scenario touching every kind of randomness and timing: ids, jitter, faults, restarts. */
const scenario = (poll: boolean) =>
  Effect.gen(function*() {
    yield* admin((a) => a.setFaults("DescribeContainerGroups", { errorRate: 0.3 }))
    const ids: Array<string> = []
    for (let k = 0; k < 6; k++) {
      ids.push(yield* create(createRequest({
        ContainerGroupName: `job-${k}`,
        RestartPolicy: k % 2 === 0 ? "Always" : "Never",
        VSwitchId: "vsw-a,vsw-b,vsw-c",
        ScheduleStrategy: "VSwitchRandom"
      }, { Command: ["sh", "-c", `echo run ${k}; sleep ${k}; exit ${k % 3}`] })))
      if (poll) {
        // Looking at the simulator must not change what happens in it.
        for (let t = 0; t < 20; t++) {
          yield* at(k * 1_000 + t * 50)
          yield* call("DescribeContainerGroups", { RegionId: region }).pipe(Effect.ignore)
        }
      }
      yield* at((k + 1) * 1_000)
    }
    yield* call("DeleteContainerGroup", { RegionId: region, ContainerGroupId: ids[2]! })
    yield* at(20_000)
    const journal = yield* admin((a) => a.journal)
    const instances = yield* admin((a) => a.listInstances)
    return { ids, journal, instances }
  })

/** Each run gets its own simulator and its own TestClock starting at 0. */
const run = (poll: boolean, config: Partial<SimulatorConfig>) =>
  scenario(poll).pipe(withSimulator({ profile: "realistic", ...config }), Effect.provide(TestClock.layer()))

describe("determinism", () => {
  it.effect("the same seed and the same calls give the identical journal, ids and zones", () =>
    Effect.gen(function*() {
      const first = yield* run(false, { seed: 7 })
      const second = yield* run(false, { seed: 7 })
      expect(second).toEqual(first)
      expect(first.journal.length).toBeGreaterThan(20)
    }))

  it.effect("another seed gives other ids and other jitter", () =>
    Effect.gen(function*() {
      const first = yield* run(false, { seed: 7 })
      const other = yield* run(false, { seed: 8 })
      expect(other.ids).not.toEqual(first.ids)
      expect(other.journal.map((e) => e.at)).not.toEqual(first.journal.map((e) => e.at))
    }))

  it.effect("polling (and the faults it draws) does not change the instances' history", () =>
    Effect.gen(function*() {
      const quiet = yield* run(false, { seed: 3 })
      const busy = yield* run(true, { seed: 3 })
      expect(busy.ids).toEqual(quiet.ids)
      expect(busy.journal).toEqual(quiet.journal)
      expect(busy.instances).toEqual(quiet.instances)
    }))
})
