import { Effect, Redacted, Schema } from "effect"
import { eciActions } from "../api.generated.ts"
import type { EciAction } from "../Eci.ts"
import type { SimulatorAdminError, SimulatorAdminShape } from "./admin.ts"
import type { AccessKeyStore, AdminHandler } from "./wireServer.ts"

/**
 * The admin HTTP API of the wire face (documented in README.md, "Admin API"): JSON in, JSON out,
 * under `/admin/`. Each route maps onto one operation of the core's `SimulatorAdminShape`, plus the
 * access keys, which belong to the wire face. No authentication: the server listens on loopback.
 *
 * Bodies are checked against schemas mirroring the types of config.ts, so a typo answers 400 with the
 * schema's message instead of reaching the core.
 */

const Action = Schema.Literals(eciActions)
const InjectableCode = Schema.Literals(["ServiceUnavailable", "InternalError", "Throttling.User"])
const Phase = Schema.Literals(["request", "response"])
const Probability = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const NonNegative = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))

const FaultSpec = Schema.Struct({
  errorRate: Schema.optionalKey(Probability),
  errorCode: Schema.optionalKey(InjectableCode),
  dropRate: Schema.optionalKey(Probability),
  dropPhase: Schema.optionalKey(Phase),
  latencyMs: Schema.optionalKey(NonNegative)
})
const InjectedFailure = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("error"), code: InjectableCode }),
  Schema.Struct({ kind: Schema.Literal("drop"), phase: Phase })
])
const FailNext = Schema.Struct({ failure: InjectedFailure, times: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))) })
const QuotaSpec = Schema.Struct({
  perMinute: Schema.Number.check(Schema.isGreaterThan(0)),
  burst: Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))
})
const StockOutSpec = Schema.Struct({
  zones: Schema.optionalKey(Schema.Array(Schema.String)),
  specs: Schema.optionalKey(Schema.Array(Schema.String)),
  mode: Schema.optionalKey(Schema.Literals(["async", "sync"]))
})
const TopologySpec = Schema.Struct({
  regions: Schema.optionalKey(Schema.Array(Schema.String)),
  vSwitches: Schema.Array(Schema.Struct({
    id: Schema.String,
    zoneId: Schema.String,
    cidr: Schema.String,
    vpcId: Schema.optionalKey(Schema.String)
  })),
  securityGroups: Schema.Array(Schema.Struct({ id: Schema.String, vpcId: Schema.optionalKey(Schema.String) }))
})
const RetentionSpec = Schema.Struct({
  terminalMs: Schema.optionalKey(NonNegative),
  keepNewest: Schema.optionalKey(NonNegative),
  scheduleFailedMs: Schema.optionalKey(NonNegative),
  clientTokenMs: Schema.optionalKey(NonNegative)
})
const AccessKeys = Schema.Struct({
  keys: Schema.Array(Schema.Struct({ accessKeyId: Schema.NonEmptyString, accessKeySecret: Schema.NonEmptyString }))
})

type Answer = { readonly status: number; readonly body: unknown }
const ok = (body: unknown = { ok: true }): Answer => ({ status: 200, body })
const problem = (status: number, error: string): Answer => ({ status, body: { error } })

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, body: unknown) =>
  Schema.decodeUnknownEffect(schema)(body).pipe(
    Effect.mapError((e) => problem(400, `invalid body: ${e.message}`))
  )

const actionOf = (segment: string | undefined, allowAll: boolean): Effect.Effect<EciAction | "*", Answer> =>
  segment !== undefined && (Schema.is(Action)(segment) || (allowAll && segment === "*"))
    ? Effect.succeed(segment as EciAction | "*")
    : Effect.fail(problem(404, `unknown action "${segment ?? ""}"; one of ${allowAll ? "*, " : ""}${eciActions.join(", ")}`))

const onlyAction = (segment: string | undefined) =>
  actionOf(segment, false) as Effect.Effect<EciAction, Answer>

