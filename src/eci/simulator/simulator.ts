/**
 * The ECI simulator: one core, two faces.
 *
 * ## Entry point for a face (the wire server, the in-memory layer)
 *
 *   const sim = yield* EciSimulator   // Layer: EciSimulator.layer({ profile, seed, … }); or makeSimulator(config)
 *   sim.handle(action: string, request: unknown)
 *     : Effect<Record<string, unknown>, SimulatorFailure>
 *
 * - `action` is the `x-acs-action` header; `request` the PascalCase request object exactly as the
 *   SDK would send it (see api.generated.ts), e.g. `{ RegionId, ContainerGroupName, Container: [ {
 *   Name, Image, Command: ["sh", "-c", "…"] } ], Tag: [ { Key, Value } ] }`. Numbers and booleans
 *   may stay strings ("0.5", "true") and arrays may be `{ "1": …, "2": … }` objects: the core reads
 *   them as the gateway would. JSON-string parameters (ContainerGroupIds, exec Command) stay strings.
 * - Success: the response body, `RequestId` included → serialise as JSON, HTTP 200.
 * - `SimulatorApiError { code, message, httpStatus, requestId }` → the ECI error envelope
 *   `{ Code, Message, RequestId, HostId, Recommend }` with that HTTP status.
 * - `SimulatorConnectionDropped { phase, requestId }` → destroy the socket without answering
 *   (`phase: "response"` means the action WAS carried out).
 * - `sim.call(action, request)` is the same, typed by action (EciRequest<A> → EciResponse<A>).
 * - `sim.openExec(token)` (scoped): the session an ExecContainerCommand WebSocketUri names
 *   (`…/exec/?s=<token>`); one-time. See exec.ts for the ExecProcess (stdin, output, exit code).
 * - `sim.admin`: the SimulatorAdmin operations (admin.ts) to map onto the admin HTTP API.
 * - `simulatorTransport(sim)`: an `EciTransport` (one attempt, failures classified by
 *   `classifyEciError`), for the client policy or the in-memory Eci layer.
 *
 * Time comes from the Clock and randomness from a Random seeded with `config.seed`, both captured
 * when the layer is built; nothing else is read, so a run under TestClock replays exactly.
 */
import { Clock, Context, Duration, Effect, Layer, Random, type Scope } from "effect"
import type { EciAction, EciRequest, EciResponse, EciTransport } from "../Eci.ts"
import { type CreateContainerGroupRequest, eciActions } from "../api.generated.ts"
import { classifyEciError } from "../errors.ts"
import { SimulatorAdminError, type SimulatorAdminShape } from "./admin.ts"
import { defaultConfig, type InjectedFailure, type SimulatorConfig, type Timings } from "./config.ts"
import { SimulatorCore } from "./core.ts"
import { type ExecProcess, startExec } from "./exec.ts"
import { type ApiErrorInfo, EciFault, Faults, SimulatorApiError, SimulatorConnectionDropped, type SimulatorFailure } from "./failures.ts"

export interface EciSimulatorShape {
  readonly config: SimulatorConfig
  readonly timings: Timings
  /** The face-independent entry point: one request of one action. */
  readonly handle: (action: string, request: unknown) => Effect.Effect<Record<string, unknown>, SimulatorFailure>
  /** `handle`, typed by action. */
  readonly call: <A extends EciAction>(action: A, request: EciRequest<A>) => Effect.Effect<EciResponse<A>, SimulatorFailure>
  /** Open the exec session named by an ExecContainerCommand WebSocketUri (one-time). */
  readonly openExec: (token: string) => Effect.Effect<ExecProcess, SimulatorAdminError, Scope.Scope>
  readonly admin: SimulatorAdminShape
}

const isAction = (action: string): action is EciAction => (eciActions as ReadonlyArray<string>).includes(action)

const injected = (failure: InjectedFailure): ApiErrorInfo =>
  failure.kind === "error"
    ? (failure.code === "InternalError"
      ? Faults.internalError()
      : failure.code === "Throttling.User"
      ? Faults.throttled()
      : Faults.serviceUnavailable()).info
    : Faults.serviceUnavailable().info

