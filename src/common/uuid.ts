import { Effect, Random } from "effect"

/** A version-4 UUID drawn from Effect's Random service, so a seeded run draws the same ones. */
export const randomUuid: Effect.Effect<string> = Effect.gen(function*() {
  const words: Array<number> = []
  for (let i = 0; i < 4; i++) words.push(yield* Random.nextIntBetween(0, 0x1_0000_0000))
  const hex = words.map((w) => (w >>> 0).toString(16).padStart(8, "0")).join("")
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
})