/** The routes (see README.md, "Admin API"). */
export const adminHandler = (admin: SimulatorAdminShape, accessKeys: AccessKeyStore): AdminHandler => (request) => {
  const segments = request.path.split("/").filter((s) => s !== "").slice(1).map(decodeURIComponent)
  const route = `${request.method} /${segments.map((s, i) => (i === 1 && segments.length > 1 ? ":x" : s)).join("/")}`
  const [, param] = segments
  const run = (): Effect.Effect<Answer, Answer | SimulatorAdminError> => {
    switch (route) {
      case "GET /health":
        return Effect.succeed(ok())
      case "POST /reset":
        return admin.reset.pipe(Effect.as(ok()))
      case "GET /instances":
        return Effect.gen(function*() {
          const instances = yield* admin.listInstances
          const withRequests = []
          for (const i of instances) {
            const createRequest = yield* admin.createRequestOf(i.containerGroupId).pipe(
              Effect.catchTag("SimulatorAdminError", () => Effect.succeed(null))
            )
            withRequests.push({ ...i, createRequest })
          }
          return ok({ instances: withRequests })
        })
      case "GET /instances/:x/create-request":
        return admin.createRequestOf(param!).pipe(Effect.map((r) => ok(r)))
      case "POST /instances/:x/reclaim-spot":
        return admin.reclaimSpot(param!).pipe(Effect.as(ok()))
      case "GET /journal":
        return admin.journal.pipe(Effect.map((entries) => ok({ entries })))
      case "PUT /faults/:x":
        return Effect.gen(function*() {
          const action = yield* actionOf(param, true)
          const spec = request.body === null ? null : yield* decode(FaultSpec, request.body)
          yield* admin.setFaults(action, spec)
          return ok()
        })
      case "DELETE /faults/:x":
        return actionOf(param, true).pipe(Effect.flatMap((a) => admin.setFaults(a, null)), Effect.as(ok()))
      case "POST /fail-next/:x":
        return Effect.gen(function*() {
          const action = yield* onlyAction(param)
          const { failure, times } = yield* decode(FailNext, request.body)
          yield* admin.failNext(action, failure, times ?? 1)
          return ok()
        })
      case "PUT /quotas/:x":
        return Effect.gen(function*() {
          const action = yield* onlyAction(param)
          const spec = request.body === null ? null : yield* decode(QuotaSpec, request.body)
          yield* admin.setQuota(action, spec)
          return ok()
        })
      case "DELETE /quotas/:x":
        return onlyAction(param).pipe(Effect.flatMap((a) => admin.setQuota(a, undefined)), Effect.as(ok()))
      case "PUT /stock-out":
        return decode(StockOutSpec, request.body).pipe(Effect.flatMap(admin.setStockOut), Effect.as(ok()))
      case "PUT /topology":
        return (request.body === null ? Effect.succeed(null) : decode(TopologySpec, request.body)).pipe(
          Effect.flatMap(admin.setTopology),
          Effect.as(ok())
        )
      case "PUT /retention":
        return decode(RetentionSpec, request.body).pipe(Effect.flatMap(admin.setRetention), Effect.as(ok()))
      case "GET /access-keys":
        return accessKeys.ids.pipe(Effect.map((ids) => ok({ accessKeyIds: ids })))
      case "PUT /access-keys":
        return decode(AccessKeys, request.body).pipe(
          Effect.flatMap(({ keys }) =>
            accessKeys.replace(keys.map((k) => ({ accessKeyId: k.accessKeyId, accessKeySecret: Redacted.make(k.accessKeySecret) })))
          ),
          Effect.as(ok())
        )
      default:
        return Effect.fail(problem(404, `no admin route ${request.method} ${request.path}; see README.md, "Admin API"`))
    }
  }
  return run().pipe(
    Effect.catch((e) => Effect.succeed("_tag" in e ? problem(400, e.message) : e))
  )
}
