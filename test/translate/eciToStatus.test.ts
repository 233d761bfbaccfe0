import type { V1Pod, V1PodStatus } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import type { DescribeContainerGroupsResponseBodyContainerGroupsContainers } from "../../src/eci/api.generated.ts"
import { containerId } from "../../src/translate/containerStatus.ts"
import { eciToStatus, groupFailure, lostGroupStatus, rejectedStatus, type Group } from "../../src/translate/eciToStatus.ts"
import { container, pod } from "./fixtures.ts"

type EciContainer = DescribeContainerGroupsResponseBodyContainerGroupsContainers

const T0 = "2026-03-01T10:00:00Z"
const T1 = "2026-03-01T10:00:07Z"
const T2 = "2026-03-01T10:05:00Z"
const now = new Date("2026-03-01T10:06:00Z")

const running = (name = "app", extra: Partial<EciContainer> = {}): EciContainer => ({
  Name: name,
  Image: "nginx:1.27",
  Ready: true,
  RestartCount: 0,
  CurrentState: { State: "Running", StartTime: T1 },
  ...extra
})
const terminated = (name: string, exitCode: number, extra: Partial<EciContainer> = {}): EciContainer => ({
  Name: name,
  Image: "nginx:1.27",
  Ready: false,
  RestartCount: 0,
  CurrentState: { State: "Terminated", ExitCode: exitCode, Reason: exitCode === 0 ? "Completed" : "Error", StartTime: T1, FinishTime: T2 },
  ...extra
})
const waiting = (name: string, reason = "ContainerCreating", extra: Partial<EciContainer> = {}): EciContainer => ({
  Name: name,
  Image: "nginx:1.27",
  Ready: false,
  RestartCount: 0,
  CurrentState: { State: "Waiting", Reason: reason },
  ...extra
})

const group = (g: Partial<Group> = {}): Group => ({
  ContainerGroupId: "eci-bp1abc",
  Status: "Running",
  IntranetIp: "192.168.3.7",
  CreationTime: T0,
  Containers: [running()],
  ...g
})

const status = (g: Partial<Group>, p: V1Pod = pod()) => eciToStatus(p, group(g), now)
const cond = (s: V1PodStatus, type: string) => s.conditions?.find((c) => c.type === type)

