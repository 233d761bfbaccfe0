/**
 * Kubernetes resource quantities (`100m`, `1.5Gi`, `1e3`, `512Mi`), parsed exactly.
 *
 * Sums of CPU and memory decide which ECI spec a pod gets, so they must not suffer binary floating
 * point error (0.1 + 0.15 must be exactly 0.25 to fit the 0.25 vCPU spec). Quantities are therefore
 * parsed into an exact fraction with BigInt and only then scaled and rounded **up**, like
 * `resource.Quantity.MilliValue()` / `Value()` do in Go.
 */

const binarySuffixes: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 }
const decimalSuffixes: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 }

const pattern = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/

/** An exact non-negative fraction `num / den`. */
export interface Exact {
  readonly num: bigint
  readonly den: bigint
}

/** Parses a quantity; `undefined` when the text is not a quantity or is negative. */
export const parseQuantity = (raw: string | number): Exact | undefined => {
  const text = String(raw).trim()
  const m = pattern.exec(text)
  if (m === null) return undefined
  const [, sign, intPart = "", fracPart = "", suffix, exponent] = m
  if (intPart === "" && fracPart === "") return undefined
  if (sign === "-" && /[1-9]/.test(intPart + fracPart)) return undefined
  let num = BigInt((intPart + fracPart) || "0")
  let den = 10n ** BigInt(fracPart.length)
  if (suffix !== undefined && suffix in binarySuffixes) {
    num *= 2n ** BigInt(binarySuffixes[suffix] ?? 0)
  } else {
    const e10 = exponent !== undefined ? Number(exponent) : decimalSuffixes[suffix ?? ""] ?? 0
    if (Math.abs(e10) > 30) return undefined
    if (e10 >= 0) num *= 10n ** BigInt(e10)
    else den *= 10n ** BigInt(-e10)
  }
  return { num, den }
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b

/** A huge quantity (beyond 2^53) becomes Infinity; callers compare against spec limits anyway. */
const toNumber = (b: bigint): number => (b > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(b))

/** `value × scale`, rounded up to an integer. */
export const ceilScaled = (q: Exact, scale: bigint = 1n, divisor: Exact = { num: 1n, den: 1n }): number =>
  toNumber(ceilDiv(q.num * scale * divisor.den, q.den * divisor.num))

/** CPU in millicores, rounded up (`"100m"` → 100, `"0.0001"` → 1). */
export const milliCpu = (raw: string | number): number | undefined => {
  const q = parseQuantity(raw)
  return q === undefined ? undefined : ceilScaled(q, 1000n)
}

/** Bytes (or any plain count such as GPUs), rounded up. */
export const units = (raw: string | number): number | undefined => {
  const q = parseQuantity(raw)
  return q === undefined ? undefined : ceilScaled(q)
}

export const GiB = 1024 ** 3
