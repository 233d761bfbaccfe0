import type { V1Pod, V1PodStatus } from "@kubernetes/client-node"
import type { ContainerGroup } from "../eci/queries.ts"
import { podStatusPatchChanges } from "../kube/podStatusWire.ts"
import { eciToStatus, groupFailure, groupPhase, lostGroupStatus } from "../translate/eciToStatus.ts"
import { WRITE_BACK, writeBackAnnotations } from "../translate/writeBack.ts"

/**
 * The controller's brain for one pod: from what we observe (the pod from the watch, its container
 * group from the poller, a few facts this process remembers) to the one next step. Pure, so every
 * rule below is a table test; podController.ts carries the step out and asks again.
 *
 * The rules, in the order they are checked:
 * 1. A pod being deleted: delete its group (once), then force-delete the pod (UID precondition) when
 *    the group is gone or the grace period is over. A pod for which we never sent a create (no
 *    client token) goes at once.
 * 2. A terminal pod (Succeeded/Failed) is never created again and never written again; a group still
 *    running for it is deleted, so nothing is billed for a finished pod.
 * 3. A live pod with a group: write status, write-back annotations, ECI events, image updates.
 *    A group that could not be scheduled (NoStock…) is retried elsewhere unless the pod says
 *    `eci-fail-strategy: fail-fast`.
 * 4. A live pod without a group: create it once the group cache has listed every group of the node.
 *    The create carries a client token — the pod's UID, or the one annotated on the pod when that
 *    had to be replaced — so a create repeated after a crash or a lost response returns the group
 *    the first one made instead of a second group: nothing needs writing to the pod first. A pod
 *    whose group existed and vanished becomes Failed (after a lookup by its UID confirms it).
 */
export interface Observation {
  readonly pod: V1Pod
  /** The pod's container group as last observed, if any. */
  readonly group: ContainerGroup | undefined
  /** True when a lookup by the pod's UID found no group since a group of it was last seen. */
  readonly absenceProven: boolean
  /** The group cache has completed a full list of the node's groups (so a group missing from it was not made before this process). */
  readonly groupsListed: boolean
  /** A create of ours for this pod failed in a way that may still have made the group (a lost response). */
  readonly createInDoubt: boolean
  /** We already asked ECI to delete this group. */
  readonly deleteIssued: boolean
  /** Keys of the ECI events already turned into Kubernetes Events for this pod. */
  readonly eventsSeen: ReadonlySet<string>
  readonly now: Date
}

export type ContainerGroupEvent = NonNullable<ContainerGroup["Events"]>[number]

export type Step =
  | { readonly _tag: "Nothing" }
  | { readonly _tag: "ForceDeletePod" }
  | { readonly _tag: "DeleteGroup"; readonly groupId: string }
  | { readonly _tag: "WaitForGroupDeletion"; readonly groupId: string; readonly until: Date }
  | { readonly _tag: "WaitForGroupList" }
  | { readonly _tag: "LookupGroup" }
  | { readonly _tag: "CreateGroup"; readonly clientToken: string }
  | { readonly _tag: "RetryElsewhere"; readonly groupId: string; readonly reason: string; readonly message: string }
  | { readonly _tag: "UpdateImages"; readonly groupId: string; readonly containers: ReadonlyArray<{ readonly Name: string; readonly Image: string }> }
  | {
    readonly _tag: "Sync"
    readonly status: V1PodStatus | undefined
    readonly annotations: Readonly<Record<string, string>>
    readonly events: ReadonlyArray<{ readonly key: string; readonly event: ContainerGroupEvent }>
  }
  | { readonly _tag: "MarkLost"; readonly status: V1PodStatus }

