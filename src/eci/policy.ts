import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { RateLimiter } from "effect/persistence"
import { Eci, type EciAction, type EciRequest, type EciResponse, type EciTransport } from "./Eci.ts"
import { type EciError, EciUnavailable, isRetryable } from "./errors.ts"

/**
 * The client policy: what every ECI call goes through, whatever carries it (the real SDK or the
 * simulator). Per attempt: a token from the action's bucket, then the transport under a timeout.
 * Per call: retries with exponential backoff and jitter while the error is retryable, up to a bound;
 * metrics; one log line when the call fails for good. `RegionId` is filled in when absent.
 *
 * Everything runs on Effect's Clock and Random, so under `TestClock` and `Random.withSeed` a run
 * replays exactly.
 */

/** A client-side quota for one action: `burst` calls at once, then `perSecond` on average. */
export interface ActionQuota {
  readonly perSecond: number
  readonly burst: number
}

/**
 * Our bucket holds nine tenths of ECI's. The tokens left in ECI's bucket absorb the difference
 * between when we take a token and when ECI counts the call (a request that travels faster than the
 * one before it arrives "early") and the account's other callers: with equal buckets a burst
 * throttled at the quota drew a Throttling error now and then (bench, quota profile).
 */
const BURST_HEADROOM = 0.9

const perMinute = (n: number): ActionQuota => ({ perSecond: n / 60, burst: Math.max(1, Math.floor(Math.min(100, n / 10) * BURST_HEADROOM)) })

/**
 * ECI's documented flow-control limits (per account, region and action; eci-reference §3.3, current
 * "Flow control information" page). The bucket refills at the documented rate; ECI's burst is a tenth
 * of a minute's quota, at most 100 (the documented token-bucket capacity of Create/Delete), and ours
 * nine tenths of that (`BURST_HEADROOM`), so our calls never outrun a per-minute window on the server. DescribeImageCaches and DeleteImageCache have no
 * published limit: they get CreateImageCache's 200/min, the lowest of the family (an assumption).
 * Several of our processes share an account's quota; lower these with `quotas` when they do.
 */
export const documentedQuotas: { readonly [A in EciAction]: ActionQuota } = {
  CreateContainerGroup: perMinute(1000),
  DescribeContainerGroups: perMinute(2000),
  DeleteContainerGroup: perMinute(1000),
  UpdateContainerGroup: perMinute(1000),
  RestartContainerGroup: perMinute(1000),
  DescribeContainerLog: perMinute(500),
  ExecContainerCommand: perMinute(500),
  DescribeContainerGroupMetric: perMinute(2000),
  DescribeMultiContainerGroupMetric: perMinute(2000),
  CreateImageCache: perMinute(200),
  DescribeImageCaches: perMinute(200),
  DeleteImageCache: perMinute(200)
}

/** The documented quotas times `factor` (an account with raised quotas, or several processes sharing one). */
export const scaledQuotas = (factor: number): { readonly [A in EciAction]: ActionQuota } =>
  Object.fromEntries(
    Object.entries(documentedQuotas).map(([action, q]) => [action, { perSecond: q.perSecond * factor, burst: Math.max(1, q.burst * factor) }])
  ) as { readonly [A in EciAction]: ActionQuota }

export interface RetryOptions {
  /** Attempts per call, the first included (1 = no retry). */
  readonly maxAttempts: number
  /** Delay before the first retry; each further retry doubles it (then ±20% jitter). */
  readonly baseDelay: Duration.Input
  /** Cap on the delay before jitter. */
  readonly maxDelay: Duration.Input
}

export interface EciPolicyOptions {
  /** Filled into requests that carry no `RegionId`. */
  readonly regionId: string
  /** Per-action overrides of `documentedQuotas`. */
  readonly quotas?: { readonly [A in EciAction]?: ActionQuota }
  readonly retry?: Partial<RetryOptions>
  /**
   * Upper bound on one attempt. A backstop: the live transport's own HTTP timeouts should fire
   * first (they say whether it was connect or read), so keep this above them.
   */
  readonly attemptTimeout?: Duration.Input
}

export const defaultRetry: RetryOptions = { maxAttempts: 5, baseDelay: "300 millis", maxDelay: "10 seconds" }
export const defaultAttemptTimeout: Duration.Input = "30 seconds"

/** Calls by action and outcome (`success` or the error's tag). */
export const callsTotal = Metric.counter("eci_calls_total", {
  description: "ECI calls by action and outcome (success or the error tag), after retries",
  incremental: true
})
/** Retries by action and the code that caused them. */
export const retriesTotal = Metric.counter("eci_retries_total", {
  description: "ECI attempts retried, by action and error code",
  incremental: true
})
/** Throttling by action; `source` = `client` (our bucket made the call wait) or `server` (ECI refused it). */
export const throttlesTotal = Metric.counter("eci_throttles_total", {
  description: "ECI attempts delayed by the client token bucket (source=client) or refused by ECI flow control (source=server)",
  incremental: true
})
/** Latency of single attempts (transport only, without bucket waits or backoff). */
export const attemptDuration = Metric.histogram("eci_attempt_duration_seconds", {
  description: "Duration of one ECI attempt in seconds, by action",
  boundaries: Metric.exponentialBoundaries({ start: 0.01, factor: 2, count: 13 })
})

const withRegion = <A extends EciAction>(request: EciRequest<A>, regionId: string): EciRequest<A> =>
  "RegionId" in request && typeof request.RegionId === "string" && request.RegionId !== ""
    ? request
    : { ...request, RegionId: regionId }

