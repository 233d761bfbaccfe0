import { ECI_SPECS } from "../../translate/specs.ts"

/**
 * The vCPU/memory specifications the simulator accepts: ECI's documented all-regions table, the one
 * the translator rounds up to (src/translate/specs.ts), grouped by vCPU. One table on both sides, so
 * the simulator refuses exactly what ECI's documentation says ECI refuses.
 */
export const specTable: ReadonlyArray<readonly [cpu: number, memories: ReadonlyArray<number>]> = [
  ...new Set(ECI_SPECS.map((s) => s.cpu))
].sort((a, b) => a - b).map((cpu) => [cpu, ECI_SPECS.filter((s) => s.cpu === cpu).map((s) => s.memory).sort((a, b) => a - b)] as const)

export const isSupportedSpec = (cpu: number, memory: number): boolean =>
  specTable.some(([c, ms]) => c === cpu && ms.includes(memory))

/**
 * The smallest supported spec that holds `cpu` and `memory` (reference §5.6: an instance sized by
 * its containers is rounded up to the nearest supported spec and billed at it), or undefined when
 * nothing is large enough.
 */
export const roundUpSpec = (cpu: number, memory: number): { readonly cpu: number; readonly memory: number } | undefined => {
  for (const [c, ms] of specTable) {
    if (c < cpu) continue
    const m = ms.find((x) => x >= memory)
    if (m !== undefined) return { cpu: c, memory: m }
  }
  return undefined
}

/** `"2-4"`: how stock-out specs are written. */
export const specKey = (cpu: number, memory: number) => `${cpu}-${memory}`

/** ECI's default when neither the instance nor its containers ask for resources. */
export const defaultSpec = { cpu: 2, memory: 4 } as const

const sizeCores: Readonly<Record<string, number>> = { small: 1, medium: 1, large: 2, xlarge: 4 }
const familyGiBPerCore: Readonly<Record<string, number>> = { c: 2, g: 4, r: 8, u: 4, t: 4 }

/**
 * vCPU and memory of an ECS instance type such as `ecs.c6.large` or `ecs.g7.4xlarge` (memory per
 * vCPU by family letter: c 2, g 4, r 8, others 4). Undefined for a name of another shape.
 */
export const instanceTypeSpec = (instanceType: string): { readonly cpu: number; readonly memory: number } | undefined => {
  const m = /^ecs\.([a-z]+)[0-9a-z-]*\.(small|medium|large|xlarge|(\d+)xlarge)$/.exec(instanceType.trim())
  if (m === null) return undefined
  const cores = m[3] !== undefined ? Number(m[3]) * 4 : sizeCores[m[2]!] ?? 2
  const perCore = familyGiBPerCore[m[1]![0]!] ?? 4
  return { cpu: cores, memory: cores * perCore }
}