/** Build a simulator: captures the current Clock and a Random seeded with `config.seed`. */
export const makeSimulator = (overrides: Partial<SimulatorConfig> = {}): Effect.Effect<EciSimulatorShape> =>
  Effect.gen(function*() {
    const config: SimulatorConfig = { ...defaultConfig, ...overrides }
    const clock = yield* Clock.Clock
    const rng = yield* Random.Random.pipe(Random.withSeed(config.seed))
    const core = new SimulatorCore(config, rng)
    const now = () => clock.currentTimeMillisUnsafe()

    const handle = (action: string, request: unknown): Effect.Effect<Record<string, unknown>, SimulatorFailure> =>
      Effect.suspend(() => {
        const requestId = core.newRequestId()
        const apiError = (info: ApiErrorInfo) => new SimulatorApiError({ ...info, requestId })
        if (!isAction(action)) return Effect.fail(apiError(Faults.unknownAction(action).info))
        const draw = core.faults.draw(action, () => core.draw())
        const run = Effect.suspend((): Effect.Effect<Record<string, unknown>, SimulatorFailure> => {
          const at = now()
          // The gateway throttles before the service sees the request.
          if (!core.quotas.take(action, at)) return Effect.fail(apiError(Faults.throttled().info))
          if (draw.before !== undefined) {
            return Effect.fail(
              draw.before.kind === "drop"
                ? new SimulatorConnectionDropped({ phase: "request", requestId })
                : apiError(injected(draw.before))
            )
          }
          let body: Record<string, unknown>
          try {
            body = core.dispatch(action, request, at)
          } catch (e) {
            if (e instanceof EciFault) return Effect.fail(apiError(e.info))
            return Effect.die(e)
          }
          if (draw.after !== undefined) return Effect.fail(new SimulatorConnectionDropped({ phase: "response", requestId }))
          return Effect.succeed({ ...body, RequestId: requestId })
        })
        return draw.latencyMs > 0 ? clock.sleep(Duration.millis(draw.latencyMs)).pipe(Effect.andThen(run)) : run
      })

    const adminSync = <A>(f: () => A): Effect.Effect<A, SimulatorAdminError> =>
      Effect.suspend(() => {
        try {
          core.advanceAll(now())
          return Effect.succeed(f())
        } catch (e) {
          return Effect.fail(new SimulatorAdminError({ message: e instanceof Error ? e.message : String(e) }))
        }
      })

    const admin: SimulatorAdminShape = {
      reset: adminSync(() => {
        core.reset()
        core.quotas.reset()
        core.faults.reset()
      }),
      setFaults: (action, fault) => adminSync(() => core.faults.set(action, fault)),
      failNext: (action, failure, times = 1) => adminSync(() => core.faults.failNext(action, failure, times)),
      setQuota: (action, quota) => adminSync(() => core.quotas.set(action, quota)),
      setStockOut: (stockOut) => adminSync(() => core.setStockOut(stockOut)),
      setTopology: (topology) => adminSync(() => core.setTopology(topology ?? undefined)),
      setRetention: (retention) => adminSync(() => core.setRetention(retention)),
      reclaimSpot: (id) =>
        adminSync(() => core.reclaimSpot(id, now())).pipe(
          Effect.flatMap((problem) => problem === undefined ? Effect.void : Effect.fail(new SimulatorAdminError({ message: problem })))
        ),
      listInstances: adminSync(() => core.listInstances()),
      createRequestOf: (id) =>
        adminSync(() => core.createRequestOf(id)).pipe(
          Effect.flatMap((r) =>
            r === undefined
              ? Effect.fail(new SimulatorAdminError({ message: `no CreateContainerGroup request for ${id}` }))
              : Effect.succeed(r as CreateContainerGroupRequest)
          )
        ),
      journal: adminSync(() => core.journal())
    }

    const openExec = (token: string) =>
      Effect.suspend(() => {
        const session = core.takeExecSession(token, now())
        return session === undefined
          ? Effect.fail(new SimulatorAdminError({ message: `no exec session ${token} (unknown, expired or already opened)` }))
          : startExec(session, clock)
      })

    return {
      config,
      timings: core.timings,
      handle,
      call: <A extends EciAction>(action: A, request: EciRequest<A>) =>
        handle(action, request) as unknown as Effect.Effect<EciResponse<A>, SimulatorFailure>,
      openExec,
      admin
    }
  })

export class EciSimulator extends Context.Service<EciSimulator, EciSimulatorShape>()("eci-virtual-node/EciSimulator") {
  /** A fresh simulator per layer build (a test gets its own state and its own TestClock). */
  static readonly layer = (config: Partial<SimulatorConfig> = {}) => Layer.effect(EciSimulator, makeSimulator(config))
}

/** How a simulator failure reaches the product: classified exactly as a live ECI answer would be. */
export const toEciError = (action: string, failure: SimulatorFailure) =>
  failure._tag === "SimulatorApiError"
    ? classifyEciError({ action, code: failure.code, message: failure.message, requestId: failure.requestId, httpStatus: failure.httpStatus })
    : classifyEciError({
      action,
      code: "NetworkError",
      message: `socket hang up: the simulator dropped the connection (${failure.phase === "response" ? "after" : "before"} carrying the action out)`,
      requestId: failure.requestId
    })

/** One attempt of one action against the simulator, failures classified (no retries). */
export const simulatorTransport = (sim: EciSimulatorShape): EciTransport => (action, request) =>
  sim.call(action, request).pipe(Effect.mapError((failure) => toEciError(action, failure)))
