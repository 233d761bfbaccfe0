import type { V1Pod } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import type { ContainerGroup } from "../../src/eci/queries.ts"
import { decide, eventKey, type Observation } from "../../src/pods/decide.ts"

const now = new Date("2026-11-26T08:00:00Z")
const token = "k8s.aliyun.com/eci-client-token"
const instanceId = "k8s.aliyun.com/eci-instance-id"

const pod = (over: { annotations?: Record<string, string>; phase?: string; deletion?: Date; image?: string } = {}): V1Pod => ({
  metadata: {
    name: "web",
    namespace: "default",
    uid: "uid-1",
    ...(over.annotations ? { annotations: over.annotations } : {}),
    ...(over.deletion ? { deletionTimestamp: over.deletion, deletionGracePeriodSeconds: 30 } : {})
  },
  spec: { nodeName: "vk", containers: [{ name: "web", image: over.image ?? "nginx:1.27" }] },
  status: { phase: over.phase ?? "Pending" }
})

const group = (over: Partial<ContainerGroup> = {}): ContainerGroup => ({
  ContainerGroupId: "eci-1",
  Status: "Running",
  IntranetIp: "192.168.0.10",
  ZoneId: "cn-hangzhou-j",
  Cpu: 0.25,
  Memory: 0.5,
  Containers: [{ Name: "web", Image: "nginx:1.27", Ready: true, RestartCount: 0, CurrentState: { State: "Running", StartTime: "2026-11-26T07:59:50Z" } }],
  Events: [],
  ...over
})

const observe = (o: Partial<Observation> & { pod: V1Pod }): Observation => ({
  group: undefined,
  absenceProven: false,
  groupsListed: true,
  createInDoubt: false,
  deleteIssued: false,
  eventsSeen: new Set(),
  now,
  ...o
})

