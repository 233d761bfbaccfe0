import type { EciAction } from "../Eci.ts"
import { defaultQuotas, type QuotaSpec } from "./config.ts"

interface Bucket {
  tokens: number
  at: number
}

/**
 * Server-side flow control: one token bucket per action (per account and region in ECI; the
 * simulator serves one account). A bucket starts full and refills continuously, lazily on each
 * call, from the simulator's clock. `null` turns an action's quota off.
 */
export class Quotas {
  private readonly specs = new Map<EciAction, QuotaSpec | null>()
  private readonly buckets = new Map<EciAction, Bucket>()
  private readonly overrides: Partial<Record<EciAction, QuotaSpec | null>>

  constructor(overrides: Partial<Record<EciAction, QuotaSpec | null>> = {}) {
    this.overrides = overrides
    this.reset()
  }

  /** Back to the configured quotas, every bucket full. */
  reset() {
    this.specs.clear()
    this.buckets.clear()
    for (const [action, spec] of Object.entries(defaultQuotas) as Array<[EciAction, QuotaSpec]>) {
      const override = this.overrides[action]
      this.specs.set(action, override === undefined ? spec : override)
    }
  }

  /** `undefined` restores the configured quota. The bucket starts full. */
  set(action: EciAction, spec: QuotaSpec | null | undefined) {
    const override = this.overrides[action]
    this.specs.set(action, spec !== undefined ? spec : override !== undefined ? override : defaultQuotas[action])
    this.buckets.delete(action)
  }

  get(action: EciAction): QuotaSpec | null {
    return this.specs.get(action) ?? null
  }

  /** Take one token; false means the call is throttled. */
  take(action: EciAction, now: number): boolean {
    const spec = this.specs.get(action)
    if (spec === undefined || spec === null) return true
    const bucket = this.buckets.get(action) ?? { tokens: spec.burst, at: now }
    bucket.tokens = Math.min(spec.burst, bucket.tokens + (Math.max(0, now - bucket.at) * spec.perMinute) / 60_000)
    bucket.at = now
    this.buckets.set(action, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }
}
