import { Context, type Effect } from "effect"
import type { EciActions } from "./api.generated.ts"
import type { EciError } from "./errors.ts"

export type EciAction = keyof EciActions
export type EciRequest<A extends EciAction> = EciActions[A]["request"]
export type EciResponse<A extends EciAction> = EciActions[A]["response"]

/**
 * The ECI API as the product uses it: one typed call per action, in the wire shape the API documents
 * (PascalCase fields, see api.generated.ts). `RegionId` is filled in by the layer when absent.
 *
 * Layers:
 * - `EciLive` (eciLive.ts): the real `@alicloud/eci20180808` SDK over HTTP(S), behind the shared
 *   client policy (per-action token buckets, retries of transient errors, metrics, logs).
 * - the simulator (simulator/): the same policy over an in-memory fake ECI, for deterministic tests.
 */
export class Eci extends Context.Service<Eci, {
  readonly call: <A extends EciAction>(action: A, request: EciRequest<A>) => Effect.Effect<EciResponse<A>, EciError>
}>()("eci-virtual-node/Eci") {}

/**
 * A transport performs one attempt of one action and reports failures already classified. The
 * client policy (policy.ts) turns a transport into the Eci service.
 */
export type EciTransport = <A extends EciAction>(
  action: A,
  request: EciRequest<A>
) => Effect.Effect<EciResponse<A>, EciError>