const isTerminal = (pod: V1Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed"
const annotation = (pod: V1Pod, key: string) => pod.metadata?.annotations?.[key]

/**
 * The ClientToken of a pod's create: the pod's UID (≤ 64 characters, unique, stable across restarts
 * of this process), unless a token is annotated on the pod — written only when the UID's token was
 * spent on a request that differs from the current one (IdempotentParameterMismatch) or on a group
 * that has been deleted to retry elsewhere.
 */
export const clientTokenOf = (pod: V1Pod): string => annotation(pod, WRITE_BACK.clientToken) ?? pod.metadata?.uid ?? ""

/** What makes one ECI event distinct: a repeat of the same event raises its Count. */
export const eventKey = (e: ContainerGroupEvent) => `${e.Reason ?? e.Name ?? ""}|${e.FirstTimestamp ?? ""}|${e.Count ?? 1}|${e.Message ?? ""}`

/**
 * Whether writing `after` would change the status the API server holds (`before`, as read from it).
 * Not a plain comparison: the server's copy has its own key order, its JSON encoding (`lastProbeTime:
 * null`, `lastState: {}`, whole seconds) and keeps what a patch leaves out, so it never equals the
 * computed status even when nothing changed.
 */
export const statusChanged = (before: V1PodStatus | undefined, after: V1PodStatus) => podStatusPatchChanges(before, after)

const groupIsRunning = (g: ContainerGroup) => {
  const phase = groupPhase(g.Status)
  return phase === "active" || phase === "creating"
}

/** Containers whose image in the pod differs from the one ECI runs (an in-place image update). */
const imageChanges = (pod: V1Pod, group: ContainerGroup) => {
  const running = new Map((group.Containers ?? []).map((c) => [c.Name ?? "", c.Image ?? ""]))
  return (pod.spec?.containers ?? [])
    .filter((c) => c.image !== undefined && running.has(c.name) && running.get(c.name) !== c.image)
    .map((c) => ({ Name: c.name, Image: c.image ?? "" }))
}

const deciding = (o: Observation): Step => {
  const { pod, group, now } = o
  const groupId = group?.ContainerGroupId

  // 1. Deletion
  const deletion = pod.metadata?.deletionTimestamp
  if (deletion !== undefined) {
    if (group !== undefined && groupId !== undefined) {
      if (!o.deleteIssued) return { _tag: "DeleteGroup", groupId }
      const until = new Date(deletion)
      if (now.getTime() >= until.getTime()) return { _tag: "ForceDeletePod" }
      return { _tag: "WaitForGroupDeletion", groupId, until }
    }
    const mayHaveGroup = annotation(pod, WRITE_BACK.clientToken) !== undefined || annotation(pod, WRITE_BACK.instanceId) !== undefined ||
      o.createInDoubt || !o.groupsListed
    if (mayHaveGroup && !o.absenceProven) return { _tag: "LookupGroup" }
    return { _tag: "ForceDeletePod" }
  }

  // 2. Terminal pods
  if (isTerminal(pod)) {
    if (group !== undefined && groupId !== undefined && groupIsRunning(group) && !o.deleteIssued) return { _tag: "DeleteGroup", groupId }
    return { _tag: "Nothing" }
  }

  // 3. Live pod with a group
  if (group !== undefined && groupId !== undefined) {
    const failure = groupFailure(group)
    const failFast = annotation(pod, "k8s.aliyun.com/eci-fail-strategy") === "fail-fast"
      || annotation(pod, "k8s.aliyun.com/pod-fail-on-create-err") === "true"
    if (failure !== undefined && (group.Status === "ScheduleFailed" || group.Status === "StartingFailed") && !failFast) {
      return { _tag: "RetryElsewhere", groupId, reason: failure.reason, message: failure.message }
    }
    if (group.Status === "Running" || group.Status === "Pending") {
      const changes = imageChanges(pod, group)
      if (changes.length > 0) return { _tag: "UpdateImages", groupId, containers: changes }
    }
    const status = eciToStatus(pod, group, now)
    // The token stays visible on the pod, as ack-virtual-node's does (it was used before anything was written).
    const wanted = { ...writeBackAnnotations(group), [WRITE_BACK.clientToken]: clientTokenOf(pod) }
    const annotations = Object.fromEntries(
      Object.entries(wanted).filter(([k, v]) => {
        const current = annotation(pod, k)
        // Input annotations the user wrote (vSwitch, security group) are never replaced.
        if ((k === WRITE_BACK.vSwitch || k === WRITE_BACK.securityGroup) && current !== undefined) return false
        return current !== v
      })
    )
    const events = (group.Events ?? []).map((event) => ({ key: eventKey(event), event })).filter((e) => !o.eventsSeen.has(e.key))
    const changed = statusChanged(pod.status, status)
    if (!changed && Object.keys(annotations).length === 0 && events.length === 0) return { _tag: "Nothing" }
    return { _tag: "Sync", status: changed ? status : undefined, annotations, events }
  }

  // 4. Live pod without a group
  if (annotation(pod, WRITE_BACK.instanceId) !== undefined) {
    return o.absenceProven ? { _tag: "MarkLost", status: lostGroupStatus(pod, now) } : { _tag: "LookupGroup" }
  }
  // Before the first full list a group made by an earlier process would be unknown: the token makes
  // a repeated create return it, but only for 24 h, so a pod older than that must not be re-created.
  if (!o.groupsListed && !o.absenceProven) return { _tag: "WaitForGroupList" }
  return { _tag: "CreateGroup", clientToken: clientTokenOf(pod) }
}

export const decide = (o: Observation): Step => deciding(o)
