import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { admin, at, call, create, createRequest, describe1, failureOf, reasons, region, statusOf, withSimulator } from "./support.ts"

// Fast profile: Scheduling 50 ms, image pull 30 ms, start 10 ms → Running at 90 ms; back-off 100 ms
// doubling up to 3 s; Terminating/Restarting/Updating 50 ms; spot notice 500 ms; OOM after 50 ms.

describe("lifecycle under TestClock", () => {
  it.effect("an image without a command goes Scheduling → Pending → Running and stays there", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      expect(yield* statusOf(id)).toBe("Scheduling")
      yield* at(49)
      expect(yield* statusOf(id)).toBe("Scheduling")
      yield* at(50)
      const pending = yield* describe1(id)
      expect(pending?.Status).toBe("Pending")
      expect(pending?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Waiting", Reason: "ContainerCreating" })
      yield* at(90)
      const running = yield* describe1(id)
      expect(running?.Status).toBe("Running")
      expect(running?.Containers?.[0]).toMatchObject({
        Ready: true,
        RestartCount: 0,
        CurrentState: { State: "Running", Reason: "Started", StartTime: "1970-01-01T00:00:00Z" }
      })
      expect(reasons(running)).toEqual(["Pulling", "Pulled", "Created", "Started"])
      yield* at(3_600_000)
      expect(yield* statusOf(id)).toBe("Running")
    }).pipe(withSimulator()))

  it.effect("zone and address come from the vSwitch, deterministically", () =>
    Effect.gen(function*() {
      const a = yield* describe1(yield* create(createRequest({ VSwitchId: "vsw-abc" })))
      const b = yield* describe1(yield* create(createRequest({ VSwitchId: "vsw-abc" })))
      expect(a?.ZoneId).toMatch(/^cn-hangzhou-[a-k]$/)
      expect(b?.ZoneId).toBe(a?.ZoneId)
      expect(a?.VSwitchId).toBe("vsw-abc")
      expect(a?.IntranetIp).toMatch(/^10\.\d+\.\d+\.\d+$/)
      expect(b?.IntranetIp).not.toBe(a?.IntranetIp)
    }).pipe(withSimulator()))

  it.effect("a command that exits 0 under Never ends Succeeded with exit code and reason", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Command: ["sh", "-c", "echo hi; sleep 1"] }))
      yield* at(1_089)
      expect(yield* statusOf(id)).toBe("Running")
      yield* at(1_090)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Succeeded")
      expect(g?.SucceededTime).toBe("1970-01-01T00:00:01Z")
      expect(g?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Terminated", Reason: "Completed", ExitCode: 0 })
      expect(g?.Containers?.[0]?.Ready).toBe(false)
    }).pipe(withSimulator()))

  it.effect("a non-zero exit under Never ends Failed", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Command: ["sh", "-c"], Arg: ["exit 3"] }))
      yield* at(90)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Failed")
      expect(g?.FailedTime).toBeDefined()
      expect(g?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Terminated", Reason: "Error", ExitCode: 3 })
    }).pipe(withSimulator()))

  it.effect("a crashing container under Always restarts with growing RestartCount and back-off", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({ RestartPolicy: "Always" }, { Command: ["false"] }))
      yield* at(90) // started and exited at once → back-off 100 ms
      let g = yield* describe1(id)
      expect(g?.Status).toBe("Running")
      expect(g?.Containers?.[0]).toMatchObject({
        RestartCount: 0,
        CurrentState: { State: "Waiting", Reason: "CrashLoopBackOff" },
        PreviousState: { State: "Terminated", ExitCode: 1, Reason: "Error" }
      })
      // restart at 190 → started 200 (start delay 10 ms) → exits → back-off 200 ms → 410 → back-off 400 …
      yield* at(200)
      expect((yield* describe1(id))?.Containers?.[0]?.RestartCount).toBe(1)
      yield* at(410)
      expect((yield* describe1(id))?.Containers?.[0]?.RestartCount).toBe(2)
      yield* at(820)
      g = yield* describe1(id)
      expect(g?.Containers?.[0]?.RestartCount).toBe(3)
      expect(g?.Containers?.[0]?.CurrentState?.Message).toContain("back-off 0.8s")
      const backOff = g?.Events?.find((e) => e.Reason === "BackOff")
      expect(backOff).toMatchObject({ Type: "Warning", Count: 4 })
      expect(g?.Events?.find((e) => e.Reason === "Started")?.Count).toBe(4)
    }).pipe(withSimulator()))

  it.effect("OnFailure restarts only failures", () =>
    Effect.gen(function*() {
      const ok = yield* create(createRequest({ RestartPolicy: "OnFailure" }, { Command: ["true"] }))
      const bad = yield* create(createRequest({ RestartPolicy: "OnFailure" }, { Command: ["false"] }))
      yield* at(300)
      expect(yield* statusOf(ok)).toBe("Succeeded")
      expect(yield* statusOf(bad)).toBe("Running")
      expect((yield* describe1(bad))?.Containers?.[0]?.RestartCount).toBe(1)
    }).pipe(withSimulator()))

  it.effect("the command oom is OOMKilled: exit 137 and an OOMKilled event", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Command: ["oom"] }))
      yield* at(140)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Failed")
      expect(g?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Terminated", Reason: "OOMKilled", ExitCode: 137 })
      expect(g?.Events?.find((e) => e.Reason === "OOMKilled")).toMatchObject({ Type: "Warning" })
    }).pipe(withSimulator()))

  it.effect("init containers run first, one by one; app containers wait in PodInitializing", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({
        InitContainer: [
          { Name: "migrate", Image: "busybox", Command: ["sleep", "1"] },
          { Name: "seed", Image: "busybox", Command: ["echo", "seeded"] }
        ]
      }))
      yield* at(500)
      let g = yield* describe1(id)
      expect(g?.Status).toBe("Pending")
      expect(g?.InitContainers?.map((c) => c.CurrentState?.State)).toEqual(["Running", "Waiting"])
      expect(g?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Waiting", Reason: "PodInitializing" })
      // migrate exits at 1090, seed pulls+starts+exits at 1130, app pulls+starts at 1170
      yield* at(1_169)
      expect(yield* statusOf(id)).toBe("Pending")
      yield* at(1_170)
      g = yield* describe1(id)
      expect(g?.Status).toBe("Running")
      expect(g?.InitContainers?.map((c) => c.CurrentState?.Reason)).toEqual(["Completed", "Completed"])
      expect(g?.InitContainers?.[0]?.Command).toEqual(["sleep", "1"])
    }).pipe(withSimulator()))

  it.effect("a failing init container under Never fails the instance", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({ InitContainer: [{ Name: "check", Image: "busybox", Command: ["exit", "2"] }] }))
      yield* at(200)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Failed")
      expect(g?.Containers?.[0]?.CurrentState?.State).toBe("Waiting")
    }).pipe(withSimulator()))

  it.effect("an image that cannot be pulled keeps the instance Pending in ErrImagePull / ImagePullBackOff", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Image: "registry.example.com/does-not-exist:1" }))
      yield* at(80)
      let g = yield* describe1(id)
      expect(g?.Status).toBe("Pending")
      expect(g?.Containers?.[0]?.CurrentState?.Reason).toBe("ErrImagePull")
      yield* at(1_000)
      g = yield* describe1(id)
      expect(g?.Status).toBe("Pending")
      expect(g?.Containers?.[0]?.CurrentState?.Reason).toBe("ImagePullBackOff")
      expect(reasons(g)).toContain("BackOff")
    }).pipe(withSimulator()))

  it.effect("ActiveDeadlineSeconds fails a running instance", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({ ActiveDeadlineSeconds: 2 }))
      yield* at(2_000)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Failed")
      expect(reasons(g)).toContain("DeadlineExceeded")
    }).pipe(withSimulator()))

  it.effect("DeleteContainerGroup: Terminating, then gone; deleting again is NotFound", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      yield* at(100)
      yield* call("DeleteContainerGroup", { RegionId: region, ContainerGroupId: id })
      expect(yield* statusOf(id)).toBe("Terminating")
      yield* call("DeleteContainerGroup", { RegionId: region, ContainerGroupId: id }) // still there: fine
      yield* at(150)
      expect(yield* statusOf(id)).toBe("gone")
      expect(yield* failureOf("DeleteContainerGroup", { RegionId: region, ContainerGroupId: id })).toMatchObject({
        code: "InvalidContainerGroupId.NotFound",
        httpStatus: 404
      })
    }).pipe(withSimulator()))

  it.effect("RestartContainerGroup: Restarting, then every container starts again with RestartCount + 1", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest())
      yield* at(100)
      yield* call("RestartContainerGroup", { RegionId: region, ContainerGroupId: id })
      expect(yield* statusOf(id)).toBe("Restarting")
      yield* at(150)
      expect(yield* statusOf(id)).toBe("Pending")
      yield* at(160)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Running")
      expect(g?.Containers?.[0]).toMatchObject({ RestartCount: 1, PreviousState: { State: "Terminated", ExitCode: 137 } })
      expect(reasons(g)).toContain("Killing")
    }).pipe(withSimulator()))

  it.effect("UpdateContainerGroup with a new image restarts that container only", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({
        Container: [{ Name: "app", Image: "nginx:1.25" }, { Name: "sidecar", Image: "redis:7" }]
      }))
      yield* at(100)
      yield* call("UpdateContainerGroup", {
        RegionId: region,
        ContainerGroupId: id,
        UpdateType: "IncrementalUpdate",
        Container: [{ Name: "app", Image: "nginx:1.27" }]
      })
      expect(yield* statusOf(id)).toBe("Updating")
      yield* at(150 + 30 + 10)
      const g = yield* describe1(id)
      expect(g?.Status).toBe("Running")
      expect(g?.Containers?.map((c) => [c.Name, c.Image, c.RestartCount, c.CurrentState?.State])).toEqual([
        ["app", "nginx:1.27", 1, "Running"],
        ["sidecar", "redis:7", 0, "Running"]
      ])
    }).pipe(withSimulator()))

  it.effect("Update and Restart need Pending or Running: IncorrectStatus otherwise", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({}, { Command: ["true"] }))
      expect(yield* failureOf("RestartContainerGroup", { RegionId: region, ContainerGroupId: id })).toMatchObject({
        code: "IncorrectStatus",
        httpStatus: 400
      })
      yield* at(200)
      expect(yield* statusOf(id)).toBe("Succeeded")
      expect(
        yield* failureOf("UpdateContainerGroup", { RegionId: region, ContainerGroupId: id, Container: [{ Name: "app", Image: "nginx:2" }] })
      ).toMatchObject({ code: "IncorrectStatus" })
    }).pipe(withSimulator()))

  it.effect("a reclaimed spot instance gets SpotToBeReleased, then Expired", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({ SpotStrategy: "SpotAsPriceGo" }))
      yield* at(100)
      yield* admin((a) => a.reclaimSpot(id))
      let g = yield* describe1(id)
      expect(g?.Status).toBe("Running")
      expect(g?.Events?.find((e) => e.Reason === "SpotToBeReleased")).toMatchObject({ Type: "Warning" })
      yield* at(600)
      g = yield* describe1(id)
      expect(g?.Status).toBe("Expired")
      expect(g?.ExpiredTime).toBeDefined()
    }).pipe(withSimulator()))
})
