import { describe, expect, it } from "vitest"
import { EciAuthFailed, EciThrottled, EciUnavailable } from "../../src/eci/errors.ts"
import { healthFromProbe } from "../../src/node/health.ts"
import { buildNode, healthy, kubeletVersion, nodeConditions, nodeLabels, nodeStatus, type NodeIdentity } from "../../src/node/nodeObject.ts"

const id: NodeIdentity = {
  nodeName: "virtual-kubelet-cn-hangzhou-j",
  region: "cn-hangzhou",
  zone: "cn-hangzhou-j",
  taint: { key: "virtual-kubelet.io/provider", value: "alibabacloud", effect: "NoSchedule" },
  capacity: { cpu: "1000", memory: "4Ti", pods: 1000, ephemeralStorage: "40Ti" },
  podIp: "10.0.0.7",
  kubeletPort: 10250
}
const t0 = new Date("2026-11-26T08:00:00Z")
const t1 = new Date("2026-11-26T08:01:00Z")

describe("the virtual node object", () => {
  it("carries the labels ack-virtual-node users select on", () => {
    expect(nodeLabels(id)).toEqual({
      type: "virtual-kubelet",
      "kubernetes.io/role": "agent",
      "kubernetes.io/hostname": "virtual-kubelet-cn-hangzhou-j",
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "topology.kubernetes.io/region": "cn-hangzhou",
      "topology.kubernetes.io/zone": "cn-hangzhou-j",
      "node.kubernetes.io/exclude-from-external-load-balancers": "true"
    })
  })

  it("has no zone label when no single zone is configured", () => {
    expect(nodeLabels({ ...id, zone: undefined })).not.toHaveProperty(["topology.kubernetes.io/zone"])
  })

  it("is tainted so only pods that tolerate it land there", () => {
    expect(buildNode(id, healthy, t0).spec?.taints).toEqual([{ key: "virtual-kubelet.io/provider", value: "alibabacloud", effect: "NoSchedule" }])
  })

  it("advertises capacity, addresses, the kubelet port and node info", () => {
    const s = nodeStatus(id, healthy, t0, [])
    expect(s.capacity).toEqual({ cpu: "1000", memory: "4Ti", pods: "1000", "ephemeral-storage": "40Ti" })
    expect(s.allocatable).toEqual(s.capacity)
    expect(s.addresses).toEqual([{ type: "InternalIP", address: "10.0.0.7" }, { type: "Hostname", address: "virtual-kubelet-cn-hangzhou-j" }])
    expect(s.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } })
    expect(s.nodeInfo).toMatchObject({ architecture: "amd64", operatingSystem: "linux", kubeletVersion })
    expect(kubeletVersion).toMatch(/^v1\.\d+\.\d+-eci-virtual-node-\d+\.\d+\.\d+$/)
  })
})

describe("node conditions", () => {
  it("are Ready and without pressure when healthy", () => {
    const c = nodeConditions(healthy, t0, [])
    expect(c.map((x) => [x.type, x.status])).toEqual([
      ["Ready", "True"],
      ["MemoryPressure", "False"],
      ["DiskPressure", "False"],
      ["PIDPressure", "False"],
      ["NetworkUnavailable", "False"]
    ])
    expect(c.every((x) => x.lastHeartbeatTime === t0)).toBe(true)
  })

  it("say why the node is not Ready", () => {
    const [ready] = nodeConditions({ _tag: "Unhealthy", reason: "EciCredentialsRejected", message: "fix the key" }, t0, [])
    expect(ready).toMatchObject({ type: "Ready", status: "False", reason: "EciCredentialsRejected", message: "fix the key" })
  })

  it("keep lastTransitionTime while the status holds, and move it on a change", () => {
    const first = nodeConditions(healthy, t0, [])
    const same = nodeConditions(healthy, t1, first)
    expect(same[0]?.lastTransitionTime).toEqual(t0)
    expect(same[0]?.lastHeartbeatTime).toEqual(t1)
    const flipped = nodeConditions({ _tag: "Unhealthy", reason: "EciUnreachable", message: "x" }, t1, first)
    expect(flipped[0]?.lastTransitionTime).toEqual(t1)
    expect(flipped[1]?.lastTransitionTime).toEqual(t0)
  })
})

describe("node health from an ECI probe", () => {
  const err = { action: "DescribeContainerGroups", message: "m", requestId: "R-1" }
  it.each([
    ["a successful call", { _tag: "Ok" as const }, { _tag: "Healthy" }],
    [
      "a rejected access key",
      { _tag: "Failed" as const, error: new EciAuthFailed({ ...err, code: "InvalidAccessKeyId.NotFound", message: "Specified access key is not found." }) },
      {
        _tag: "Unhealthy",
        reason: "EciCredentialsRejected",
        message: "ECI rejected our credentials: InvalidAccessKeyId.NotFound: Specified access key is not found. (RequestId R-1). Fix the access key (Secret or environment); the node recovers on its own once ECI accepts it"
      }
    ],
    [
      "missing credentials",
      { _tag: "Failed" as const, error: new EciAuthFailed({ ...err, code: "CredentialsUnavailable", message: "secret: Secret kube-system/x not found", requestId: "" }) },
      { _tag: "Unhealthy", reason: "EciCredentialsMissing", message: "no ECI credentials: secret: Secret kube-system/x not found" }
    ],
    [
      "an unreachable endpoint",
      { _tag: "Failed" as const, error: new EciUnavailable({ ...err, code: "NetworkError", message: "connect ECONNREFUSED", requestId: "" }) },
      { _tag: "Unhealthy", reason: "EciUnreachable", message: "ECI cannot be reached or is failing: NetworkError: connect ECONNREFUSED" }
    ]
  ])("%s", (_, probe, expected) => {
    expect(healthFromProbe(probe)).toEqual(expected)
  })

  it("keeps the previous verdict when throttled (throttling is not ill health)", () => {
    expect(healthFromProbe({ _tag: "Failed", error: new EciThrottled({ ...err, code: "Throttling.User" }) })).toBeUndefined()
  })
})
