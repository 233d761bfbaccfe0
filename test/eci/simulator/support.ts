import { Clock, Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { EciAction, EciRequest, EciResponse } from "../../../src/eci/Eci.ts"
import type {
  CreateContainerGroupRequest,
  CreateContainerGroupRequestContainer,
  DescribeContainerGroupsResponseBodyContainerGroups
} from "../../../src/eci/api.generated.ts"
import type { SimulatorAdminShape } from "../../../src/eci/simulator/admin.ts"
import type { SimulatorConfig } from "../../../src/eci/simulator/config.ts"
import type { SimulatorFailure } from "../../../src/eci/simulator/failures.ts"
import { EciSimulator } from "../../../src/eci/simulator/simulator.ts"

export const region = "cn-hangzhou"

/** A valid CreateContainerGroup request; tests change what they are about. */
export const createRequest = (
  overrides: Partial<CreateContainerGroupRequest> = {},
  container: Partial<CreateContainerGroupRequestContainer> = {}
): CreateContainerGroupRequest => ({
  RegionId: region,
  ContainerGroupName: "web",
  VSwitchId: "vsw-test1",
  SecurityGroupId: "sg-test1",
  RestartPolicy: "Never",
  Container: [{ Name: "app", Image: "nginx:1.25", ...container }],
  ...overrides
})

/** Run a test body against a fresh simulator (fast profile unless told otherwise). */
export const withSimulator = (config: Partial<SimulatorConfig> = {}) =>
  <A, E>(body: Effect.Effect<A, E, EciSimulator>) => body.pipe(Effect.provide(EciSimulator.layer({ profile: "fast", ...config })))

export const call = <A extends EciAction>(action: A, request: EciRequest<A>): Effect.Effect<EciResponse<A>, SimulatorFailure, EciSimulator> =>
  EciSimulator.use((sim) => sim.call(action, request))

/** The failure of a call that must fail, as `{ code, httpStatus }` plus the message. */
export const failureOf = <A extends EciAction>(action: A, request: EciRequest<A>) =>
  call(action, request).pipe(
    Effect.flip,
    Effect.map((f) => (f._tag === "SimulatorApiError" ? { code: f.code, httpStatus: f.httpStatus, message: f.message } : { code: "dropped", httpStatus: 0, message: f.phase }))
  )

export const admin = <A, E>(f: (admin: SimulatorAdminShape) => Effect.Effect<A, E>) => EciSimulator.use((sim) => f(sim.admin))

export const create = (request: CreateContainerGroupRequest) =>
  call("CreateContainerGroup", request).pipe(Effect.map((r) => r.ContainerGroupId!))

export const describe1 = (id: string, withEvent = true) =>
  call("DescribeContainerGroups", { RegionId: region, ContainerGroupIds: JSON.stringify([id]), WithEvent: withEvent }).pipe(
    Effect.map((r) => r.ContainerGroups?.[0] as DescribeContainerGroupsResponseBodyContainerGroups | undefined)
  )

export const statusOf = (id: string) => describe1(id).pipe(Effect.map((g) => g?.Status ?? "gone"))

/** Move the TestClock to `ms` after the test's start (time 0). */
export const at = (ms: number) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    if (ms > now) yield* TestClock.adjust(Duration.millis(ms - now))
  })

export const reasons = (g: DescribeContainerGroupsResponseBodyContainerGroups | undefined) => (g?.Events ?? []).map((e) => e.Reason)
