/**
 * The Eci contract: one suite of Eci-service behaviour, written as specifications that hold for the
 * real ECI too, run against the in-memory simulator (contract.inMemory.test.ts) and against the live
 * SDK layer talking to the wire simulator, with the same assertions.
 *
 * What a harness must provide:
 * - `layer`: a fresh `Eci` (ONE attempt per call: no retry policy, or the error cases would be
 *   retried away) and `SimulatorAdmin` (the simulator's control panel; the in-memory layer's
 *   directly, the wire face's over its admin HTTP API). The suite reaches the simulator only
 *   through these two.
 * - `clock`: "test" runs every case with `it.effect` under TestClock, and `advance` moves the
 *   TestClock; "live" runs with `it.live` on real time, and `advance` sleeps. Waiting is always a
 *   bounded poll of the API (`eventually`), never a fixed sleep before an assertion.
 * - the simulator must run the `fast` profile (Running about 100 ms after creation) and must not
 *   be shared with another suite running at the same time: cases change faults and quotas.
 *
 * Cases isolate themselves by a tag unique to the case, so a shared wire server is fine.
 * Sections: `lifecycle`, `listing`, `validation` (creates nothing), `observability` (logs, exec,
 * metrics), `imageCaches`, `faults` (admin-driven: quotas, injected errors, stock, spot, retention).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, type Layer } from "effect"
import { TestClock } from "effect/testing"
import { Eci, type EciAction, type EciRequest, type EciResponse } from "../../src/eci/Eci.ts"
import type {
  CreateContainerGroupRequest,
  CreateContainerGroupRequestContainer,
  DescribeContainerGroupsResponseBodyContainerGroups as Group
} from "../../src/eci/api.generated.ts"
import type { EciError } from "../../src/eci/errors.ts"
import { SimulatorAdmin } from "../../src/eci/simulator/admin.ts"

export interface EciContractHarness {
  /** Shown in the suite's title. */
  readonly name: string
  readonly layer: Layer.Layer<Eci | SimulatorAdmin, unknown>
  readonly clock: "test" | "live"
  readonly regionId: string
  /** Distinguishes this run's instances from leftovers of other runs on a shared server. */
  readonly runId: string
}

type Env = Eci | SimulatorAdmin

