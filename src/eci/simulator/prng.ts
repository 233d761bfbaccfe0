/**
 * Deterministic helpers the simulator derives values from. They are not a source of randomness:
 * every seed comes either from an id (topology derived from a vSwitch id, log text derived from a
 * container name) or from the simulator's seeded `Random` service at the moment an instance is
 * created. Giving each instance its own stream keeps an instance's future independent of how often
 * and in which order anyone looks at it, which is what makes a TestClock run replay exactly.
 */

/** FNV-1a, 32 bit. */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A float in [0, 1) fixed by the text. */
export const unitFrom = (text: string): number => hash32(text) / 0x1_0000_0000

/** mulberry32: small, fast, good enough for jitter and choices. */
export class Prng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** `ms` scaled by a factor in [1 - spread, 1 + spread]. */
  jitter(ms: number, spread: number): number {
    if (spread <= 0) return ms
    return Math.max(0, Math.round(ms * (1 - spread + 2 * spread * this.next())))
  }
}
