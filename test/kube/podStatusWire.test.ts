import type { V1Pod, V1PodStatus } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import { fromWire } from "../../src/kube/codec.ts"
import { podStatusAsServed, podStatusPatchChanges } from "../../src/kube/podStatusWire.ts"
import { eciToStatus } from "../../src/translate/eciToStatus.ts"

/** `kubectl get pod -o json` of a pod whose status was patched with `eciToStatus(pod, group, …)` below (kube-apiserver 1.36.3). */
const servedJson = {
  conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled", "ContainerInstanceCreated"].map((type) => ({
    lastProbeTime: null,
    lastTransitionTime: "2030-01-01T00:00:02Z",
    status: "True",
    type
  })),
  containerStatuses: [{
    containerID: "containerd://64ea69012923138e6c43ce8e50e037d62a8c1ca748f7eb88f95ebeaf18043759",
    image: "nginx:1.27",
    imageID: "",
    lastState: {},
    name: "c",
    ready: true,
    restartCount: 0,
    started: true,
    state: { running: { startedAt: "2030-01-01T00:00:01Z" } }
  }],
  hostIP: "10.0.0.5",
  hostIPs: [{ ip: "10.0.0.5" }],
  phase: "Running",
  podIP: "10.0.0.5",
  podIPs: [{ ip: "10.0.0.5" }],
  qosClass: "Burstable",
  startTime: "2030-01-01T00:00:00Z"
}

const group = {
  ContainerGroupId: "eci-abc",
  Status: "Running",
  IntranetIp: "10.0.0.5",
  CreationTime: "2030-01-01T00:00:00Z",
  Containers: [{ Name: "c", Image: "nginx:1.27", Ready: true, RestartCount: 0, CurrentState: { State: "Running", StartTime: "2030-01-01T00:00:01Z" }, PreviousState: {} }],
  Events: []
}

const pod = (status: V1PodStatus): V1Pod => ({
  metadata: { namespace: "rt", name: "p", uid: "u" },
  spec: { nodeName: "vk", containers: [{ name: "c", image: "nginx:1.27", resources: { requests: { cpu: "100m", memory: "100Mi" } } }] },
  status
})

const served = fromWire<V1PodStatus>("V1PodStatus", servedJson)
const servedConditions = served.conditions ?? []

describe("a pod status as the API server serves it", () => {
  it("has encoding/json's zero values: null times, {} states, defaulted required fields; no empty omitempty fields; whole seconds", () => {
    // Sent to kube-apiserver 1.36.3 as a pods/status patch; what it answered (see the Kube contract).
    expect(podStatusAsServed({
      phase: "Running",
      reason: "",
      podIP: "",
      podIPs: [],
      conditions: [
        { type: "Ready", status: "True", reason: "", message: "" },
        { type: "X", status: "False", lastTransitionTime: "2030-01-01T00:00:05.999Z", lastProbeTime: "2030-01-01T00:00:06.5+01:00" }
      ],
      initContainerStatuses: [{ name: "i" }],
      containerStatuses: [
        {
          name: "c",
          image: "",
          imageID: "",
          containerID: "",
          ready: false,
          restartCount: 0,
          started: false,
          state: { running: {} },
          lastState: { terminated: { exitCode: 0, signal: 0, reason: "", message: "" } }
        },
        { name: "d", state: { waiting: { reason: "", message: "" } }, lastState: {} }
      ],
      startTime: "2030-01-01T00:00:00.5Z"
    })).toEqual({
      phase: "Running",
      conditions: [
        { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: null },
        { type: "X", status: "False", lastProbeTime: "2029-12-31T23:00:06Z", lastTransitionTime: "2030-01-01T00:00:05Z" }
      ],
      initContainerStatuses: [{ name: "i", image: "", imageID: "", lastState: {}, ready: false, restartCount: 0, state: {} }],
      containerStatuses: [
        {
          name: "c",
          image: "",
          imageID: "",
          ready: false,
          restartCount: 0,
          started: false,
          state: { running: { startedAt: null } },
          lastState: { terminated: { exitCode: 0, startedAt: null, finishedAt: null } }
        },
        { name: "d", image: "", imageID: "", lastState: {}, ready: false, restartCount: 0, state: { waiting: {} } }
      ],
      startTime: "2030-01-01T00:00:00Z"
    })
  })

  it("is a fixed point: what the server serves, it serves again", () => {
    expect(podStatusAsServed(servedJson)).toEqual(servedJson)
  })
})

describe("whether a pods/status patch changes the stored status", () => {
  const computed = eciToStatus(pod({ phase: "Pending", qosClass: "Burstable" }), group, new Date("2030-01-01T00:00:02.345Z"))

  it("a status the API server stored reads back unequal as JSON, yet writing it again changes nothing", () => {
    const again = eciToStatus(pod(served), group, new Date("2030-01-01T01:00:00Z"))
    const asJson = (s: unknown) => JSON.stringify(s, (_, v) => (v instanceof Date ? v.toISOString() : v))
    expect(asJson(again)).not.toEqual(asJson(served)) // key order, lastProbeTime: null, lastState: {}
    expect(podStatusPatchChanges(served, again)).toBe(false)
  })

  it("the first write (milliseconds the server drops included) changes the pod", () => {
    expect(podStatusPatchChanges({ phase: "Pending", qosClass: "Burstable" }, computed)).toBe(true)
    expect(podStatusPatchChanges(undefined, computed)).toBe(true)
  })

  it("a condition that flips, a container that restarts, a new condition are changes", () => {
    const notReady = { ...served, conditions: servedConditions.map((c) => c.type === "Ready" ? { ...c, status: "False" } : c) }
    expect(podStatusPatchChanges(notReady, eciToStatus(pod(notReady), group, new Date("2030-01-01T01:00:00Z")))).toBe(true)
    const restarted = { ...group, Containers: [{ ...group.Containers[0]!, RestartCount: 1, PreviousState: { State: "Terminated", ExitCode: 1 } }] }
    expect(podStatusPatchChanges(served, eciToStatus(pod(served), restarted, new Date("2030-01-01T01:00:00Z")))).toBe(true)
    const fewer = { ...served, conditions: servedConditions.filter((c) => c.type !== "ContainerInstanceCreated") }
    expect(podStatusPatchChanges(fewer, eciToStatus(pod(fewer), group, new Date("2030-01-01T01:00:00Z")))).toBe(true)
  })

  it("what the patch leaves out is kept by the merge, so it is no change; nor is the order of conditions", () => {
    const nominated = { ...served, nominatedNodeName: "elsewhere" }
    expect(podStatusPatchChanges(nominated, eciToStatus(pod(nominated), group, new Date("2030-01-01T01:00:00Z")))).toBe(false)
    const reordered = { ...served, conditions: [...servedConditions].reverse() }
    expect(podStatusPatchChanges(reordered, eciToStatus(pod(reordered), group, new Date("2030-01-01T01:00:00Z")))).toBe(false)
  })
})
