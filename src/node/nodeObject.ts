import type { V1Node, V1NodeCondition, V1Taint } from "@kubernetes/client-node"
import { version } from "../version.ts"

/**
 * The virtual Node as plain data: what we register and what every status patch carries. Pure, so
 * the whole shape is table-tested; the controller (nodeController.ts) only writes it.
 *
 * One node spans all configured vSwitches (and so their zones): ECI picks the zone at creation from
 * the ordered vSwitch list, which is what gives a pod a fallback zone on stock-out. Per-zone nodes
 * would pin each pod to one zone at scheduling time and lose that. The zone label is set only when a
 * single zone is configured, so topology-aware scheduling never sees a zone that is not true.
 */
export interface NodeIdentity {
  readonly nodeName: string
  readonly region: string
  readonly zone: string | undefined
  readonly taint: { readonly key: string; readonly value: string; readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }
  readonly capacity: { readonly cpu: string; readonly memory: string; readonly pods: number; readonly ephemeralStorage: string }
  readonly podIp: string
  readonly kubeletPort: number
}

/** Reported as the node's kubelet version: the Kubernetes minor we follow, then our own version. */
export const kubeletVersion = `v1.36.0-eci-virtual-node-${version}`

export const nodeLabels = (id: NodeIdentity): Record<string, string> => ({
  type: "virtual-kubelet",
  "kubernetes.io/role": "agent",
  "kubernetes.io/hostname": id.nodeName,
  "kubernetes.io/os": "linux",
  "kubernetes.io/arch": "amd64",
  "topology.kubernetes.io/region": id.region,
  ...(id.zone === undefined ? {} : { "topology.kubernetes.io/zone": id.zone }),
  "node.kubernetes.io/exclude-from-external-load-balancers": "true"
})

export const nodeTaints = (id: NodeIdentity): Array<V1Taint> => [{ key: id.taint.key, value: id.taint.value, effect: id.taint.effect }]

/** What the node's health check concluded; Unhealthy carries a reason and a message a person can act on. */
export type NodeHealth =
  | { readonly _tag: "Healthy" }
  | { readonly _tag: "Unhealthy"; readonly reason: string; readonly message: string }

export const healthy: NodeHealth = { _tag: "Healthy" }

/**
 * The node's conditions at `now`. A condition keeps its lastTransitionTime while its status stays the
 * same (as the kubelet does), so `kubectl describe node` tells how long it has been Ready or not.
 */
export const nodeConditions = (
  health: NodeHealth,
  now: Date,
  previous: ReadonlyArray<V1NodeCondition>
): Array<V1NodeCondition> => {
  const make = (type: string, status: "True" | "False", reason: string, message: string): V1NodeCondition => {
    const before = previous.find((c) => c.type === type)
    const lastTransitionTime = before !== undefined && before.status === status && before.lastTransitionTime !== undefined
      ? new Date(before.lastTransitionTime)
      : now
    return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime }
  }
  const ready = health._tag === "Healthy"
    ? make("Ready", "True", "KubeletReady", "eci-virtual-node is ready: ECI answers with the configured credentials")
    : make("Ready", "False", health.reason, health.message)
  return [
    ready,
    make("MemoryPressure", "False", "KubeletHasSufficientMemory", "memory is provided per pod by ECI"),
    make("DiskPressure", "False", "KubeletHasNoDiskPressure", "disk is provided per pod by ECI"),
    make("PIDPressure", "False", "KubeletHasSufficientPID", "processes run in ECI instances"),
    make("NetworkUnavailable", "False", "RouteCreated", "each ECI instance has its own VPC address")
  ]
}

const resources = (id: NodeIdentity) => ({
  cpu: id.capacity.cpu,
  memory: id.capacity.memory,
  pods: String(id.capacity.pods),
  "ephemeral-storage": id.capacity.ephemeralStorage
})

/** The status fields we own. Sent as a strategic merge patch: conditions merge by type, so others' survive. */
export const nodeStatus = (id: NodeIdentity, health: NodeHealth, now: Date, previous: ReadonlyArray<V1NodeCondition>) => ({
  capacity: resources(id),
  allocatable: resources(id),
  conditions: nodeConditions(health, now, previous),
  addresses: [
    { type: "InternalIP", address: id.podIp },
    { type: "Hostname", address: id.nodeName }
  ],
  daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
  // KEP-4006: API servers ≥ 1.36 pass exec/attach WebSockets through to a kubelet that declares
  // this (sorted, known names); older ones drop the field and speak SPDY, which we serve too.
  declaredFeatures: ["ExtendWebSocketsToKubelet"],
  nodeInfo: {
    architecture: "amd64",
    operatingSystem: "linux",
    kubeletVersion,
    kubeProxyVersion: "",
    osImage: "Alibaba Cloud Elastic Container Instance",
    kernelVersion: "",
    containerRuntimeVersion: `eci://${version}`,
    machineID: "",
    systemUUID: "",
    bootID: ""
  }
})

/** The Node we create when none exists. Taints are set only here: later writes patch status. */
export const buildNode = (id: NodeIdentity, health: NodeHealth, now: Date): V1Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: {
    name: id.nodeName,
    labels: nodeLabels(id),
    annotations: { "node.alpha.kubernetes.io/ttl": "0" }
  },
  spec: { taints: nodeTaints(id) },
  status: nodeStatus(id, health, now, [])
})
