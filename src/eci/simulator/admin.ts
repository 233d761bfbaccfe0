import { Context, Data, type Effect } from "effect"
import type { EciAction } from "../Eci.ts"
import type { CreateContainerGroupRequest } from "../api.generated.ts"
import type { FaultSpec, InjectedFailure, QuotaSpec, RetentionSpec, StockOutSpec, TopologySpec } from "./config.ts"

export class SimulatorAdminError extends Data.TaggedError("SimulatorAdminError")<{ readonly message: string }> {}

/** What `listInstances` reports of an instance: JSON-friendly, for tests, the admin API and the sandbox. */
export interface InstanceSummary {
  readonly containerGroupId: string
  readonly containerGroupName: string
  readonly regionId: string
  readonly zoneId: string
  readonly vSwitchId: string
  readonly status: string
  readonly intranetIp: string
  readonly creationTime: string
  readonly spot: boolean
  readonly tags: ReadonlyArray<{ readonly key: string; readonly value: string }>
  readonly containers: ReadonlyArray<{
    readonly name: string
    readonly state: string
    readonly reason: string
    readonly restartCount: number
  }>
}

export interface JournalEntry {
  readonly at: string
  readonly containerGroupId: string
  readonly what: string
}

/**
 * The simulator's control panel, independent of the face: the in-memory layer implements it on the
 * core directly, the wire face over its admin HTTP API. Everything is JSON-friendly.
 */
export interface SimulatorAdminShape {
  /** Forget every instance, cache, token and session; restore the configured quotas, faults, stock and topology. */
  readonly reset: Effect.Effect<void, SimulatorAdminError>
  /** Random faults for one action or all (`"*"`); `null` removes them. */
  readonly setFaults: (action: EciAction | "*", fault: FaultSpec | null) => Effect.Effect<void, SimulatorAdminError>
  /** Fail the next `times` calls of an action (deterministic). */
  readonly failNext: (action: EciAction, failure: InjectedFailure, times?: number) => Effect.Effect<void, SimulatorAdminError>
  /** `null` turns the quota off; `undefined` restores the configured one. The bucket starts full. */
  readonly setQuota: (action: EciAction, quota: QuotaSpec | null | undefined) => Effect.Effect<void, SimulatorAdminError>
  readonly setStockOut: (stockOut: StockOutSpec) => Effect.Effect<void, SimulatorAdminError>
  /** `null`: back to "any vsw-/sg- id is accepted". */
  readonly setTopology: (topology: TopologySpec | null) => Effect.Effect<void, SimulatorAdminError>
  readonly setRetention: (retention: Partial<RetentionSpec>) => Effect.Effect<void, SimulatorAdminError>
  /** Announce the reclaim of a spot instance (SpotToBeReleased event; Expired after the notice period). */
  readonly reclaimSpot: (containerGroupId: string) => Effect.Effect<void, SimulatorAdminError>
  /** Every instance the API can still see. */
  readonly listInstances: Effect.Effect<ReadonlyArray<InstanceSummary>, SimulatorAdminError>
  /** The CreateContainerGroup request an instance was made from; kept after the instance is gone. */
  readonly createRequestOf: (containerGroupId: string) => Effect.Effect<CreateContainerGroupRequest, SimulatorAdminError>
  /** State changes in time order (bounded). */
  readonly journal: Effect.Effect<ReadonlyArray<JournalEntry>, SimulatorAdminError>
}

export class SimulatorAdmin extends Context.Service<SimulatorAdmin, SimulatorAdminShape>()(
  "eci-virtual-node/SimulatorAdmin"
) {}