export const eciContract = (h: EciContractHarness) => {
  const test = h.clock === "test" ? it.effect : it.live
  const spec = (name: string, body: (c: CaseKit) => Effect.Effect<void, unknown, Env>, timeout = 30_000) =>
    test(name, () => body(caseKit(h, name)).pipe(Effect.provide(h.layer)), timeout)

  describe(`Eci contract (${h.name})`, () => {
    describe("lifecycle", () => {
      spec("a created group is found by id with what was asked for, and reaches Running", (c) =>
        Effect.gen(function*() {
          const request = c.request({}, { Image: "nginx:1.25", Command: ["sleep", "infinity"] })
          const id = (yield* c.call("CreateContainerGroup", request)).ContainerGroupId!
          const first = yield* c.describe(id)
          expect(first).toMatchObject({ ContainerGroupId: id, ContainerGroupName: request.ContainerGroupName, RegionId: h.regionId })
          expect(["Scheduling", "Pending", "Running"]).toContain(first?.Status)
          expect(first?.Tags).toContainEqual(c.tag)
          const running = yield* c.eventually("Running", c.describe(id), (g) => g?.Status === "Running")
          expect(running?.IntranetIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
          expect(running?.ZoneId).toMatch(new RegExp(`^${h.regionId}-`))
          expect(running?.Containers?.[0]).toMatchObject({
            Name: "app",
            Image: "nginx:1.25",
            Commands: ["sleep", "infinity"],
            Ready: true,
            CurrentState: { State: "Running" }
          })
        }))

      spec("the same ClientToken returns the same group; reusing it for another request is refused", (c) =>
        Effect.gen(function*() {
          const request = c.request({ ClientToken: c.token("same") })
          const create = c.call("CreateContainerGroup", request).pipe(Effect.map((r) => r.ContainerGroupId))
          const first = yield* create
          expect(yield* create).toBe(first)
          const refused = yield* c.failure("CreateContainerGroup", { ...request, RestartPolicy: "OnFailure" })
          expect(refused).toMatchObject({ _tag: "EciInvalidParameter", code: "IdempotentParameterMismatch" })
          expect(yield* c.listIds()).toEqual([first])
        }))

      spec("a command that exits 0 ends Succeeded; one that exits non-zero ends Failed with its code", (c) =>
        Effect.gen(function*() {
          const ok = yield* c.create({}, { Command: ["sh", "-c", "echo done"] })
          const bad = yield* c.create({}, { Command: ["sh", "-c", "exit 3"] })
          const succeeded = yield* c.eventually("Succeeded", c.describe(ok), (g) => g?.Status === "Succeeded")
          expect(succeeded?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Terminated", ExitCode: 0 })
          expect(succeeded?.SucceededTime).toBeTruthy()
          const failed = yield* c.eventually("Failed", c.describe(bad), (g) => g?.Status === "Failed")
          expect(failed?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Terminated", ExitCode: 3 })
        }))

      spec("a crashing container under Always is restarted: RestartCount grows, PreviousState keeps the exit", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create({ RestartPolicy: "Always" }, { Command: ["sh", "-c", "exit 2"] })
          const g = yield* c.eventually("two restarts", c.describe(id), (g) => (g?.Containers?.[0]?.RestartCount ?? 0) >= 2)
          expect(g?.Status).toBe("Running")
          expect(g?.Containers?.[0]?.PreviousState).toMatchObject({ State: "Terminated", ExitCode: 2 })
        }))

      spec("a container out of memory is OOMKilled with exit code 137", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create({}, { Command: ["oom"] })
          const g = yield* c.eventually("Failed", c.describe(id), (g) => g?.Status === "Failed")
          expect(g?.Containers?.[0]?.CurrentState).toMatchObject({ State: "Terminated", Reason: "OOMKilled", ExitCode: 137 })
        }))

      spec("a deleted group disappears; deleting it again is NotFound", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create()
          yield* c.eventually("Running", c.describe(id), (g) => g?.Status === "Running")
          yield* c.call("DeleteContainerGroup", { RegionId: h.regionId, ContainerGroupId: id })
          yield* c.eventually("gone", c.describe(id), (g) => g === undefined)
          expect(yield* c.failure("DeleteContainerGroup", { RegionId: h.regionId, ContainerGroupId: id })).toMatchObject({
            _tag: "EciNotFound"
          })
        }))

      spec("Update with a new image restarts that container with it; Restart restarts every container", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create()
          yield* c.eventually("Running", c.describe(id), (g) => g?.Status === "Running")
          yield* c.call("UpdateContainerGroup", {
            RegionId: h.regionId,
            ContainerGroupId: id,
            UpdateType: "IncrementalUpdate",
            Container: [{ Name: "app", Image: "nginx:1.27" }]
          })
          const updated = yield* c.eventually("the new image running", c.describe(id), (g) =>
            g?.Status === "Running" && g.Containers?.[0]?.Image === "nginx:1.27" && g.Containers[0].CurrentState?.State === "Running")
          expect(updated?.Containers?.[0]?.RestartCount).toBe(1)
          yield* c.call("RestartContainerGroup", { RegionId: h.regionId, ContainerGroupId: id })
          yield* c.eventually("restarted", c.describe(id), (g) =>
            g?.Status === "Running" && g.Containers?.[0]?.RestartCount === 2 && g.Containers[0].CurrentState?.State === "Running")
        }))

      spec("Update and Restart of a finished group are refused as the wrong state", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create({}, { Command: ["true"] })
          yield* c.eventually("Succeeded", c.describe(id), (g) => g?.Status === "Succeeded")
          expect(yield* c.failure("RestartContainerGroup", { RegionId: h.regionId, ContainerGroupId: id })).toMatchObject({
            _tag: "EciIncorrectState",
            code: "IncorrectStatus"
          })
          expect(
            yield* c.failure("UpdateContainerGroup", { RegionId: h.regionId, ContainerGroupId: id, Container: [{ Name: "app", Image: "nginx:2" }] })
          ).toMatchObject({ _tag: "EciIncorrectState" })
        }))

      spec("the request an instance was made from can be inspected (admin)", (c) =>
        Effect.gen(function*() {
          const request = c.request({}, { Command: ["sh", "-c", "echo 'a b'; sleep 1"], EnvironmentVar: [{ Key: "K", Value: "v w" }] })
          const id = (yield* c.call("CreateContainerGroup", request)).ContainerGroupId!
          const stored = yield* SimulatorAdmin.use((a) => a.createRequestOf(id))
          expect(stored.ContainerGroupName).toBe(request.ContainerGroupName)
          expect(stored.Container?.[0]?.Command).toEqual(["sh", "-c", "echo 'a b'; sleep 1"])
          expect(stored.Container?.[0]?.EnvironmentVar?.[0]).toMatchObject({ Key: "K", Value: "v w" })
        }))
    })

    describe("listing", () => {
      spec("pages of at most Limit with NextToken, TotalCount of all, every group once", (c) =>
        Effect.gen(function*() {
          const created = yield* Effect.forEach([1, 2, 3, 4, 5], () => c.create())
          const seen: Array<string> = []
          const sizes: Array<number> = []
          let token = ""
          do {
            const page = yield* c.call("DescribeContainerGroups", {
              RegionId: h.regionId,
              Tag: [c.tag],
              Limit: 2,
              ...(token === "" ? {} : { NextToken: token })
            })
            expect(page.TotalCount).toBe(5)
            sizes.push(page.ContainerGroups?.length ?? 0)
            seen.push(...(page.ContainerGroups ?? []).map((g) => g.ContainerGroupId!))
            token = page.NextToken ?? ""
          } while (token !== "")
          expect(sizes).toEqual([2, 2, 1])
          expect([...seen].sort()).toEqual([...created].sort())
        }))

      spec("filters by ids, by every tag given, and by status", (c) =>
        Effect.gen(function*() {
          const done = yield* c.create({ Tag: [c.tag, { Key: "role", Value: "batch" }] }, { Command: ["true"] })
          const server = yield* c.create({ Tag: [c.tag, { Key: "role", Value: "server" }] })
          yield* c.eventually("Succeeded", c.describe(done), (g) => g?.Status === "Succeeded")
          const ids = (request: Omit<EciRequest<"DescribeContainerGroups">, "RegionId">) =>
            c.call("DescribeContainerGroups", { RegionId: h.regionId, ...request }).pipe(
              Effect.map((r) => (r.ContainerGroups ?? []).map((g) => g.ContainerGroupId))
            )
          expect(yield* ids({ ContainerGroupIds: JSON.stringify([server, "eci-doesnotexist0000000"]) })).toEqual([server])
          expect(yield* ids({ Tag: [c.tag, { Key: "role", Value: "server" }] })).toEqual([server])
          expect(yield* ids({ Tag: [c.tag], Status: "Succeeded" })).toEqual([done])
        }))

      spec("more than 20 ids, Limit above 20, or ids that are not a JSON array are InvalidParameter", (c) =>
        Effect.gen(function*() {
          const tooMany = JSON.stringify(Array.from({ length: 21 }, (_, k) => `eci-${k}`))
          for (
            const request of [
              { RegionId: h.regionId, ContainerGroupIds: tooMany },
              { RegionId: h.regionId, Limit: 21 },
              { RegionId: h.regionId, ContainerGroupIds: "eci-a,eci-b" }
            ]
          ) {
            expect(yield* c.failure("DescribeContainerGroups", request)).toMatchObject({ _tag: "EciInvalidParameter" })
          }
        }))

      spec("terminal groups disappear after the retention window, except the newest ones (admin)", (c) =>
        Effect.gen(function*() {
          const ids = yield* Effect.forEach([1, 2, 3], () => c.create({}, { Command: ["true"] }))
          yield* SimulatorAdmin.use((a) => a.setRetention({ terminalMs: 300, keepNewest: 1 }))
          yield* c.eventually("only the newest left", c.listIds(), (left) => left.length === 1).pipe(
            Effect.ensuring(SimulatorAdmin.use((a) => a.setRetention({ terminalMs: 3_600_000, keepNewest: 100 })).pipe(Effect.orDie))
          )
          expect(yield* c.listIds()).toEqual([ids[2]])
        }))
    })

    describe("validation", () => {
      const refused: ReadonlyArray<readonly [string, (c: CaseKit) => CreateContainerGroupRequest, string]> = [
        ["a missing ContainerGroupName", (c) => ({ ...c.request(), ContainerGroupName: "" }), "MissingParameter"],
        ["a container without an image", (c) => ({ ...c.request(), Container: [{ Name: "app" }] }), "MissingParameter"],
        ["an invalid name", (c) => ({ ...c.request(), ContainerGroupName: "Not_Valid" }), "InvalidParameter"],
        ["an unsupported Cpu/Memory pair", (c) => ({ ...c.request(), Cpu: 2, Memory: 3 }), "InvalidParameter"],
        ["21 containers", (c) => ({ ...c.request(), Container: Array.from({ length: 21 }, (_, k) => ({ Name: `c${k}`, Image: "nginx" })) }), "InvalidParameter"],
        [
          "a mount of an undeclared volume",
          (c) => c.request({}, { VolumeMount: [{ Name: "missing", MountPath: "/data" }] }),
          "InvalidParameter"
        ],
        [
          "config file content that is not base64",
          (c) => ({
            ...c.request({}, { VolumeMount: [{ Name: "cfg", MountPath: "/etc/cfg" }] }),
            Volume: [{ Name: "cfg", Type: "ConfigFileVolume", ConfigFileVolume: { ConfigFileToPath: [{ Path: "a", Content: "%%%" }] } }]
          }),
          "InvalidParameter"
        ]
      ]
      for (const [what, request, code] of refused) {
        spec(`CreateContainerGroup refuses ${what} (${code}) and creates nothing`, (c) =>
          Effect.gen(function*() {
            expect(yield* c.failure("CreateContainerGroup", request(c))).toMatchObject({ _tag: "EciInvalidParameter", code })
            expect(yield* c.listIds()).toEqual([])
          }))
      }
    })

    describe("observability", () => {
      spec("DescribeContainerLog returns what the command printed; Tail and Timestamps shape it", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create({}, { Command: ["sh", "-c", "echo first; echo second"] })
          yield* c.eventually("Succeeded", c.describe(id), (g) => g?.Status === "Succeeded")
          const log = (request: Omit<EciRequest<"DescribeContainerLog">, "RegionId" | "ContainerGroupId" | "ContainerName"> = {}) =>
            c.call("DescribeContainerLog", { RegionId: h.regionId, ContainerGroupId: id, ContainerName: "app", ...request }).pipe(
              Effect.map((r) => r.Content ?? "")
            )
          expect(yield* log()).toBe("first\nsecond\n")
          expect(yield* log({ Tail: 1 })).toBe("second\n")
          expect(yield* log({ Timestamps: true })).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z first\n/)
          expect(yield* c.failure("DescribeContainerLog", { RegionId: h.regionId, ContainerGroupId: id, ContainerName: "app", Tail: 2001 }))
            .toMatchObject({ _tag: "EciInvalidParameter" })
        }))

      spec("ExecContainerCommand gives a WebSocketUri, or the output at once with Sync", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create()
          yield* c.eventually("Running", c.describe(id), (g) => g?.Status === "Running")
          const base = { RegionId: h.regionId, ContainerGroupId: id, ContainerName: "app" }
          const session = yield* c.call("ExecContainerCommand", { ...base, Command: JSON.stringify(["sh"]), TTY: true, Stdin: true })
          expect(session.WebSocketUri).toMatch(/^wss?:\/\//)
          const sync = yield* c.call("ExecContainerCommand", { ...base, Command: JSON.stringify(["echo", "hello"]), Sync: true })
          expect(sync.SyncResponse).toBe("hello\n")
          expect(yield* c.failure("ExecContainerCommand", { ...base, Command: "echo hello" })).toMatchObject({ _tag: "EciInvalidParameter" })
        }))

      spec("metrics of a running group: records with CPU and memory; more than 20 ids is InvalidParameter", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create()
          yield* c.eventually("Running", c.describe(id), (g) => g?.Status === "Running")
          const single = yield* c.call("DescribeContainerGroupMetric", { RegionId: h.regionId, ContainerGroupId: id })
          expect(single.ContainerGroupId).toBe(id)
          const multi = yield* c.eventually(
            "a record with usage",
            c.call("DescribeMultiContainerGroupMetric", { RegionId: h.regionId, ContainerGroupIds: JSON.stringify([id]) }),
            (r) => (r.MonitorDatas?.[0]?.Records?.[0]?.CPU?.UsageNanoCores ?? 0) > 0
          )
          expect(multi.MonitorDatas?.[0]?.Records?.[0]?.Memory?.WorkingSet).toBeGreaterThan(0)
          expect(multi.MonitorDatas?.[0]?.Records?.[0]?.Containers?.[0]?.Name).toBe("app")
          const tooMany = JSON.stringify(Array.from({ length: 21 }, () => id))
          expect(yield* c.failure("DescribeMultiContainerGroupMetric", { RegionId: h.regionId, ContainerGroupIds: tooMany }))
            .toMatchObject({ _tag: "EciInvalidParameter" })
        }))
    })

    describe("imageCaches", () => {
      spec("an image cache is built to Ready, can be deleted, and is then NotFound", (c) =>
        Effect.gen(function*() {
          const cacheName = c.name()
          const created = yield* c.call("CreateImageCache", {
            RegionId: h.regionId,
            ImageCacheName: cacheName,
            Image: ["nginx:1.25"],
            VSwitchId: "vsw-contract",
            SecurityGroupId: "sg-contract",
            Tag: [c.tag]
          })
          const id = created.ImageCacheId!
          const find = c.call("DescribeImageCaches", { RegionId: h.regionId, ImageCacheId: id }).pipe(Effect.map((r) => r.ImageCaches?.[0]))
          const ready = yield* c.eventually("Ready", find, (x) => x?.Status === "Ready")
          expect(ready).toMatchObject({ ImageCacheName: cacheName, Progress: "100%", Images: ["nginx:1.25"] })
          yield* c.call("DeleteImageCache", { RegionId: h.regionId, ImageCacheId: id })
          expect(yield* find).toBeUndefined()
          expect(yield* c.failure("DeleteImageCache", { RegionId: h.regionId, ImageCacheId: id })).toMatchObject({ _tag: "EciNotFound" })
        }))
    })

    describe("faults", () => {
      spec("an exhausted quota answers Throttling.User with HTTP 400 (admin)", (c) =>
        Effect.gen(function*() {
          yield* SimulatorAdmin.use((a) => a.setQuota("DescribeContainerLog", { perMinute: 1, burst: 1 }))
          const call = c.call("DescribeContainerLog", { RegionId: h.regionId, ContainerGroupId: "eci-none", ContainerName: "app" })
          yield* call.pipe(Effect.ignore)
          expect(yield* Effect.flip(call)).toMatchObject({ _tag: "EciThrottled", code: "Throttling.User", httpStatus: 400 })
        }).pipe(Effect.ensuring(SimulatorAdmin.use((a) => a.setQuota("DescribeContainerLog", undefined)).pipe(Effect.orDie))))

      spec("an injected ServiceUnavailable is a 503 the next call does not see (admin)", (c) =>
        Effect.gen(function*() {
          yield* SimulatorAdmin.use((a) => a.failNext("DescribeContainerGroups", { kind: "error", code: "ServiceUnavailable" }))
          expect(yield* c.failure("DescribeContainerGroups", { RegionId: h.regionId })).toMatchObject({
            _tag: "EciUnavailable",
            code: "ServiceUnavailable",
            httpStatus: 503
          })
          yield* c.call("DescribeContainerGroups", { RegionId: h.regionId })
        }))

      spec("a create whose answer is lost is found again with the same ClientToken (admin)", (c) =>
        Effect.gen(function*() {
          yield* SimulatorAdmin.use((a) => a.failNext("CreateContainerGroup", { kind: "drop", phase: "response" }))
          const request = c.request({ ClientToken: c.token("lost") })
          expect(yield* c.failure("CreateContainerGroup", request)).toMatchObject({ _tag: "EciUnavailable" })
          const id = yield* c.call("CreateContainerGroup", request).pipe(Effect.map((r) => r.ContainerGroupId))
          expect(yield* c.listIds()).toEqual([id])
        }))

      spec("no stock in the zone: the group goes ScheduleFailed with a NoStock event (admin)", (c) =>
        Effect.gen(function*() {
          yield* SimulatorAdmin.use((a) => a.setStockOut({ zones: [`${h.regionId}-z`] }))
          const id = yield* c.create({ ZoneId: `${h.regionId}-z` })
          const g = yield* c.eventually("ScheduleFailed", c.describe(id), (g) => g?.Status === "ScheduleFailed")
          expect(g?.Events?.map((e) => e.Reason)).toContain("NoStock")
        }).pipe(Effect.ensuring(SimulatorAdmin.use((a) => a.setStockOut({})).pipe(Effect.orDie))))

      spec("a reclaimed spot instance is warned with SpotToBeReleased, then Expired (admin)", (c) =>
        Effect.gen(function*() {
          const id = yield* c.create({ SpotStrategy: "SpotAsPriceGo" })
          yield* c.eventually("Running", c.describe(id), (g) => g?.Status === "Running")
          yield* SimulatorAdmin.use((a) => a.reclaimSpot(id))
          const warned = yield* c.describe(id)
          expect(warned?.Events?.map((e) => e.Reason)).toContain("SpotToBeReleased")
          yield* c.eventually("Expired", c.describe(id), (g) => g?.Status === "Expired")
        }))

      spec("a vSwitch out of addresses refuses creation with IpNotEnough (admin)", (c) =>
        Effect.gen(function*() {
          // Its own vSwitch id per run: addresses stay taken by running instances of earlier runs.
          const vSwitchId = `vsw-tiny-${h.runId}`
          yield* SimulatorAdmin.use((a) =>
            a.setTopology({
              vSwitches: [{ id: vSwitchId, zoneId: `${h.regionId}-k`, cidr: "192.168.0.0/29" }],
              securityGroups: [{ id: "sg-contract" }]
            })
          )
          const request = () => c.request({ VSwitchId: vSwitchId, SecurityGroupId: "sg-contract" })
          yield* Effect.forEach([1, 2, 3, 4], () => c.call("CreateContainerGroup", request()))
          // No address left is a capacity problem (another vSwitch may have room), not a bad request.
          expect(yield* c.failure("CreateContainerGroup", request())).toMatchObject({
            _tag: "EciOutOfStock",
            code: "InvalidVSwitchId.IpNotEnough"
          })
          // An unknown vSwitch is a bad request; EciNotFound would read as "the instance is gone".
          expect(yield* c.failure("CreateContainerGroup", c.request({ VSwitchId: "vsw-unknown", SecurityGroupId: "sg-contract" })))
            .toMatchObject({ _tag: "EciInvalidParameter", code: "InvalidVSwitchId.NotFound" })
        }).pipe(Effect.ensuring(SimulatorAdmin.use((a) => a.setTopology(null)).pipe(Effect.orDie))))
    })
  })
}

