import type { Wire } from "../codec.ts"

/** Admission and defaulting the real API server applies on the way in, for the in-memory layer. */

/** The API server stores a Secret's `stringData` as base64 in `data` (write-only field). */
export const foldStringData = (o: Wire): Wire => {
  const { stringData, ...rest } = o as Wire & { stringData?: Record<string, string> }
  if (stringData === undefined) return rest
  const data = { ...(rest["data"] as Record<string, string> | undefined) }
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, "utf8").toString("base64")
  return { ...rest, data }
}

/** The TaintNodesByCondition admission plugin: a new node is not-ready until it reports Ready. */
export const addNotReadyTaint = (o: Wire): Wire => {
  const spec = (o["spec"] ?? {}) as { taints?: Array<{ key?: string }> }
  const taints = spec.taints ?? []
  if (taints.some((t) => t.key === "node.kubernetes.io/not-ready")) return o
  return { ...o, spec: { ...spec, taints: [...taints, { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }] } }
}

/** Node defaulting (SetDefaults_NodeStatus): without `allocatable`, it is a copy of `capacity`. */
export const defaultAllocatable = (o: Wire): Wire => {
  const status = o["status"] as { capacity?: unknown; allocatable?: unknown } | undefined
  if (status?.capacity === undefined || status.allocatable !== undefined) return o
  return { ...o, status: { ...status, allocatable: status.capacity } }
}

/**
 * Service defaulting and IP allocation: type ClusterIP, each port's protocol TCP and targetPort its
 * port, and a cluster IP. A real API server picks a random free IP of its service range; here the
 * next one of 10.96.0.0/16 (10.96.0.1 is the `kubernetes` Service's), so runs replay.
 */
export const serviceDefaults = (allocate: () => string) => (o: Wire): Wire => {
  const spec = (o["spec"] ?? {}) as Record<string, unknown>
  const type = spec["type"] ?? "ClusterIP"
  const ports = Array.isArray(spec["ports"])
    ? spec["ports"].map((p: Record<string, unknown>) => ({ protocol: "TCP", targetPort: p["port"], ...p }))
    : spec["ports"]
  const clusterIP = spec["clusterIP"] ?? (type === "ExternalName" ? undefined : allocate())
  return {
    ...o,
    spec: {
      ...spec,
      type,
      ...(ports === undefined ? {} : { ports }),
      ...(clusterIP === undefined ? {} : { clusterIP, clusterIPs: [clusterIP] })
    }
  }
}