describe("deciding the next step for a pod", () => {
  describe("a new pod", () => {
    it("is created at once, with its UID as the client token (a repeated create returns the same group), writing nothing first", () => {
      expect(decide(observe({ pod: pod() }))).toEqual({ _tag: "CreateGroup", clientToken: "uid-1" })
    })
    it("writes back the client token it used (the UID) with the instance id", () => {
      const step = decide(observe({ pod: pod(), group: group() }))
      expect(step._tag === "Sync" ? [step.annotations[token], step.annotations[instanceId]] : step._tag).toEqual(["uid-1", "eci-1"])
    })
    it("uses the token annotated on the pod when the UID's token had to be replaced", () => {
      expect(decide(observe({ pod: pod({ annotations: { [token]: "t-1" } }) }))).toEqual({ _tag: "CreateGroup", clientToken: "t-1" })
    })
    it("repeats a create that failed in doubt with the same token rather than looking first", () => {
      expect(decide(observe({ pod: pod(), createInDoubt: true }))).toEqual({ _tag: "CreateGroup", clientToken: "uid-1" })
    })
    it("waits for the first full list of the node's groups: a group made before this process may exist, its token expired", () => {
      expect(decide(observe({ pod: pod(), groupsListed: false }))._tag).toBe("WaitForGroupList")
      expect(decide(observe({ pod: pod(), groupsListed: false, absenceProven: true }))._tag).toBe("CreateGroup")
    })
  })

  describe("a pod with a group", () => {
    const withToken = pod({ annotations: { [token]: "t-1" } })
    it("writes the status the group implies, the write-back annotations and new ECI events", () => {
      const event = { Name: "Started", Reason: "Started", Type: "Normal", Message: "Started container web", Count: 1, FirstTimestamp: "2026-11-26T07:59:50Z" }
      const step = decide(observe({ pod: withToken, group: group({ Events: [event] }) }))
      expect(step._tag).toBe("Sync")
      if (step._tag !== "Sync") return
      expect(step.status?.phase).toBe("Running")
      expect(step.status?.podIP).toBe("192.168.0.10")
      expect(step.annotations[instanceId]).toBe("eci-1")
      expect(step.annotations[token]).toBeUndefined() // the pod carries it already
      expect(step.annotations["k8s.aliyun.com/eci-instance-zone"]).toBe("cn-hangzhou-j")
      expect(step.events.map((e) => e.key)).toEqual([eventKey(event)])
    })
    it("does nothing when status, annotations and events are all up to date", () => {
      const first = decide(observe({ pod: withToken, group: group() }))
      if (first._tag !== "Sync") throw new Error(first._tag)
      const synced: V1Pod = {
        ...withToken,
        metadata: { ...withToken.metadata, annotations: { ...withToken.metadata?.annotations, ...first.annotations } },
        status: first.status ?? {}
      }
      expect(decide(observe({ pod: synced, group: group(), now: new Date(now.getTime() + 60_000) }))._tag).toBe("Nothing")
    })
    it("emits an ECI event only once", () => {
      const event = { Name: "Pulled", Reason: "Pulled", Type: "Normal", Count: 1, FirstTimestamp: "2026-11-26T07:59:40Z" }
      const step = decide(observe({ pod: withToken, group: group({ Events: [event] }), eventsSeen: new Set([eventKey(event)]) }))
      expect(step._tag === "Sync" ? step.events : []).toEqual([])
    })
    it("never replaces the vSwitch list the user wrote", () => {
      const userPod = pod({ annotations: { [token]: "t", "k8s.aliyun.com/eci-vswitch": "vsw-a,vsw-b" } })
      const step = decide(observe({ pod: userPod, group: group({ VSwitchId: "vsw-b" }) }))
      expect(step._tag === "Sync" ? step.annotations : {}).not.toHaveProperty(["k8s.aliyun.com/eci-vswitch"])
    })
    it("updates the group in place when a container image changes", () => {
      const step = decide(observe({ pod: pod({ annotations: { [token]: "t" }, image: "nginx:1.28" }), group: group() }))
      expect(step).toEqual({ _tag: "UpdateImages", groupId: "eci-1", containers: [{ Name: "web", Image: "nginx:1.28" }] })
    })
    it("retries elsewhere when ECI could not schedule the group (out of stock)", () => {
      const noStock = group({
        Status: "ScheduleFailed",
        Events: [{ Name: "NoStock", Reason: "NoStock", Type: "Warning", Message: "Create ECI failed because the specified instance is out of stock" }]
      })
      expect(decide(observe({ pod: withToken, group: noStock }))).toMatchObject({ _tag: "RetryElsewhere", groupId: "eci-1", reason: "NoStock" })
    })
    it("fails the pod instead when it asks for fail-fast", () => {
      const failFast = pod({ annotations: { [token]: "t", "k8s.aliyun.com/eci-fail-strategy": "fail-fast" } })
      const noStock = group({ Status: "ScheduleFailed", Events: [{ Name: "NoStock", Reason: "NoStock", Type: "Warning", Message: "out of stock" }] })
      const step = decide(observe({ pod: failFast, group: noStock }))
      expect(step._tag).toBe("Sync")
      expect(step._tag === "Sync" ? step.status?.phase : undefined).toBe("Failed")
    })
  })

  describe("a pod whose group vanished", () => {
    const known = pod({ annotations: { [token]: "t", [instanceId]: "eci-1" }, phase: "Running" })
    it("first makes sure the group is really gone", () => {
      expect(decide(observe({ pod: known }))._tag).toBe("LookupGroup")
    })
    it("then becomes Failed with a clear reason", () => {
      const step = decide(observe({ pod: known, absenceProven: true }))
      expect(step._tag).toBe("MarkLost")
      expect(step._tag === "MarkLost" ? [step.status.phase, step.status.message] : []).toEqual(["Failed", "The ECI instance of this pod no longer exists"])
    })
  })

  describe("a terminal pod", () => {
    it("is never created", () => {
      expect(decide(observe({ pod: pod({ phase: "Succeeded" }), absenceProven: true }))._tag).toBe("Nothing")
      expect(decide(observe({ pod: pod({ phase: "Failed", annotations: { [token]: "t" } }), absenceProven: true }))._tag).toBe("Nothing")
    })
    it("gets its still-running group deleted, so nothing is billed for it", () => {
      expect(decide(observe({ pod: pod({ phase: "Failed" }), group: group() }))).toEqual({ _tag: "DeleteGroup", groupId: "eci-1" })
    })
    it("keeps its finished group (logs stay readable until ECI's retention ends)", () => {
      expect(decide(observe({ pod: pod({ phase: "Succeeded" }), group: group({ Status: "Succeeded" }) }))._tag).toBe("Nothing")
    })
  })

  describe("a pod being deleted", () => {
    const later = new Date(now.getTime() + 30_000)
    const deleting = pod({ annotations: { [token]: "t", [instanceId]: "eci-1" }, phase: "Running", deletion: later })
    it("deletes its group first", () => {
      expect(decide(observe({ pod: deleting, group: group() }))).toEqual({ _tag: "DeleteGroup", groupId: "eci-1" })
    })
    it("waits for the group to go while the grace period runs", () => {
      expect(decide(observe({ pod: deleting, group: group({ Status: "Terminating" }), deleteIssued: true }))).toEqual({
        _tag: "WaitForGroupDeletion",
        groupId: "eci-1",
        until: later
      })
    })
    it("force-deletes the pod when the grace period is over", () => {
      expect(decide(observe({ pod: deleting, group: group(), deleteIssued: true, now: later }))._tag).toBe("ForceDeletePod")
    })
    it("force-deletes the pod once the group is proven gone", () => {
      expect(decide(observe({ pod: deleting, absenceProven: true }))._tag).toBe("ForceDeletePod")
    })
    it("checks for a group before letting go of a pod that may have one", () => {
      expect(decide(observe({ pod: deleting }))._tag).toBe("LookupGroup")
    })
    it("lets a pod we never sent to ECI go at once", () => {
      expect(decide(observe({ pod: pod({ deletion: later }) }))._tag).toBe("ForceDeletePod")
    })
    it("looks first when a create of ours failed in doubt, or before the node's groups were listed", () => {
      expect(decide(observe({ pod: pod({ deletion: later }), createInDoubt: true }))._tag).toBe("LookupGroup")
      expect(decide(observe({ pod: pod({ deletion: later }), groupsListed: false }))._tag).toBe("LookupGroup")
      expect(decide(observe({ pod: pod({ deletion: later }), createInDoubt: true, absenceProven: true }))._tag).toBe("ForceDeletePod")
    })
  })
})