// ---------------------------------------------------------------------------------------------

interface CaseKit {
  /** The tag every instance of this case carries. */
  readonly tag: { readonly Key: string; readonly Value: string }
  /** A ClientToken unique to this case and `purpose` (at most 64 characters, as ECI requires). */
  readonly token: (purpose: string) => string
  /** A new name unique to this case: every call gives another one. */
  readonly name: () => string
  readonly request: (
    overrides?: Partial<CreateContainerGroupRequest>,
    container?: Partial<CreateContainerGroupRequestContainer>
  ) => CreateContainerGroupRequest
  readonly call: <A extends EciAction>(action: A, request: EciRequest<A>) => Effect.Effect<EciResponse<A>, EciError, Env>
  readonly failure: <A extends EciAction>(action: A, request: EciRequest<A>) => Effect.Effect<EciError, never, Env>
  readonly create: (
    overrides?: Partial<CreateContainerGroupRequest>,
    container?: Partial<CreateContainerGroupRequestContainer>
  ) => Effect.Effect<string, EciError, Env>
  readonly describe: (id: string) => Effect.Effect<Group | undefined, EciError, Env>
  /** Ids of this case's instances (by its tag). */
  readonly listIds: () => Effect.Effect<ReadonlyArray<string>, EciError, Env>
  /** Poll `check` until `done` holds; time moves by `advance` between polls; fails after 10 s of it. */
  readonly eventually: <A, E>(what: string, check: Effect.Effect<A, E, Env>, done: (a: A) => boolean) => Effect.Effect<A, E, Env>
}

