import type { EciAction } from "../Eci.ts"
import type { FaultSpec, InjectedFailure } from "./config.ts"

export interface FaultDraw {
  readonly latencyMs: number
  /** A failure instead of carrying the action out. */
  readonly before: InjectedFailure | undefined
  /** Carry the action out, then lose the answer. */
  readonly after: InjectedFailure | undefined
}

/**
 * Injected faults: scripted ones (`failNext`, consumed in order, deterministic) and random ones
 * (rates per action or for all actions, drawn from the simulator's seeded Random only when a rate
 * is set, so configuring no faults consumes no randomness).
 */
export class FaultPlan {
  private readonly random = new Map<EciAction | "*", FaultSpec>()
  private readonly scripted = new Map<EciAction, Array<InjectedFailure>>()
  private readonly initial: Partial<Record<EciAction | "*", FaultSpec>>

  constructor(initial: Partial<Record<EciAction | "*", FaultSpec>> = {}) {
    this.initial = initial
    this.reset()
  }

  reset() {
    this.random.clear()
    this.scripted.clear()
    for (const [action, spec] of Object.entries(this.initial) as Array<[EciAction | "*", FaultSpec]>) this.random.set(action, spec)
  }

  set(action: EciAction | "*", spec: FaultSpec | null) {
    if (spec === null) this.random.delete(action)
    else this.random.set(action, spec)
  }

  failNext(action: EciAction, failure: InjectedFailure, times: number) {
    const queue = this.scripted.get(action) ?? []
    for (let k = 0; k < times; k++) queue.push(failure)
    this.scripted.set(action, queue)
  }

  draw(action: EciAction, next: () => number): FaultDraw {
    const spec = { ...this.random.get("*"), ...this.random.get(action) }
    const latencyMs = spec.latencyMs ?? 0
    const scripted = this.scripted.get(action)?.shift()
    const placed = (f: InjectedFailure): FaultDraw =>
      f.kind === "drop" && f.phase === "response"
        ? { latencyMs, before: undefined, after: f }
        : { latencyMs, before: f, after: undefined }
    if (scripted !== undefined) return placed(scripted)
    if ((spec.errorRate ?? 0) > 0 && next() < (spec.errorRate ?? 0)) {
      return placed({ kind: "error", code: spec.errorCode ?? "ServiceUnavailable" })
    }
    if ((spec.dropRate ?? 0) > 0 && next() < (spec.dropRate ?? 0)) {
      return placed({ kind: "drop", phase: spec.dropPhase ?? "request" })
    }
    return { latencyMs, before: undefined, after: undefined }
  }
}