describe("ContainerGroup → PodStatus", () => {
  describe("phase (§2.1, refined by the kubelet's rule)", () => {
    it.each([
      ["Scheduling, nothing reported yet", { Status: "Scheduling", Containers: [], IntranetIp: "" }, "Pending"],
      ["Pending with a container being created", { Status: "Pending", Containers: [waiting("app")] }, "Pending"],
      ["Running with a running container", {}, "Running"],
      ["Running with a crash-looping container (restarting)", {
        Containers: [waiting("app", "CrashLoopBackOff", { RestartCount: 3, PreviousState: { State: "Terminated", ExitCode: 1, FinishTime: T2 } })]
      }, "Running"],
      ["Terminating", { Status: "Terminating" }, "Running"],
      ["Succeeded, all exited 0", { Status: "Succeeded", Containers: [terminated("app", 0)], SucceededTime: T2 }, "Succeeded"],
      ["Succeeded but a container exited 1 (defensive)", { Status: "Succeeded", Containers: [terminated("app", 1)] }, "Failed"],
      ["Failed", { Status: "Failed", Containers: [terminated("app", 2)], FailedTime: T2 }, "Failed"],
      ["Expired", { Status: "Expired" }, "Failed"],
      ["ScheduleFailed", { Status: "ScheduleFailed", Containers: [] }, "Failed"]
    ] as ReadonlyArray<readonly [string, Partial<Group>, string]>)("%s → %s", (_, g, phase) => {
      expect(status(g).phase).toBe(phase)
    })

    it("Restarting or Updating keeps a Running pod Running (Kubernetes has no way back to Pending)", () => {
      const wasRunning = pod({}, {})
      wasRunning.status = { phase: "Running" }
      for (const s of ["Restarting", "Updating"]) {
        expect(eciToStatus(wasRunning, group({ Status: s, Containers: [waiting("app")] }), now).phase).toBe("Running")
        expect(status({ Status: s, Containers: [waiting("app")] }).phase).toBe("Pending")
      }
    })

    it("follows the restart policy while ECI still says Running: Never + a failed container → Failed", () => {
      const p = pod({ restartPolicy: "Never" })
      expect(status({ Containers: [terminated("app", 1)] }, p).phase).toBe("Failed")
      expect(status({ Containers: [terminated("app", 0)] }, p).phase).toBe("Succeeded")
      expect(status({ Containers: [terminated("app", 1)] }, pod({ restartPolicy: "OnFailure" })).phase).toBe("Running")
    })

    it("stays Pending while init containers run; a failed init container with Never fails the pod", () => {
      const p = pod({ initContainers: [container({ name: "init" })] })
      const s = status({ Status: "Pending", InitContainers: [running("init")], Containers: [waiting("app", "PodInitializing")] }, p)
      expect(s.phase).toBe("Pending")
      expect(cond(s, "Initialized")).toMatchObject({ status: "False", reason: "ContainersNotInitialized", message: "containers with incomplete status: [init]" })
      const never = pod({ restartPolicy: "Never", initContainers: [container({ name: "init" })] })
      expect(status({ InitContainers: [terminated("init", 1)], Containers: [waiting("app", "PodInitializing")] }, never).phase).toBe("Failed")
    })

    it("never leaves a terminal phase: the previous status is returned as it is", () => {
      const done = pod()
      done.status = { phase: "Succeeded", reason: "kept" }
      expect(eciToStatus(done, group({ Status: "Running" }), now)).toBe(done.status)
    })
  })

  describe("failure reasons (§2.3)", () => {
    it("a reclaimed spot instance is BidFailed with ack-virtual-node's message", () => {
      const s = status({ Status: "Expired", SpotStrategy: "SpotAsPriceGo", ExpiredTime: T2 })
      expect([s.reason, s.message]).toEqual(["BidFailed", `The pod is spot instance, and have been released at ${T2}`])
      expect(cond(s, "ContainerInstanceExpired")).toMatchObject({ status: "True" })
    })

    it("a non-spot expiry is Expired", () => {
      expect(status({ Status: "Expired", ExpiredTime: T2 }).reason).toBe("Expired")
    })

    it("ScheduleFailed with a NoStock event is NoStock", () => {
      const s = status({
        Status: "ScheduleFailed",
        Containers: [],
        Events: [{ Type: "Warning", Reason: "NoStock", Message: "Create ECI failed because the specified instance is out of stock", LastTimestamp: T1 }]
      })
      expect([s.reason, s.message]).toEqual(["NoStock", "Create ECI failed because the specified instance is out of stock"])
      expect(cond(s, "ContainerInstanceCreated")).toMatchObject({ status: "False", reason: "NoStock" })
    })

    it("other ScheduleFailed causes report the latest warning", () => {
      const s = status({
        Status: "ScheduleFailed",
        Containers: [],
        Events: [
          { Type: "Warning", Reason: "QuotaFull", Message: "old", LastTimestamp: T0 },
          { Type: "Warning", Reason: "FailedScheduling", Message: "Schedule eci failed: vSwitch has no free IP", LastTimestamp: T1 },
          { Type: "Normal", Reason: "Created", Message: "later but normal", LastTimestamp: T2 }
        ]
      })
      expect([s.reason, s.message]).toEqual(["ScheduleFailed", "Schedule eci failed: vSwitch has no free IP"])
    })

    it("a Failed group after activeDeadlineSeconds is DeadlineExceeded", () => {
      const s = status({ Status: "Failed", Containers: [terminated("app", 137)], FailedTime: "2026-03-01T10:01:00Z" }, pod({ activeDeadlineSeconds: 60 }))
      expect([s.reason, s.message]).toEqual(["DeadlineExceeded", "Pod was active on the node longer than the specified deadline"])
    })

    it("groupFailure says nothing for healthy or plainly failed groups", () => {
      expect(groupFailure(group())).toBeUndefined()
      expect(groupFailure(group({ Status: "Failed" }))).toBeUndefined()
    })

    it("announces a spot reclaim from the SpotToBeReleased event, before it happens", () => {
      const s = status({ SpotStrategy: "SpotWithPriceLimit", Events: [{ Type: "Warning", Reason: "SpotToBeReleased", Message: "Spot ECI will be released in 3 minutes" }] })
      expect(s.phase).toBe("Running")
      expect(cond(s, "ContainerInstanceExpired")).toMatchObject({ status: "True", reason: "SpotToBeReleased" })
    })
  })

  describe("container statuses", () => {
    it("a running container: state, ready, started, restart count, image, a stable containerd ID", () => {
      const s = status({ Containers: [running("app", { RestartCount: 2 })] })
      expect(s.containerStatuses).toEqual([{
        name: "app",
        image: "nginx:1.27",
        imageID: "",
        containerID: containerId("eci-bp1abc", "containers", "app", 2),
        ready: true,
        restartCount: 2,
        started: true,
        state: { running: { startedAt: new Date(T1) } }
      }])
      expect(s.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/)
      expect(status({ Containers: [running("app", { RestartCount: 2 })] }).containerStatuses?.[0]?.containerID).toBe(s.containerStatuses?.[0]?.containerID)
    })

    it("lastState comes from PreviousState, with the previous run's container ID", () => {
      const s = status({
        Containers: [running("app", { RestartCount: 1, PreviousState: { State: "Terminated", ExitCode: 137, Reason: "OOMKilled", StartTime: T0, FinishTime: T1 } })]
      })
      expect(s.containerStatuses?.[0]?.lastState).toEqual({
        terminated: {
          exitCode: 137,
          reason: "OOMKilled",
          startedAt: new Date(T0),
          finishedAt: new Date(T1),
          containerID: containerId("eci-bp1abc", "containers", "app", 0)
        }
      })
    })

    it.each([
      ["exit 0 → Completed", { State: "Terminated", ExitCode: 0 }, { exitCode: 0, reason: "Completed" }],
      ["exit 1 → Error", { State: "Terminated", ExitCode: 1 }, { exitCode: 1, reason: "Error" }],
      ["ECI's reason is kept", { State: "Terminated", ExitCode: 137, Reason: "OOMKilled", Message: "Out of memory" }, { exitCode: 137, reason: "OOMKilled", message: "Out of memory" }],
      ["OOM named only in the detail", { State: "Terminated", ExitCode: 137, DetailStatus: "container OOM" }, { exitCode: 137, reason: "OOMKilled", message: "container OOM" }],
      ["signal kept", { State: "Terminated", ExitCode: 143, Signal: 15 }, { exitCode: 143, reason: "Error", signal: 15 }],
      ["old vocabulary: Succeeded", { State: "Succeeded" }, { exitCode: 0, reason: "Completed" }],
      ["old vocabulary: Failed", { State: "Failed" }, { exitCode: 1, reason: "Error" }],
      ["no exit code and no evidence of success counts as a failure", { State: "Terminated" }, { exitCode: 1, reason: "Error" }]
    ])("terminated: %s", (_, state, terminatedState) => {
      const s = status({ Status: "Failed", Containers: [{ Name: "app", CurrentState: state }] })
      expect(s.containerStatuses?.[0]?.state?.terminated).toMatchObject(terminatedState)
    })

    it("names a 137 exit OOMKilled when ECI reports an OOM event", () => {
      const s = status({ Status: "Failed", Containers: [terminated("app", 137, { CurrentState: { State: "Terminated", ExitCode: 137 } })], Events: [{ Type: "Warning", Reason: "OOMKilled", Message: "Out of memory" }] })
      expect(s.containerStatuses?.[0]?.state?.terminated?.reason).toBe("OOMKilled")
    })

    it("waiting containers keep ECI's reason and message (image pull errors)", () => {
      const s = status({ Status: "Pending", Containers: [waiting("app", "ErrImagePull", { CurrentState: { State: "Waiting", Reason: "ErrImagePull", Message: "pull access denied" } })] })
      expect(s.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "ErrImagePull", message: "pull access denied" } })
      expect(s.containerStatuses?.[0]).toMatchObject({ ready: false, started: false })
      expect(s.containerStatuses?.[0]).not.toHaveProperty("containerID")
    })

    it("a container ECI does not report yet waits in ContainerCreating, or PodInitializing behind init containers", () => {
      expect(status({ Status: "Scheduling", Containers: [] }).containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "ContainerCreating" } })
      const s = status({ Status: "Scheduling", Containers: [] }, pod({ initContainers: [container({ name: "init" })] }))
      expect(s.initContainerStatuses?.[0]?.state).toEqual({ waiting: { reason: "PodInitializing" } })
      expect(s.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "PodInitializing" } })
    })

    it("init containers ECI does not report are complete once an app container has started", () => {
      const s = status({ InitContainers: [], Containers: [running("app")] }, pod({ initContainers: [container({ name: "init" })] }))
      expect(s.initContainerStatuses?.[0]).toMatchObject({ ready: true, state: { terminated: { exitCode: 0, reason: "Completed" } } })
      expect([s.phase, cond(s, "Initialized")?.status, cond(s, "Ready")?.status]).toEqual(["Running", "True", "True"])
    })

    it("a ready app container does not make the pod Ready while ECI still reports an init container running", () => {
      const s = status({ InitContainers: [running("init")], Containers: [running("app")] }, pod({ initContainers: [container({ name: "init" })] }))
      expect(s.phase).toBe("Pending")
      expect(cond(s, "Ready")?.status).toBe("False")
    })

    it("a completed init container is ready", () => {
      const s = status({ InitContainers: [terminated("init", 0)] }, pod({ initContainers: [container({ name: "init" })] }))
      expect(s.initContainerStatuses?.[0]).toMatchObject({ ready: true, started: false, state: { terminated: { exitCode: 0, reason: "Completed" } } })
    })

    it("in a terminal pod, a container still reported running shows as terminated (ContainerStatusUnknown, 137)", () => {
      const s = status({ Status: "Failed", FailedTime: T2, Containers: [running("app"), terminated("side", 1)] }, pod({ containers: [container(), container({ name: "side" })] }))
      expect(s.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: "ContainerStatusUnknown", finishedAt: new Date(T2) })
      expect(s.containerStatuses?.[0]?.ready).toBe(false)
    })

    it("trusts ECI's readiness while the instance is active (also while it restarts), never once it ended", () => {
      expect(status({ Status: "Restarting", Containers: [running("app")] }).containerStatuses?.[0]?.ready).toBe(true)
      expect(status({ Status: "Running", Containers: [running("app", { Ready: false })] }).containerStatuses?.[0]?.ready).toBe(false)
      expect(status({ Status: "Succeeded", Containers: [terminated("app", 0, { Ready: true })] }).containerStatuses?.[0]?.ready).toBe(false)
    })
  })

  describe("conditions", () => {
    it("a running, ready pod has the kubelet's conditions plus ContainerInstanceCreated", () => {
      const s = status({})
      expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
        ["PodReadyToStartContainers", "True"],
        ["Initialized", "True"],
        ["Ready", "True"],
        ["ContainersReady", "True"],
        ["PodScheduled", "True"],
        ["ContainerInstanceCreated", "True"]
      ])
    })

    it("names unready containers", () => {
      const s = status({ Containers: [running("app", { Ready: false })] })
      expect(cond(s, "ContainersReady")).toMatchObject({ status: "False", reason: "ContainersNotReady", message: "containers with unready status: [app]" })
      expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" })
    })

    it("a succeeded pod is not ready because it completed", () => {
      const s = status({ Status: "Succeeded", Containers: [terminated("app", 0)] })
      expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "PodCompleted" })
    })

    it("keeps lastTransitionTime when a condition did not change, takes `now` when it did", () => {
      const before = new Date("2026-03-01T09:00:00Z")
      const p = pod()
      p.status = {
        phase: "Running",
        conditions: [
          { type: "PodScheduled", status: "True", lastTransitionTime: before },
          { type: "Ready", status: "False", lastTransitionTime: before }
        ]
      }
      const s = eciToStatus(p, group(), now)
      expect(cond(s, "PodScheduled")?.lastTransitionTime).toEqual(before)
      expect(cond(s, "Ready")?.lastTransitionTime).toEqual(now)
    })

    it("accepts a previous transition time written as a string (a pod read as plain JSON)", () => {
      const p = pod()
      p.status = { conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2026-03-01T09:00:00Z" as unknown as Date }] }
      expect(cond(eciToStatus(p, group(), now), "PodScheduled")?.lastTransitionTime).toEqual(new Date("2026-03-01T09:00:00Z"))
    })

    it("keeps conditions other writers added, and honours readiness gates", () => {
      const p = pod({ readinessGates: [{ conditionType: "example.com/lb-ready" }] })
      p.status = { conditions: [{ type: "example.com/lb-ready", status: "False" }, { type: "DisruptionTarget", status: "True" }] }
      const s = eciToStatus(p, group(), now)
      expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "ReadinessGatesNotReady", message: 'the status of pod readiness gate "example.com/lb-ready" is not "True", but False' })
      expect(cond(s, "ContainersReady")?.status).toBe("True")
      expect(s.conditions?.slice(-2).map((c) => c.type)).toEqual(["example.com/lb-ready", "DisruptionTarget"])
    })

    it("ContainerInstanceCreated is False while ECI creates the instance", () => {
      expect(cond(status({ Status: "Scheduling", Containers: [] }), "ContainerInstanceCreated")).toMatchObject({ status: "False", reason: "Creating" })
    })
  })

  describe("addresses, times and QoS", () => {
    it("the pod IP is the instance's address, and so is the host IP (as ack-virtual-node reports)", () => {
      const s = status({ Ipv6Address: "2408::1" })
      expect(s).toMatchObject({ podIP: "192.168.3.7", podIPs: [{ ip: "192.168.3.7" }, { ip: "2408::1" }], hostIP: "192.168.3.7", hostIPs: [{ ip: "192.168.3.7" }] })
    })

    it("no address yet: no IP fields", () => {
      const s = status({ Status: "Scheduling", IntranetIp: "", Containers: [] })
      expect(s.podIP).toBeUndefined()
      expect(s.hostIP).toBeUndefined()
    })

    it("keeps the previous pod IP when the group no longer reports one", () => {
      const p = pod()
      p.status = { podIP: "192.168.3.7" }
      expect(eciToStatus(p, group({ IntranetIp: "" }), now).podIP).toBe("192.168.3.7")
    })

    it("startTime is the group's creation, then stays", () => {
      expect(status({}).startTime).toEqual(new Date(T0))
      const p = pod()
      p.status = { startTime: new Date("2026-03-01T09:59:59Z") }
      expect(eciToStatus(p, group(), now).startTime).toEqual(new Date("2026-03-01T09:59:59Z"))
    })

    it("qosClass is computed from the pod, or kept from the API server", () => {
      expect(status({}).qosClass).toBe("BestEffort")
      expect(status({}, pod({ containers: [container({ resources: { limits: { cpu: "1", memory: "1Gi" } } })] })).qosClass).toBe("Guaranteed")
    })
  })

  describe("a group that disappeared", () => {
    it("fails the pod and terminates what was running", () => {
      const p = pod()
      p.status = eciToStatus(p, group(), now)
      const s = lostGroupStatus(p, new Date(T2))
      expect(s).toMatchObject({ phase: "Failed", reason: "ProviderFailed" })
      expect(s.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: "ContainerStatusUnknown" })
      expect(cond(s, "Ready")?.status).toBe("False")
    })
  })

  describe("a pod the translator refused", () => {
    it("fails at once with every refusal in the message, like a kubelet admission rejection", () => {
      const s = rejectedStatus(pod(), [
        { field: "spec.hostNetwork", reason: "hostNetwork is not supported" },
        { field: "spec.volumes[0].hostPath", reason: "hostPath volumes are not supported" }
      ], now)
      expect(s).toEqual({
        phase: "Failed",
        reason: "UnsupportedByECI",
        message: "Pod was rejected: ECI cannot run it as specified: spec.hostNetwork: hostNetwork is not supported; spec.volumes[0].hostPath: hostPath volumes are not supported",
        startTime: now,
        qosClass: "BestEffort"
      })
    })
  })
})