/**
 * The token bucket of `quota` as `effect/persistence`'s RateLimiter sees it (the same mechanism as the
 * Kubernetes client's): `burst` tokens per `burst / perSecond` seconds, callers delayed, never refused.
 */
const bucketOptions = (action: EciAction, quota: ActionQuota) => {
  const burst = Math.max(1, Math.floor(quota.burst))
  return {
    key: `eci:${action}`,
    algorithm: "token-bucket",
    limit: burst,
    window: Duration.millis((burst * 1000) / quota.perSecond)
  } as const
}

/**
 * Builds the Eci service over a transport. The buckets live in the returned service (each policy has
 * its own in-memory limiter store), so build it once per process and share it.
 */
/**
 * The client-side quota per action, per minute: with `eci_calls_total` it gives the share of the
 * quota in use (`rate(eci_calls_total[1m]) * 60 / eci_quota_per_minute`).
 */
export const quotaPerMinute = Metric.gauge("eci_quota_per_minute", { description: "client-side ECI quota per action, calls per minute" })

export const makePolicy = (transport: EciTransport, options: EciPolicyOptions): Effect.Effect<typeof Eci.Service> =>
  Effect.gen(function*() {
    for (const action of Object.keys(documentedQuotas) as Array<EciAction>) {
      const quota = options.quotas?.[action] ?? documentedQuotas[action]
      yield* Metric.update(Metric.withAttributes(quotaPerMinute, { action }), quota.perSecond * 60)
    }
    for (const [action, quota] of Object.entries(options.quotas ?? {})) {
      if (quota !== undefined && !(quota.perSecond > 0 && quota.burst >= 1)) {
        return yield* Effect.die(
          new Error(`ECI quota for ${action} needs perSecond > 0 and burst >= 1, got ${JSON.stringify(quota)}`)
        )
      }
    }
    const limiter = yield* RateLimiter.RateLimiter
    return policyOver(limiter, transport, options)
  }).pipe(Effect.provide(RateLimiter.layer), Effect.provide(RateLimiter.layerStoreMemory))

const policyOver = (
  limiter: RateLimiter.RateLimiter,
  transport: EciTransport,
  options: EciPolicyOptions
): typeof Eci.Service => {
  const retry = { ...defaultRetry, ...options.retry }
  const attemptTimeout = options.attemptTimeout ?? defaultAttemptTimeout
  const maxDelay = Duration.fromInputUnsafe(retry.maxDelay)
  const take = (action: EciAction) =>
    RateLimiter.sleep(limiter, bucketOptions(action, options.quotas?.[action] ?? documentedQuotas[action])).pipe(
      // The in-memory store cannot fail; a RateLimiterError here would be a bug.
      Effect.catchTag("RateLimiterError", (e) => Effect.die(e))
    )

  const call = <A extends EciAction>(action: A, request: EciRequest<A>): Effect.Effect<EciResponse<A>, EciError> =>
    Effect.suspend(() => {
      const req = withRegion(request, options.regionId)
      let attempts = 0

      const attempt = Effect.gen(function*() {
        attempts += 1
        const { delay } = yield* take(action)
        if (Duration.isPositive(delay)) {
          yield* Metric.update(Metric.withAttributes(throttlesTotal, { action, source: "client" }), 1)
        }
        return yield* transport(action, req).pipe(
          Effect.timeoutOrElse({
            duration: attemptTimeout,
            orElse: () =>
              Effect.fail(
                new EciUnavailable({
                  action,
                  code: "RequestTimeout",
                  message: `no answer within ${Duration.format(Duration.fromInputUnsafe(attemptTimeout))}`,
                  requestId: ""
                })
              )
          }),
          Effect.trackDuration(Metric.withAttributes(attemptDuration, { action }), Duration.toSeconds)
        )
      }).pipe(
        Effect.tapError((e) =>
          e._tag === "EciThrottled"
            ? Metric.update(Metric.withAttributes(throttlesTotal, { action, source: "server" }), 1)
            : Effect.void
        )
      )

      const schedule = Schedule.exponential(retry.baseDelay).pipe(
        Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, maxDelay))),
        Schedule.jittered,
        Schedule.setInputType<EciError>(),
        Schedule.while(({ input }) => isRetryable(input)),
        Schedule.upTo({ times: Math.max(0, retry.maxAttempts - 1) }),
        Schedule.tap(({ input, duration }) =>
          Metric.update(Metric.withAttributes(retriesTotal, { action, code: input.code }), 1).pipe(
            Effect.andThen(Effect.logDebug("retrying ECI call", {
              action,
              code: input.code,
              requestId: input.requestId,
              attempt: attempts,
              delayMillis: Math.round(Duration.toMillis(duration))
            }))
          )
        )
      )

      return attempt.pipe(
        Effect.retry(schedule),
        Effect.tap(() => Metric.update(Metric.withAttributes(callsTotal, { action, outcome: "success" }), 1)),
        Effect.tapError((e) =>
          Metric.update(Metric.withAttributes(callsTotal, { action, outcome: e._tag }), 1).pipe(
            // Never the request or the message: requests carry registry passwords and Secret contents.
            Effect.andThen(
              (isRetryable(e) ? Effect.logWarning : Effect.logDebug)("ECI call failed", {
                action,
                error: e._tag,
                code: e.code,
                requestId: e.requestId,
                httpStatus: e.httpStatus ?? null,
                attempts
              })
            )
          )
        )
      )
    })

  return Eci.of({ call })
}

/** The Eci service over a transport, as a layer. */
export const policyLayer = (transport: EciTransport, options: EciPolicyOptions): Layer.Layer<Eci> =>
  Layer.effect(Eci, makePolicy(transport, options))
