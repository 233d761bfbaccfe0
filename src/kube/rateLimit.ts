import { Duration, Effect } from "effect"
import { RateLimiter } from "effect/persistence"

export interface KubeRateLimit {
  /** Sustained requests per second to the API server. */
  readonly qps: number
  /** Requests allowed at once before the sustained rate applies. */
  readonly burst: number
}

/**
 * Generous on purpose: client-go's hidden default of 5 QPS / burst 10 is why virtual-kubelet is slow
 * to start hundreds of pods (kubelet-reference §0.1). The API server has its own flow control (APF).
 */
export const defaultKubeRateLimit: KubeRateLimit = { qps: 200, burst: 400 }

/**
 * A client-side token bucket over `effect/persistence`'s RateLimiter (in-process store): a full
 * bucket of `burst` tokens refilled at `qps` per second; a call that finds it empty waits (never
 * fails). The bucket is `burst` tokens per `burst / qps` seconds, which is a refill of `qps` per second.
 * Time comes from `Clock`, so TestClock drives it.
 */
export const makeKubeRateLimiter = (
  limit: KubeRateLimit
): Effect.Effect<<A, E, R>(call: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>> =>
  Effect.gen(function*() {
    if (!(limit.qps > 0) || !(limit.burst >= 1)) {
      return yield* Effect.die(new Error(`kube rate limit needs qps > 0 and burst >= 1, got qps=${limit.qps} burst=${limit.burst}`))
    }
    const withLimiter = yield* RateLimiter.makeWithRateLimiter
    const options = {
      key: "kube-api",
      algorithm: "token-bucket",
      onExceeded: "delay",
      limit: Math.floor(limit.burst),
      window: Duration.millis((Math.floor(limit.burst) * 1000) / limit.qps)
    } as const
    return <A, E, R>(call: Effect.Effect<A, E, R>) =>
      // The in-memory store cannot fail; a RateLimiterError here would be a bug.
      withLimiter(options)(call).pipe(Effect.catchTag("RateLimiterError", (e) => Effect.die(e)))
  }).pipe(Effect.provide(RateLimiter.layer), Effect.provide(RateLimiter.layerStoreMemory))