const callEci = <A extends EciAction>(action: A, request: EciRequest<A>) => Eci.use((eci) => eci.call(action, request))

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40).replace(/-$/, "")

const caseKit = (h: EciContractHarness, caseName: string): CaseKit => {
  const caseId = `${slug(caseName)}-${h.runId}`.slice(0, 60).replace(/-$/, "")
  const tag = { Key: "contract-case", Value: caseId }
  let counter = 0
  const name = () => `${caseId}-${counter++}`.slice(0, 128)
  const request = (
    overrides: Partial<CreateContainerGroupRequest> = {},
    container: Partial<CreateContainerGroupRequestContainer> = {}
  ): CreateContainerGroupRequest => ({
    RegionId: h.regionId,
    ContainerGroupName: name(),
    VSwitchId: "vsw-contract",
    SecurityGroupId: "sg-contract",
    RestartPolicy: "Never",
    Tag: [tag],
    Container: [{ Name: "app", Image: "nginx:1.25", ...container }],
    ...overrides
  })
  const advance = (ms: number) => (h.clock === "test" ? TestClock.adjust(Duration.millis(ms)) : Effect.sleep(Duration.millis(ms)))
  const step = 50
  const limit = 10_000
  const describe = (id: string) =>
    callEci("DescribeContainerGroups", { RegionId: h.regionId, ContainerGroupIds: JSON.stringify([id]), WithEvent: true }).pipe(
      Effect.map((r) => r.ContainerGroups?.[0])
    )
  return {
    tag,
    token: (purpose) => `${caseId.slice(0, 56)}-${purpose.slice(0, 7)}`,
    name,
    request,
    call: callEci,
    failure: (action, req) =>
      callEci(action, req).pipe(
        Effect.flip,
        Effect.catch((ok) => Effect.die(new Error(`expected ${action} to fail, it answered ${JSON.stringify(ok)}`)))
      ),
    create: (overrides, container) =>
      callEci("CreateContainerGroup", request(overrides, container)).pipe(Effect.map((r) => r.ContainerGroupId!)),
    describe,
    listIds: () =>
      callEci("DescribeContainerGroups", { RegionId: h.regionId, Tag: [tag] }).pipe(
        Effect.map((r) => (r.ContainerGroups ?? []).map((g) => g.ContainerGroupId!))
      ),
    eventually: <A, E>(what: string, check: Effect.Effect<A, E, Env>, done: (a: A) => boolean) => {
      const attempt = (waited: number): Effect.Effect<A, E, Env> =>
        check.pipe(Effect.flatMap((a) => {
          if (done(a)) return Effect.succeed(a)
          if (waited >= limit) return Effect.die(new Error(`${what}: not reached after ${limit} ms; last seen ${JSON.stringify(a)}`))
          return advance(step).pipe(Effect.andThen(attempt(waited + step)))
        }))
      return attempt(0)
    }
  }
}
