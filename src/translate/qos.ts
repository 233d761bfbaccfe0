import type { V1Pod, V1ResourceRequirements } from "@kubernetes/client-node"
import { milliCpu, units } from "./quantity.ts"

/**
 * The pod's QoS class, computed as the kubelet does (pkg/apis/core/v1/helper/qos GetPodQOS), over
 * CPU and memory only:
 * - BestEffort: no container (init or app) names a non-zero CPU or memory request or limit;
 * - Guaranteed: every container has CPU and memory limits, and the summed requests equal the summed
 *   limits (requests default to limits, as the API server defaults them at admission);
 * - Burstable: everything else.
 * Pod-level `spec.resources`, when set, are used instead of the containers' (PodLevelResources).
 */
export type QosClass = "Guaranteed" | "Burstable" | "BestEffort"

const parse = (name: string, q: string): number => (name === "cpu" ? milliCpu(q) : units(q)) ?? 0
const names = ["cpu", "memory"] as const

export const qosClass = (pod: V1Pod): QosClass => {
  const spec = pod.spec
  const podLevel = spec?.resources
  const sets: ReadonlyArray<V1ResourceRequirements | undefined> =
    podLevel !== undefined && (Object.keys(podLevel.requests ?? {}).length > 0 || Object.keys(podLevel.limits ?? {}).length > 0)
      ? [podLevel]
      : [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.resources)
  const requests = new Map<string, number>()
  const limits = new Map<string, number>()
  let guaranteed = true
  for (const r of sets) {
    const found = new Set<string>()
    for (const name of names) {
      const limit = r?.limits?.[name]
      const request = r?.requests?.[name] ?? limit
      if (request !== undefined && parse(name, request) > 0) requests.set(name, (requests.get(name) ?? 0) + parse(name, request))
      if (limit !== undefined && parse(name, limit) > 0) {
        limits.set(name, (limits.get(name) ?? 0) + parse(name, limit))
        found.add(name)
      }
    }
    if (found.size !== names.length) guaranteed = false
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort"
  if (guaranteed && requests.size === limits.size && [...requests].every(([n, v]) => limits.get(n) === v)) return "Guaranteed"
  return "Burstable"
}
