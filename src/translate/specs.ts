import type { V1Container, V1Pod, V1ResourceRequirements } from "@kubernetes/client-node"
import { GiB, milliCpu, units } from "./quantity.ts"

/**
 * ECI instance specs and how a pod's resources become one.
 *
 * The rule (documented in the README):
 * 1. Per container, the amount that matters is its **limit, else its request** (a container with a
 *    limit may use up to it, so the instance must have room for it).
 * 2. The pod needs `max(Σ app containers, max over init containers)` of each resource — the
 *    kubelet's effective-request formula (init containers run one at a time, before the app
 *    containers). Pod-level `spec.resources` (limit else request), when set, takes precedence.
 * 3. That need is rounded **up** to the smallest spec of the table below whose vCPU and memory both
 *    cover it (ordered by vCPU, then memory). Nothing is ever truncated: a pod asking for 7 vCPU /
 *    13 GiB gets 8 vCPU / 16 GiB, a pod asking for 0.1 vCPU / 100 MiB gets 0.25 / 0.5.
 * 4. A pod that names neither CPU nor memory anywhere gets ECI's documented default, 2 vCPU / 4 GiB.
 *
 * ECI bills the instance spec, so the spec is also what `k8s.aliyun.com/eci-instance-spec` reports.
 * The table is the "supported in all regions" one (alibabacloud.com/help/doc-detail/114662, §5.6);
 * some regions have extra specs (e.g. 8 vCPU / 14 GiB in Hangzhou) which we do not use, so our
 * rounding is never below what ECI itself would choose.
 */
export interface EciSpec {
  /** vCPUs */
  readonly cpu: number
  /** GiB */
  readonly memory: number
}

const table: ReadonlyArray<readonly [number, ReadonlyArray<number>]> = [
  [0.25, [0.5, 1]],
  [0.5, [1, 2]],
  [1, [2, 4, 8]],
  [2, [1, 2, 4, 8, 16]],
  [4, [2, 4, 8, 16, 32]],
  [8, [4, 8, 16, 32, 64]],
  [12, [12, 24, 48, 96]],
  [16, [16, 32, 64, 128]],
  [24, [24, 48, 96, 192]],
  [32, [32, 64, 128, 256]],
  [52, [96, 192, 384]],
  [64, [128, 256, 512]]
]

/** Every supported vCPU/memory spec, ordered by vCPU then memory. */
export const ECI_SPECS: ReadonlyArray<EciSpec> = table.flatMap(([cpu, mems]) => mems.map((memory) => ({ cpu, memory })))

export const DEFAULT_SPEC: EciSpec = { cpu: 2, memory: 4 }

export const isSupportedSpec = (s: EciSpec): boolean => ECI_SPECS.some((x) => x.cpu === s.cpu && x.memory === s.memory)

/**
 * What a pod needs, in the wire's own granularity so that the sum of the per-container amounts we
 * send can never exceed the instance spec: CPU in millicores, memory in thousandths of a GiB, each
 * container's amount rounded up before summing.
 */
export interface ResourceNeed {
  readonly milliCpu: number
  readonly milliGiB: number
}

/** The smallest supported spec covering the need, or `undefined` when none does (over 64 vCPU / 512 GiB). */
export const roundUpToSpec = (need: ResourceNeed): EciSpec | undefined =>
  ECI_SPECS.find((s) => s.cpu * 1000 >= need.milliCpu && s.memory * 1000 >= need.milliGiB)

/** Memory text → thousandths of a GiB, rounded **up** (`"100Mi"` → 98, i.e. 0.098 GiB). */
export const milliGiB = (raw: string): number | undefined => {
  const bytes = units(raw)
  return bytes === undefined ? undefined : Math.ceil((bytes * 1000) / GiB)
}

/** A container's limit, else its request, of one resource; `undefined` if it names neither or the text is not a quantity. */
export const limitOrRequest = (r: V1ResourceRequirements | undefined, name: string): string | undefined =>
  r?.limits?.[name] ?? r?.requests?.[name]

const amount = (r: V1ResourceRequirements | undefined, name: string, parse: (q: string) => number | undefined): number =>
  parse(limitOrRequest(r, name) ?? "0") ?? 0

const need = (
  pod: V1Pod,
  name: string,
  parse: (q: string) => number | undefined
): { readonly value: number; readonly named: boolean } => {
  const spec = pod.spec
  const podLevel = limitOrRequest(spec?.resources, name)
  const all: ReadonlyArray<V1Container> = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]
  const named = podLevel !== undefined || all.some((c) => limitOrRequest(c.resources, name) !== undefined)
  if (podLevel !== undefined) return { value: parse(podLevel) ?? 0, named }
  const sum = (spec?.containers ?? []).reduce((acc, c) => acc + amount(c.resources, name, parse), 0)
  const maxInit = (spec?.initContainers ?? []).reduce((acc, c) => Math.max(acc, amount(c.resources, name, parse)), 0)
  return { value: Math.max(sum, maxInit), named }
}

export interface PodSizing {
  readonly need: ResourceNeed
  /** The spec to request; `undefined` when the need exceeds the largest spec. */
  readonly spec: EciSpec | undefined
  /** True when the pod names no CPU and no memory anywhere (the default spec applies). */
  readonly defaulted: boolean
}

/** Sizes a pod by the rule above. Unparseable quantities count as 0 here; `podToEci` refuses them. */
export const sizePod = (pod: V1Pod): PodSizing => {
  const cpu = need(pod, "cpu", milliCpu)
  const mem = need(pod, "memory", milliGiB)
  const n: ResourceNeed = { milliCpu: cpu.value, milliGiB: mem.value }
  if (!cpu.named && !mem.named) return { need: n, spec: DEFAULT_SPEC, defaulted: true }
  return { need: n, spec: roundUpToSpec(n), defaulted: false }
}

/** Bytes of ephemeral storage the pod needs (same rule as CPU and memory). */
export const ephemeralStorageNeed = (pod: V1Pod): number => need(pod, "ephemeral-storage", units).value

/** ECI gives every instance 30 GiB of temporary storage (§5.6 spec doc); more is bought as `EphemeralStorage`. */
export const INCLUDED_EPHEMERAL_GIB = 30

/** `2.0-4.0Gi`, the form ack-virtual-node writes into `k8s.aliyun.com/eci-instance-spec` (§5.5). */
export const formatSpec = (s: EciSpec): string => `${formatAmount(s.cpu)}-${formatAmount(s.memory)}Gi`

/** `2` → `"2.0"`, `0.25` → `"0.25"`: one decimal at least, as the real annotations show. */
export const formatAmount = (n: number): string => (Number.isInteger(n) ? n.toFixed(1) : String(n))

/** Millicores or milli-GiB → the wire's vCPUs or GiB (exact: the result has at most 3 decimals). */
export const fromMilli = (milli: number): number => milli / 1000
