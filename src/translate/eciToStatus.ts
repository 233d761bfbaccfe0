import type { V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from "@kubernetes/client-node"
import type {
  DescribeContainerGroupsResponseBodyContainerGroups,
  DescribeContainerGroupsResponseBodyContainerGroupsEvents
} from "../eci/api.generated.ts"
import { containerStatus, hasOomEvent, terminate, toDate, type EciContainer } from "./containerStatus.ts"
import { opt } from "./opt.ts"
import { qosClass } from "./qos.ts"

/**
 * ContainerGroup (as DescribeContainerGroups returns it) + the pod (spec and previous status) →
 * the pod's new status. Pure: the current time is a parameter, used only for the transition time
 * of a condition whose status changed.
 *
 * Phase (§2.1 table, refined by the kubelet's own rule, kubelet_pods.go getPhase):
 * - `Scheduling` → Pending (no containers yet).
 * - `Pending`, `Running`, `Restarting`, `Updating`, `Terminating` → computed from the container
 *   states exactly like the kubelet: Pending while init containers run or a container has never
 *   started; Running once all have started and one runs or is restarting (a crash-looping
 *   container is "restarting"); Succeeded/Failed when all have stopped and the restart policy will
 *   not restart them. ECI calls Restarting and Updating "Pending" (§2.1), but Kubernetes has no way
 *   back from Running to Pending (controllers treat such pods as new), so a pod that was Running
 *   stays Running while ECI restarts or updates it.
 * - `Succeeded` → Succeeded if every container exited 0 (Failed otherwise: a defensive check).
 * - `Failed`, `Expired`, `ScheduleFailed`, `StartingFailed`, `WatingForDel` → Failed, with the
 *   reason: `BidFailed` for a reclaimed spot instance ("The pod is spot instance, and have been
 *   released at <time>", as ack-virtual-node reports it, §2.3), `NoStock` when the events say the
 *   spec was out of stock, `ScheduleFailed` for other creation failures, `DeadlineExceeded` when
 *   activeDeadlineSeconds ended it, `Expired` for a non-spot expiry.
 * - Terminal phases are final: once Succeeded or Failed, the previous status is returned unchanged
 *   (the API server refuses to leave a terminal phase).
 *
 * Conditions: PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled (the
 * kubelet's set, with its reasons and messages) plus ack-virtual-node's `ContainerInstanceCreated`
 * and, once a spot instance is about to be or has been reclaimed, `ContainerInstanceExpired`.
 * Conditions other writers added (readiness gates, DisruptionTarget, …) are kept as they are.
 */
export type Group = DescribeContainerGroupsResponseBodyContainerGroups
type Event = DescribeContainerGroupsResponseBodyContainerGroupsEvents

export const CONDITION_INSTANCE_CREATED = "ContainerInstanceCreated"
export const CONDITION_INSTANCE_EXPIRED = "ContainerInstanceExpired"

const ownedConditions = new Set([
  "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled",
  CONDITION_INSTANCE_CREATED, CONDITION_INSTANCE_EXPIRED
])

type GroupPhase = "creating" | "active" | "succeeded" | "failed"

/** ECI statuses by what they mean for the pod (§2.1); an unknown status is treated as active. */
export const groupPhase = (status: string | undefined): GroupPhase => {
  switch (status) {
    case "Scheduling":
      return "creating"
    case "Succeeded":
      return "succeeded"
    case "Failed":
    case "Expired":
    case "ScheduleFailed":
    case "StartingFailed":
    case "WatingForDel":
    case "WaitingForDel":
      return "failed"
    default:
      return "active"
  }
}

const isSpot = (g: Group): boolean => g.SpotStrategy === "SpotWithPriceLimit" || g.SpotStrategy === "SpotAsPriceGo"

const latestWarning = (events: ReadonlyArray<Event>): Event | undefined =>
  [...events]
    .filter((e) => e.Type === "Warning")
    .sort((a, b) => (a.LastTimestamp ?? a.FirstTimestamp ?? "").localeCompare(b.LastTimestamp ?? b.FirstTimestamp ?? ""))
    .at(-1)

const isNoStock = (e: Event): boolean =>
  e.Reason === "NoStock" || e.Name === "NoStock" || /NoStock|out of stock/i.test(e.Message ?? "")

export interface GroupFailure {
  readonly reason: string
  readonly message: string
}

/**
 * Why a group failed to be created or was taken away, in the pod-level reason vocabulary of
 * ack-virtual-node (§2.3); `undefined` for a group that did not fail that way (including a plain
 * `Failed`, where the containers tell the story). The controller uses it too, to decide whether a
 * `NoStock` pod is worth re-creating elsewhere (fail-back).
 */
export const groupFailure = (g: Group): GroupFailure | undefined => {
  const events = g.Events ?? []
  switch (g.Status) {
    case "Expired":
      return isSpot(g)
        ? { reason: "BidFailed", message: `The pod is spot instance, and have been released at ${g.ExpiredTime ?? g.FailedTime ?? "an unknown time"}` }
        : { reason: "Expired", message: `The ECI instance expired at ${g.ExpiredTime ?? "an unknown time"}` }
    case "ScheduleFailed":
    case "StartingFailed":
    case "WatingForDel":
    case "WaitingForDel": {
      const noStock = events.find(isNoStock)
      if (noStock !== undefined) return { reason: "NoStock", message: noStock.Message || "Create ECI failed because the specified instance is out of stock" }
      const warning = latestWarning(events)
      return {
        reason: g.Status === "StartingFailed" ? "StartingFailed" : "ScheduleFailed",
        message: warning?.Message || `ECI could not create the instance (status ${g.Status})`
      }
    }
    default:
      return undefined
  }
}

/** The kubelet's phase rule (getPhase) over computed statuses, for a pod that is not terminal yet. */
const kubeletPhase = (
  restartPolicy: string,
  inits: ReadonlyArray<V1ContainerStatus>,
  apps: ReadonlyArray<V1ContainerStatus>
): "Pending" | "Running" | "Succeeded" | "Failed" => {
  let pendingInit = false
  for (const s of inits) {
    const t = s.state?.terminated
    if (t !== undefined && t.exitCode === 0) continue
    const failedOnce = (t !== undefined && t.exitCode !== 0) || s.lastState?.terminated !== undefined
    if (restartPolicy === "Never" && failedOnce && s.state?.running === undefined) return "Failed"
    pendingInit = true
  }
  if (pendingInit) return "Pending"
  let running = 0
  let waiting = 0
  let stopped = 0
  let succeeded = 0
  for (const s of apps) {
    if (s.state?.running !== undefined) running++
    else if (s.state?.terminated !== undefined) {
      stopped++
      if (s.state.terminated.exitCode === 0) succeeded++
    } else if (s.lastState?.terminated !== undefined) stopped++
    else waiting++
  }
  if (waiting > 0) return "Pending"
  if (running > 0) return "Running"
  if (stopped > 0) {
    if (restartPolicy === "Always") return "Running"
    if (stopped === succeeded) return "Succeeded"
    if (restartPolicy === "Never") return "Failed"
    return "Running"
  }
  return "Pending"
}

const names = (xs: ReadonlyArray<{ name: string }>): string => `[${xs.map((x) => x.name).join(" ")}]`

const condition = (
  previous: ReadonlyArray<V1PodCondition>,
  now: Date,
  type: string,
  status: boolean,
  reason?: string,
  message?: string
): V1PodCondition => {
  const s = status ? "True" : "False"
  const prev = previous.find((c) => c.type === type)
  // A pod read from JSON instead of through client-node may carry the time as a string.
  const kept = prev !== undefined && prev.status === s && prev.lastTransitionTime !== undefined ? new Date(prev.lastTransitionTime) : undefined
  const since = kept !== undefined && !Number.isNaN(kept.getTime()) ? kept : now
  return { type, status: s, lastTransitionTime: since, ...opt("reason", reason), ...opt("message", message) }
}

const byName = (list: ReadonlyArray<EciContainer> | undefined): ReadonlyMap<string, EciContainer> =>
  new Map((list ?? []).filter((c) => c.Name !== undefined).map((c) => [c.Name ?? "", c]))

/** Container statuses in spec order, before any terminal-phase adjustment. */
const containerStatuses = (pod: V1Pod, group: Group, gp: GroupPhase) => {
  const groupId = group.ContainerGroupId ?? ""
  const oomEvent = hasOomEvent(group.Events ?? [])
  const initSpecs: ReadonlyArray<V1Container> = pod.spec?.initContainers ?? []
  const appSpecs: ReadonlyArray<V1Container> = pod.spec?.containers ?? []
  const eciInits = byName(group.InitContainers)
  const eciApps = byName(group.Containers)
  const groupActive = gp === "active"
  // App containers start only after every init container succeeded, so once one has started, an
  // init container ECI does not report is known to have completed.
  const appsStarted = appSpecs.some((c) => {
    const st = eciApps.get(c.name)
    return [st?.CurrentState?.State, st?.PreviousState?.State].some((x) => x !== undefined && x !== "" && x !== "Waiting" && x !== "Pending")
  })
  const inits = initSpecs.map((c): V1ContainerStatus => {
    const s = containerStatus(c, eciInits.get(c.name), { groupId, kind: "initContainers", defaultWaiting: "PodInitializing", groupActive, oomEvent })
    return appsStarted && eciInits.get(c.name) === undefined ? { ...s, ready: true, state: { terminated: { exitCode: 0, reason: "Completed" } } } : s
  })
  const initsDone = inits.every((s) => s.state?.terminated?.exitCode === 0)
  const apps = appSpecs.map((c) =>
    containerStatus(c, eciApps.get(c.name), { groupId, kind: "containers", defaultWaiting: initsDone ? "ContainerCreating" : "PodInitializing", groupActive, oomEvent }))
  return { inits, apps }
}

type Phase = "Pending" | "Running" | "Succeeded" | "Failed"

/** The phase of a pod whose group is still active (see the header for the rules). */
const activePhase = (pod: V1Pod, inits: ReadonlyArray<V1ContainerStatus>, apps: ReadonlyArray<V1ContainerStatus>): Phase => {
  let phase = kubeletPhase(pod.spec?.restartPolicy ?? "Always", inits, apps)
  // The kubelet would now kill what still runs; ECI has not, so the pod is not over yet.
  if (phase === "Succeeded" || phase === "Failed") {
    if (apps.some((s) => s.state?.running !== undefined)) phase = "Running"
    else if (inits.some((s) => s.state?.running !== undefined)) phase = "Pending"
  }
  return phase === "Pending" && pod.status?.phase === "Running" ? "Running" : phase
}

/** `reason`/`message` of a terminal pod: the group's failure, or an exceeded activeDeadlineSeconds. */
const terminalReason = (pod: V1Pod, group: Group, phase: Phase): GroupFailure | undefined => {
  const failure = groupFailure(group)
  if (failure !== undefined) return failure
  const deadline = pod.spec?.activeDeadlineSeconds
  if (phase !== "Failed" || deadline === undefined) return undefined
  const start = pod.status?.startTime ?? toDate(group.CreationTime)
  const failedAt = toDate(group.FailedTime)
  if (start === undefined || failedAt === undefined || failedAt.getTime() - new Date(start).getTime() < deadline * 1000) return undefined
  return { reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline" }
}

const podConditions = (
  pod: V1Pod,
  group: Group,
  gp: GroupPhase,
  phase: Phase,
  inits: ReadonlyArray<V1ContainerStatus>,
  apps: ReadonlyArray<V1ContainerStatus>,
  now: Date
): Array<V1PodCondition> => {
  const previous = pod.status?.conditions ?? []
  const at = (type: string, status: boolean, reason?: string, message?: string) => condition(previous, now, type, status, reason, message)
  const unready = apps.filter((s) => !s.ready)
  const incompleteInits = inits.filter((s) => s.state?.terminated?.exitCode !== 0)
  // Ready only in Running: with inconsistent data (an app container ready while ECI still reports
  // an init container running) the pod must not receive traffic.
  const containersReady = phase === "Running" && unready.length === 0
  const notReady = phase === "Succeeded" ? ["PodCompleted"] as const : ["ContainersNotReady", `containers with unready status: ${names(unready)}`] as const
  const gate = readinessGateProblem(pod)
  const failure = groupFailure(group)
  const created = gp !== "creating" && !(gp === "failed" && failure !== undefined && failure.reason !== "BidFailed" && failure.reason !== "Expired")
  const expiring = (isSpot(group) && (group.Status === "Expired" || (group.Events ?? []).some((e) => e.Reason === "SpotToBeReleased")))
    || previous.some((c) => c.type === CONDITION_INSTANCE_EXPIRED && c.status === "True")
  return [
    at("PodReadyToStartContainers", gp === "active" && (group.IntranetIp ?? "") !== ""),
    incompleteInits.length === 0
      ? at("Initialized", true)
      : at("Initialized", false, "ContainersNotInitialized", `containers with incomplete status: ${names(incompleteInits)}`),
    !containersReady ? at("Ready", false, ...notReady) : gate !== undefined ? at("Ready", false, "ReadinessGatesNotReady", gate) : at("Ready", true),
    containersReady ? at("ContainersReady", true) : at("ContainersReady", false, ...notReady),
    at("PodScheduled", true),
    created
      ? at(CONDITION_INSTANCE_CREATED, true)
      : at(CONDITION_INSTANCE_CREATED, false, failure?.reason ?? "Creating", failure?.message ?? "the ECI instance is being created"),
    ...(expiring ? [at(CONDITION_INSTANCE_EXPIRED, true, "SpotToBeReleased", "the spot instance is (about to be) reclaimed")] : []),
    ...previous.filter((c) => !ownedConditions.has(c.type))
  ]
}

export const eciToStatus = (pod: V1Pod, group: Group, now: Date): V1PodStatus => {
  const prev = pod.status ?? {}
  if (prev.phase === "Succeeded" || prev.phase === "Failed") return prev
  const gp = groupPhase(group.Status)
  let { inits, apps } = containerStatuses(pod, group, gp)
  let phase: Phase
  let ending: GroupFailure | undefined
  if (gp === "creating") {
    phase = "Pending"
  } else if (gp === "active") {
    phase = activePhase(pod, inits, apps)
  } else {
    const end = toDate(group.SucceededTime ?? group.FailedTime ?? group.ExpiredTime)
    inits = inits.map((s) => terminate(s, end))
    apps = apps.map((s) => terminate(s, end))
    const allZero = apps.length > 0 && apps.every((s) => s.state?.terminated?.exitCode === 0)
    phase = gp === "succeeded" && allZero ? "Succeeded" : "Failed"
    ending = terminalReason(pod, group, phase)
  }
  const podIp = group.IntranetIp || prev.podIP
  return {
    phase,
    ...opt("reason", ending?.reason),
    ...opt("message", ending?.message),
    conditions: podConditions(pod, group, gp, phase, inits, apps, now),
    ...opt("podIP", podIp),
    ...opt("podIPs", podIp === undefined ? undefined : [{ ip: podIp }, ...(group.Ipv6Address ? [{ ip: group.Ipv6Address }] : [])]),
    // The ECI instance is the pod's host: its address is the pod's (§5.5, as ack-virtual-node reports).
    ...opt("hostIP", podIp),
    ...opt("hostIPs", podIp === undefined ? undefined : [{ ip: podIp }]),
    startTime: prev.startTime ?? toDate(group.CreationTime) ?? now,
    qosClass: prev.qosClass ?? qosClass(pod),
    ...(inits.length > 0 ? { initContainerStatuses: inits } : {}),
    containerStatuses: apps
  }
}

/** The readiness-gate message when a gate's condition is missing or not True (kubelet status.go). */
const readinessGateProblem = (pod: V1Pod): string | undefined => {
  for (const g of pod.spec?.readinessGates ?? []) {
    const c = pod.status?.conditions?.find((x) => x.type === g.conditionType)
    if (c === undefined) return `corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`
    if (c.status !== "True") return `the status of pod readiness gate "${g.conditionType}" is not "True", but ${c.status}`
  }
  return undefined
}

/**
 * The status of a pod whose container group is gone (deleted behind our back, or its record aged
 * out of ECI's 1-hour terminal window, §0.7): Failed, every container that was running shown
 * terminated (ContainerStatusUnknown, 137). Not used for pods being deleted, which simply go away.
 */
export const lostGroupStatus = (pod: V1Pod, now: Date): V1PodStatus => {
  const prev = pod.status ?? {}
  if (prev.phase === "Succeeded" || prev.phase === "Failed") return prev
  const end = (s: V1ContainerStatus) => terminate(s, now)
  const previous = prev.conditions ?? []
  return {
    ...prev,
    phase: "Failed",
    reason: "ProviderFailed",
    message: "The ECI instance of this pod no longer exists",
    conditions: [
      condition(previous, now, "Ready", false, "ContainersNotReady", "the ECI instance no longer exists"),
      condition(previous, now, "ContainersReady", false, "ContainersNotReady", "the ECI instance no longer exists"),
      ...previous.filter((c) => c.type !== "Ready" && c.type !== "ContainersReady")
    ],
    ...(prev.initContainerStatuses ? { initContainerStatuses: prev.initContainerStatuses.map(end) } : {}),
    ...(prev.containerStatuses ? { containerStatuses: prev.containerStatuses.map(end) } : {}),
    qosClass: prev.qosClass ?? qosClass(pod)
  }
}

export const REJECTED_REASON = "UnsupportedByECI"

/**
 * The status of a pod the translator refused: Failed before anything was created, the way the
 * kubelet reports a pod it rejects at admission (phase Failed, a reason, "Pod was rejected: …", no
 * container statuses). The message lists every refusal so `kubectl describe` shows all at once; the
 * controller also emits one Event per refusal.
 */
export const rejectedStatus = (
  pod: V1Pod,
  refusals: ReadonlyArray<{ readonly field: string; readonly reason: string }>,
  now: Date
): V1PodStatus => {
  const prev = pod.status ?? {}
  if (prev.phase === "Succeeded" || prev.phase === "Failed") return prev
  return {
    ...prev,
    phase: "Failed",
    reason: REJECTED_REASON,
    message: `Pod was rejected: ECI cannot run it as specified: ${refusals.map((r) => `${r.field}: ${r.reason}`).join("; ")}`,
    startTime: prev.startTime ?? now,
    qosClass: prev.qosClass ?? qosClass(pod)
  }
}
