import { Effect, Schedule, Stream, SubscriptionRef } from "effect"
import { Credentials } from "../credentials/Credentials.ts"
import { Eci } from "../eci/Eci.ts"
import type { EciError } from "../eci/errors.ts"
import { healthy, type NodeHealth } from "./nodeObject.ts"

/**
 * What one probe of ECI says about the node. Throttling says nothing about our health, so it keeps
 * the previous verdict (`undefined`) instead of flapping the node.
 */
export const healthFromProbe = (result: { readonly _tag: "Ok" } | { readonly _tag: "Failed"; readonly error: EciError }): NodeHealth | undefined => {
  if (result._tag === "Ok") return healthy
  const e = result.error
  const detail = `${e.code}: ${e.message}${e.requestId === "" ? "" : ` (RequestId ${e.requestId})`}`
  switch (e._tag) {
    case "EciAuthFailed":
      return e.code === "CredentialsUnavailable"
        ? { _tag: "Unhealthy", reason: "EciCredentialsMissing", message: `no ECI credentials: ${e.message}` }
        : {
          _tag: "Unhealthy",
          reason: "EciCredentialsRejected",
          message: `ECI rejected our credentials: ${detail}. Fix the access key (Secret or environment); the node recovers on its own once ECI accepts it`
        }
    case "EciUnavailable":
      return { _tag: "Unhealthy", reason: "EciUnreachable", message: `ECI cannot be reached or is failing: ${detail}` }
    case "EciThrottled":
      return undefined
    default:
      return { _tag: "Unhealthy", reason: "EciProbeFailed", message: `the ECI health probe failed: ${detail}` }
  }
}

/** One DescribeContainerGroups of one item: the cheapest call that proves endpoint and credentials. */
const probe = Effect.gen(function*() {
  const eci = yield* Eci
  return yield* eci.call("DescribeContainerGroups", { Limit: 1 }).pipe(
    Effect.as({ _tag: "Ok" as const }),
    Effect.catch((error) => Effect.succeed({ _tag: "Failed" as const, error }))
  )
})

/**
 * Probes ECI every `interval` (2 calls a minute by default: nothing against the 2000/min Describe
 * quota) and at once whenever the credentials change, so fixing a Secret brings the node back
 * without waiting. Writes the verdict into `health`; logs each change.
 */
export const runHealthCheck = (health: SubscriptionRef.SubscriptionRef<NodeHealth>, interval = "30 seconds" as const) =>
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const check = Effect.gen(function*() {
      const verdict = healthFromProbe(yield* probe)
      if (verdict === undefined) return
      const before = yield* SubscriptionRef.get(health)
      if (JSON.stringify(before) !== JSON.stringify(verdict)) {
        yield* verdict._tag === "Healthy"
          ? Effect.logInfo("node healthy: ECI accepts our credentials")
          : Effect.logWarning("node unhealthy", verdict.reason, verdict.message)
        yield* SubscriptionRef.set(health, verdict)
      }
    })
    const ticks = Stream.fromSchedule(Schedule.spaced(interval))
    const credentialChanges = credentials.changes.pipe(Stream.drop(1))
    yield* check
    yield* Stream.merge(ticks, credentialChanges).pipe(Stream.runForEach(() => check))
  })
