/**
 * resource.Quantity canonicalisation (k8s.io/apimachinery/pkg/api/resource), for the in-memory layer:
 * the API server stores `"5000"` as `"5k"`, `"1024Mi"` as `"1Gi"`, `"0.5"` as `"500m"`. A consumer
 * that compares what it wrote with what it reads back must see the same strings from both layers.
 * Exact arithmetic on BigInt; values finer than nano units are outside what a kubelet writes.
 */

const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 }
const binarySuffixes: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 }
const quantityPattern = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/

type Format = "DecimalSI" | "BinarySI" | "DecimalExponent"

/** value = mantissa × 10^exponent */
interface Decimal {
  readonly mantissa: bigint
  readonly exponent: number
}

const pow10 = (n: number) => 10n ** BigInt(n)

const parse = (input: string): { readonly value: Decimal; readonly format: Format } | undefined => {
  const m = quantityPattern.exec(input.trim())
  if (m === null) return undefined
  const [, sign = "", whole = "", fraction = "", suffix = ""] = m
  if (whole === "" && fraction === "") return undefined
  let mantissa = BigInt(`${sign === "-" ? "-" : ""}${whole}${fraction}` || "0")
  let exponent = -fraction.length
  let format: Format = "DecimalSI"
  if (suffix in binarySuffixes) {
    mantissa *= 1024n ** BigInt(binarySuffixes[suffix] ?? 0)
    format = "BinarySI"
  } else if (suffix in decimalSuffixes) exponent += decimalSuffixes[suffix] ?? 0
  else {
    exponent += Number(suffix.slice(1))
    format = "DecimalExponent"
  }
  return { value: { mantissa, exponent }, format }
}

/** Mantissa without trailing zeros, then the exponent lowered to a multiple of 3 (AsCanonicalBytes). */
const canonicalDecimal = ({ exponent, mantissa }: Decimal): Decimal => {
  if (mantissa === 0n) return { mantissa, exponent: 0 }
  let m = mantissa
  let e = exponent
  while (m % 10n === 0n) {
    m /= 10n
    e += 1
  }
  const r = ((e % 3) + 3) % 3
  return { mantissa: m * pow10(r), exponent: e - r }
}

const decimalSuffixFor = (exponent: number): string | undefined =>
  Object.entries(decimalSuffixes).find(([, e]) => e === exponent)?.[0]

/** The canonical string the API server stores for a quantity, or undefined when it is not a quantity. */
export const canonicalQuantity = (input: string): string | undefined => {
  const parsed = parse(input)
  if (parsed === undefined) return undefined
  const { value } = parsed
  let format = parsed.format
  const integer = value.exponent >= 0 ? value.mantissa * pow10(value.exponent) : undefined
  const exactInteger = integer ?? (value.mantissa % pow10(-value.exponent) === 0n ? value.mantissa / pow10(-value.exponent) : undefined)
  if (format === "BinarySI" && (exactInteger === undefined || (exactInteger > -1024n && exactInteger < 1024n))) format = "DecimalSI"

  if (format === "BinarySI" && exactInteger !== undefined) {
    let n = exactInteger
    let power = 0
    while (power < 6 && n !== 0n && n % 1024n === 0n) {
      n /= 1024n
      power += 1
    }
    const suffix = Object.entries(binarySuffixes).find(([, p]) => p === power)?.[0] ?? ""
    return `${n}${suffix}`
  }
  const c = canonicalDecimal(value)
  if (format === "DecimalExponent") return c.exponent === 0 ? `${c.mantissa}` : `${c.mantissa}e${c.exponent}`
  const suffix = decimalSuffixFor(c.exponent)
  if (suffix !== undefined) return `${c.mantissa}${suffix}`
  // Beyond E or below n: the server falls back to the largest/smallest suffix with a longer mantissa.
  const clamped = c.exponent > 18 ? 18 : -9
  const divisor = pow10(clamped - c.exponent)
  const mantissa = c.exponent > 18
    ? c.mantissa * pow10(c.exponent - 18)
    : c.mantissa / divisor + (c.mantissa > 0n && c.mantissa % divisor !== 0n ? 1n : 0n) // rounds up, as the server does
  return `${mantissa}${decimalSuffixFor(clamped)}`
}
