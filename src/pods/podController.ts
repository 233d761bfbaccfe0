import type { V1Pod } from "@kubernetes/client-node"
import { Clock, Duration, Effect, Metric, Schedule, Stream } from "effect"
import { Eci } from "../eci/Eci.ts"
import type { EciError } from "../eci/errors.ts"
import { listGroupsByTags, type ContainerGroup } from "../eci/queries.ts"
import { randomUuid } from "../common/uuid.ts"
import { Kube } from "../kube/Kube.ts"
import { makeServiceCache } from "../kube/serviceCache.ts"
import { forCache } from "../kube/watch.ts"
import { done, handOver, makeWorkQueue, requeueAfter, type ReconcileOutcome, type WorkQueue } from "../queue/workQueue.ts"
import { resolveImageCacheAnnotation, withImageCache } from "../imagecache/podAnnotation.ts"
import { IDENTITY_TAGS } from "../translate/identity.ts"
import { podToEci } from "../translate/podToEci.ts"
import type { NodeContext } from "../translate/resolved.ts"
import { WRITE_BACK } from "../translate/writeBack.ts"
import { decide, type Step } from "./decide.ts"
import { makeEventRecorder } from "./events.ts"
import { makeGroupCache } from "./groupCache.ts"
import { resolveReferences } from "./references.ts"

/**
 * Pods bound to our node become ECI container groups; their status flows back; deletions clean up.
 *
 *   pod watch ──┐                     ┌─▶ decide(pod, group, memory) ─▶ one step (create, sync, delete…)
 *               ├─▶ work queue (UID) ─┤
 *   group poll ─┘                     └─▶ requeue: at once, after a delay, or with backoff on failure
 *
 * State lives where the real process keeps it: the API server (pods and their annotations) and ECI
 * (groups, found by their tags; a create's ClientToken is the pod's UID, so repeating it cannot
 * make a second group). What this process remembers (below, `Memory`) only saves calls; losing it on
 * a restart is safe.
 *
 * Writes per pod are kept to what the kubelet makes: no write before the create; the write-back
 * annotations travel with the status in one `pods/status` patch.
 */
export interface PodControllerOptions {
  readonly node: NodeContext
  /**
   * The eci-profile's defaults (vSwitches, security group, resource group) for new pods, read at each
   * create so a profile change applies to the next pod without a restart. Configuration wins where
   * the profile is silent.
   */
  readonly profileDefaults?: Effect.Effect<{
    readonly vSwitchIds: ReadonlyArray<string>
    readonly securityGroupId: string | undefined
    readonly resourceGroupId: string | undefined
  }>
  readonly workers?: number
  /** A group whose pod we do not know is deleted only when older than this (watch lag, restarts). */
  readonly orphanSafetyDelay?: Duration.Input
  readonly resyncInterval?: Duration.Input
  readonly hotInterval?: Duration.Input
}

interface Memory {
  deleteIssued: boolean
  absenceProven: boolean
  createInDoubt: boolean
  /** The RequestId of the create that made the group, written back with the first status. */
  createRequestId: string | undefined
  eventsSeen: Set<string>
}

const podsByPhase = Metric.gauge("eci_vn_pods", { description: "pods on the virtual node by phase" })
const groupsCreated = Metric.counter("eci_vn_container_groups_created_total", { description: "CreateContainerGroup calls that succeeded" })
const groupsDeleted = Metric.counter("eci_vn_container_groups_deleted_total", { description: "DeleteContainerGroup calls that succeeded (or found it gone)" })

/** The profile's placement defaults take precedence over the process configuration's. */
const withProfile = (
  node: NodeContext,
  profile: { readonly vSwitchIds: ReadonlyArray<string>; readonly securityGroupId: string | undefined; readonly resourceGroupId: string | undefined }
): NodeContext => ({
  ...node,
  ...(profile.vSwitchIds.length > 0 ? { vSwitchIds: profile.vSwitchIds } : {}),
  ...(profile.securityGroupId === undefined ? {} : { securityGroupId: profile.securityGroupId }),
  ...(profile.resourceGroupId === undefined ? {} : { resourceGroupId: profile.resourceGroupId })
})

const podKey = (pod: V1Pod) => `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`
const isTerminalGroup = (g: ContainerGroup) => ["Succeeded", "Failed", "Expired", "ScheduleFailed"].includes(g.Status ?? "")

export const runPodController = (options: PodControllerOptions) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const eci = yield* Eci
    const node = options.node
    const safetyMs = Duration.toMillis(options.orphanSafetyDelay ?? "1 minute")
    const record = yield* makeEventRecorder({ component: "eci-virtual-node", host: node.nodeName })
    const services = yield* makeServiceCache()
    const cache = yield* makeGroupCache({
      listTags: { [IDENTITY_TAGS.clusterId]: node.clusterId, [IDENTITY_TAGS.nodeName]: node.nodeName },
      podUidOf: (g) => g.Tags?.find((t) => t.Key === IDENTITY_TAGS.podUid)?.Value,
      ...(options.resyncInterval === undefined ? {} : { resyncInterval: options.resyncInterval }),
      ...(options.hotInterval === undefined ? {} : { hotInterval: options.hotInterval })
    })
    const pods = new Map<string, V1Pod>()
    let podsSynced = false
    const memory = new Map<string, Memory>()
    const remember = (uid: string): Memory => {
      let m = memory.get(uid)
      if (m === undefined) {
        m = { deleteIssued: false, absenceProven: false, createInDoubt: false, createRequestId: undefined, eventsSeen: new Set() }
        memory.set(uid, m)
      }
      return m
    }
    const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms)))
    const keep = (updated: V1Pod) => {
      const uid = updated.metadata?.uid
      // As from the watch: without managedFields, strings shared (a patch's answer carries them all).
      if (uid !== undefined && pods.has(uid)) pods.set(uid, forCache(updated))
    }

    const deleteGroup = (groupId: string) =>
      eci.call("DeleteContainerGroup", { ContainerGroupId: groupId }).pipe(
        Effect.catchTag("EciNotFound", () => Effect.void),
        Effect.tap(() => Metric.update(groupsDeleted, 1)),
        Effect.andThen(cache.watchClosely(groupId))
      )

    /** A group whose pod is gone from the API server: delete it, unless it may be a pod we have not seen yet. */
    const reconcileOrphan = (uid: string) =>
      Effect.gen(function*() {
        const group = cache.get(uid)
        if (group === undefined || group.ContainerGroupId === undefined) {
          memory.delete(uid)
          return done
        }
        if (!podsSynced) return requeueAfter("5 seconds")
        const created = Date.parse(group.CreationTime ?? "")
        const age = (yield* Clock.currentTimeMillis) - (Number.isNaN(created) ? 0 : created)
        if (age < safetyMs) return requeueAfter(Duration.millis(safetyMs - age))
        const m = remember(uid)
        if (!m.deleteIssued) {
          yield* Effect.logInfo("deleting a container group whose pod no longer exists", group.ContainerGroupId)
          yield* deleteGroup(group.ContainerGroupId)
          m.deleteIssued = true
        }
        return isTerminalGroup(group) ? done : requeueAfter("10 seconds")
      })

    const failPod = (pod: V1Pod, reason: string, message: string) =>
      Effect.gen(function*() {
        const at = yield* now
        const updated = yield* kube.patchPodStatus(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "", {
          status: {
            phase: "Failed",
            reason,
            message,
            conditions: [{ type: "Ready", status: "False", reason, message, lastTransitionTime: at }]
          }
        }, "strategic")
        keep(updated)
      })

    const create = (pod: V1Pod, clientToken: string): Effect.Effect<ReconcileOutcome, EciError | import("../kube/Kube.ts").KubeError, Kube | Eci> =>
      Effect.gen(function*() {
        const uid = pod.metadata?.uid ?? ""
        const context = options.profileDefaults === undefined ? node : withProfile(node, yield* options.profileDefaults)
        // An ImageCache named on the pod becomes its cache id; one that is not Ready is skipped with an Event.
        const imageCache = yield* resolveImageCacheAnnotation(pod)
        if (imageCache._tag === "Skip") yield* record(pod, "Warning", imageCache.reason, imageCache.message)
        const { resolved, notFound } = yield* resolveReferences(withImageCache(pod, imageCache), context, clientToken, services)
        const translation = podToEci(resolved)
        for (const w of translation.warnings) yield* record(pod, "Warning", w.code, `${w.field}: ${w.message}`)
        if (pod.metadata?.annotations?.["k8s.aliyun.com/eci-reschedule-enable"] !== undefined) {
          yield* record(pod, "Warning", "UnsupportedAnnotation",
            "metadata.annotations[k8s.aliyun.com/eci-reschedule-enable]: rescheduling a failed instance is not supported; the pod fails as its restart policy says")
        }
        if (translation._tag === "Refused") {
          const message = translation.refusals.map((r) => `${r.field}: ${r.reason}`).join("; ")
          for (const r of translation.refusals) yield* record(pod, "Warning", r.code, `${r.field}: ${r.reason}`)
          yield* failPod(pod, "UnsupportedPodSpec", `ECI cannot run this pod faithfully: ${message}`)
          yield* Effect.logWarning("refused a pod ECI cannot run", message)
          return done
        }
        if (translation._tag === "Unresolved") {
          for (const m of translation.missing) {
            const reason = m.kind === "Secret" ? "MandatorySecretNotFound" : m.kind === "ConfigMap" ? "MandatoryConfigMapNotFound" : "FailedMount"
            const what = m.kind === "ServiceAccountToken" ? "a service-account token" : `${m.kind} ${m.name}${m.key === undefined ? "" : ` key ${m.key}`}`
            yield* record(pod, "Warning", reason, `${m.field}: ${what} not found; the pod waits until it exists`)
          }
          return requeueAfter("10 seconds")
        }
        for (const name of notFound.configMaps) yield* record(pod, "Warning", "OptionalConfigMapNotFound", `optional ConfigMap ${name} not found`)
        for (const name of notFound.secrets) yield* record(pod, "Warning", "OptionalSecretNotFound", `optional Secret ${name} not found`)
        const m = remember(uid)
        const response = yield* eci.call("CreateContainerGroup", translation.request).pipe(
          // A failed call may still have created the group (a lost response): the repeated create
          // returns it; a pod deleted meanwhile looks for it before going.
          Effect.tapError(() => Effect.sync(() => {
            m.absenceProven = false
            m.createInDoubt = true
          })),
          Effect.catchTags({
            EciOutOfStock: (e) => Effect.succeed({ failed: e } as const),
            EciInvalidParameter: (e) => Effect.succeed({ failed: e } as const),
            EciAuthFailed: (e) => Effect.succeed({ failed: e } as const)
          })
        )
        if ("failed" in response) {
          const e = response.failed
          if (e.code === "IdempotentParameterMismatch") {
            // The token was used for another version of this pod (its spec changed since). If that
            // create made a group, adopt it; if not, the token is spent: persist a new one.
            const found = yield* listGroupsByTags({ [IDENTITY_TAGS.clusterId]: node.clusterId, [IDENTITY_TAGS.podUid]: uid })
            if (found.length > 0) {
              yield* cache.put(uid, found.find((g) => !isTerminalGroup(g)) ?? found[0]!)
              return requeueAfter(0)
            }
            keep(yield* kube.patchPod(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "", {
              metadata: { annotations: { [WRITE_BACK.clientToken]: yield* randomUuid } }
            }, "merge"))
            m.absenceProven = true
            m.createInDoubt = false
            return requeueAfter(0)
          }
          const message = `${e.code}: ${e.message} (RequestId ${e.requestId})`
          const failFast = pod.metadata?.annotations?.["k8s.aliyun.com/eci-fail-strategy"] === "fail-fast"
          if (e._tag === "EciInvalidParameter" || (e._tag === "EciOutOfStock" && failFast)) {
            yield* record(pod, "Warning", "ProviderCreateFailed", message)
            yield* failPod(pod, e._tag === "EciOutOfStock" ? "NoStock" : "ProviderFailed", `ECI refused to create the instance: ${message}`)
            return done
          }
          yield* record(pod, "Warning", e._tag === "EciOutOfStock" ? "NoStock" : "ProviderCreateFailed", `${message}; retrying`)
          return requeueAfter(e._tag === "EciOutOfStock" ? "30 seconds" : "20 seconds")
        }
        const groupId = response.ContainerGroupId ?? ""
        yield* Metric.update(groupsCreated, 1)
        yield* Effect.logInfo("created container group", groupId, podKey(pod))
        m.createInDoubt = false
        m.createRequestId = response.RequestId
        yield* record(pod, "Normal", "ProviderCreateSuccess", `created ECI instance ${groupId}`)
        // Until the poller reads it back (within the hot interval), the group is known to exist and
        // be scheduling: a deletion in between deletes it. Nothing is written to the pod until the
        // poll says what the group is, so a group that starts at once costs one status write.
        const at = yield* now
        yield* cache.put(uid, {
          ContainerGroupId: groupId,
          Status: "Scheduling",
          CreationTime: at.toISOString().replace(/\.\d{3}Z$/, "Z"),
          Tags: translation.request.Tag ?? []
        }, { quiet: true })
        return done
      })

    const act = (pod: V1Pod, step: Step): Effect.Effect<ReconcileOutcome, EciError | import("../kube/Kube.ts").KubeError, Kube | Eci> =>
      Effect.gen(function*() {
        const uid = pod.metadata?.uid ?? ""
        const namespace = pod.metadata?.namespace ?? ""
        const name = pod.metadata?.name ?? ""
        const m = remember(uid)
        switch (step._tag) {
          case "Nothing":
            return done
          case "ForceDeletePod": {
            // 409 is a failed UID precondition (a new pod took the name: ours is gone) or a write
            // conflict: look again shortly; the watch tells which.
            const outcome = yield* kube.deletePod(namespace, name, { uid, gracePeriodSeconds: 0 }).pipe(
              Effect.as(done),
              Effect.catchTags({ KubeNotFound: () => Effect.succeed(done), KubeConflict: () => Effect.succeed(requeueAfter("1 second")) })
            )
            if (outcome === done) yield* Effect.logInfo("deleted the pod", podKey(pod))
            return outcome
          }
          case "DeleteGroup":
            yield* deleteGroup(step.groupId)
            m.deleteIssued = true
            yield* Effect.logInfo("deleting container group", step.groupId, podKey(pod))
            return requeueAfter("2 seconds")
          case "WaitForGroupDeletion": {
            const left = step.until.getTime() - (yield* Clock.currentTimeMillis)
            return requeueAfter(Duration.millis(Math.max(100, Math.min(left, 5000))))
          }
          case "WaitForGroupList":
            return requeueAfter("1 second")
          case "LookupGroup": {
            const found = yield* listGroupsByTags({ [IDENTITY_TAGS.clusterId]: node.clusterId, [IDENTITY_TAGS.podUid]: uid })
            const group = found.find((g) => !isTerminalGroup(g)) ?? found[0]
            if (group !== undefined) {
              yield* cache.put(uid, group)
              return requeueAfter(0)
            }
            m.absenceProven = true
            m.createInDoubt = false
            return requeueAfter(0)
          }
          case "CreateGroup":
            return yield* create(pod, step.clientToken)
          case "RetryElsewhere": {
            yield* record(pod, "Warning", step.reason, `${step.message}; creating the instance again`)
            // Forget the failed group on the pod first: should the delete below fail, the group is
            // still observed and this step runs again; the other order could leave the pod pointing
            // at a group that is gone, which reads as "lost". The token that made it is spent (a
            // create with it would return the failed group): the next create uses a new one.
            keep(yield* kube.patchPod(namespace, name, {
              metadata: { annotations: { [WRITE_BACK.instanceId]: null, [WRITE_BACK.requestId]: null, [WRITE_BACK.clientToken]: yield* randomUuid } }
            }, "merge"))
            yield* deleteGroup(step.groupId)
            cache.remove(uid)
            m.absenceProven = false
            m.deleteIssued = false
            return requeueAfter("30 seconds")
          }
          case "UpdateImages":
            yield* eci.call("UpdateContainerGroup", {
              ContainerGroupId: step.groupId,
              UpdateType: "IncrementalUpdate",
              Container: step.containers
            })
            yield* cache.watchClosely(step.groupId)
            yield* record(pod, "Normal", "ProviderUpdateSuccess", `updated images: ${step.containers.map((c) => `${c.Name}=${c.Image}`).join(", ")}`)
            return done
          case "Sync": {
            const requestId = m.createRequestId !== undefined && pod.metadata?.annotations?.[WRITE_BACK.requestId] !== m.createRequestId
              ? { [WRITE_BACK.requestId]: m.createRequestId }
              : {}
            const annotations = { ...step.annotations, ...requestId }
            // One write for both: pods/status also takes metadata (labels and annotations).
            if (Object.keys(annotations).length > 0 || step.status !== undefined) {
              keep(yield* kube.patchPodStatus(namespace, name, {
                ...(Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {}),
                ...(step.status === undefined ? {} : { status: step.status })
              }, "strategic"))
            }
            for (const { key, event } of step.events) {
              const reason = event.Reason ?? event.Name ?? "EciEvent"
              yield* record(pod, event.Type === "Warning" ? "Warning" : "Normal", reason, event.Message ?? reason, key)
              if (reason === "SpotToBeReleased" && pod.metadata?.annotations?.["k8s.aliyun.com/eci-spot-release-strategy"] === "api-evict") {
                yield* kube.evictPod(namespace, name).pipe(
                  Effect.tap(() => Effect.logInfo("evicted a pod whose spot instance is about to be released", podKey(pod))),
                  Effect.catch((e) => Effect.logWarning("eviction of a spot pod failed", e.message))
                )
              }
              m.eventsSeen.add(key)
            }
            return done
          }
          case "MarkLost":
            keep(yield* kube.patchPodStatus(namespace, name, { status: step.status }, "strategic"))
            yield* record(pod, "Warning", "ContainerGroupLost", "the ECI instance of this pod no longer exists")
            return done
        }
      })

    const nextStep = (pod: V1Pod, uid: string) =>
      Effect.gen(function*() {
        const m = remember(uid)
        const group = cache.get(uid)
        // A proof of absence holds only until a group is seen again.
        if (group !== undefined) m.absenceProven = false
        const step = decide({
          pod,
          group,
          absenceProven: m.absenceProven,
          groupsListed: cache.lastFullList() !== undefined,
          createInDoubt: m.createInDoubt,
          deleteIssued: m.deleteIssued,
          eventsSeen: m.eventsSeen,
          now: yield* now
        })
        yield* Effect.logDebug("reconcile", podKey(pod), step._tag, pod.status?.phase ?? "", group?.Status ?? "no group", group?.ContainerGroupId ?? "")
        return step
      })

    const acting = (pod: V1Pod, step: Step) =>
      act(pod, step).pipe(
        Effect.catchTag("KubeNotFound", () => Effect.succeed(done)), // the pod went away meanwhile
        Effect.annotateLogs({ pod: podKey(pod), step: step._tag })
      )

    /**
     * Steps that spend a scarce ECI quota (Create, Delete: 1000/min each) run in lanes of their own,
     * so workers waiting for those tokens are not the ones that write statuses: a burst throttled at
     * ECI's create quota does not hold back the status of the pods already running, nor a deletion.
     * A lane decides again when a pod's turn comes (it may have changed while it waited) and gives
     * the pod back to the main queue; while a lane acts on a pod, the main queue leaves it alone.
     */
    type Lane = "create" | "delete"
    const laneOf = (step: Step): Lane | undefined =>
      step._tag === "CreateGroup" ? "create" : step._tag === "DeleteGroup" ? "delete" : undefined
    const inLane = new Set<string>()
    /** Pods the main queue skipped while a lane held them: looked at again when the lane is done. */
    const skipped = new Set<string>()

    const reconcile = (uid: string) =>
      Effect.gen(function*() {
        if (inLane.has(uid)) {
          skipped.add(uid)
          return done
        }
        const pod = pods.get(uid)
        if (pod === undefined) return yield* reconcileOrphan(uid)
        const step = yield* nextStep(pod, uid)
        const lane = laneOf(step)
        // Handed over once this reconcile is over: the lane waits for the main queue to let go.
        if (lane !== undefined) return handOver(lanes[lane].add(uid))
        return yield* acting(pod, step)
      })

    const queue = yield* makeWorkQueue({ name: "pods", workers: options.workers ?? 32, process: reconcile })

    const reconcileInLane = (lane: Lane) => (uid: string) =>
      Effect.gen(function*() {
        // The main queue is acting on this pod (it had not handed it over yet): after it.
        if (queue.isProcessing(uid)) return requeueAfter("100 millis")
        const pod = pods.get(uid)
        if (pod === undefined) return done
        inLane.add(uid)
        const outcome = yield* nextStep(pod, uid).pipe(
          Effect.flatMap((step) => laneOf(step) === lane ? acting(pod, step) : Effect.succeed(requeueAfter(0))),
          Effect.ensuring(Effect.suspend(() => {
            inLane.delete(uid)
            return skipped.delete(uid) ? queue.add(uid) : Effect.void
          }))
        )
        // What comes next is the main queue's (a created group's first poll wakes it by itself).
        if (outcome._tag === "RequeueAfter") yield* queue.addAfter(uid, outcome.delay)
        return done
      })

    const lanes: { readonly [L in Lane]: WorkQueue<string> } = {
      create: yield* makeWorkQueue({ name: "pod-creates", workers: options.workers ?? 32, process: reconcileInLane("create") }),
      delete: yield* makeWorkQueue({ name: "pod-deletes", workers: options.workers ?? 32, process: reconcileInLane("delete") })
    }

    const countPhases = Effect.suspend(() => {
      const counts: Record<string, number> = { Pending: 0, Running: 0, Succeeded: 0, Failed: 0, Unknown: 0 }
      for (const p of pods.values()) counts[p.status?.phase ?? "Pending"] = (counts[p.status?.phase ?? "Pending"] ?? 0) + 1
      return Effect.forEach(Object.entries(counts), ([phase, n]) => Metric.update(Metric.withAttributes(podsByPhase, { phase }), n), { discard: true })
    })

    const podEvents = kube.watchPods(node.nodeName).pipe(
      Stream.runForEach((event) =>
        Effect.gen(function*() {
          if (event.type === "Snapshot") {
            const seen = new Set<string>()
            for (const p of event.pods) {
              const uid = p.metadata?.uid
              if (uid === undefined) continue
              seen.add(uid)
              pods.set(uid, p)
              yield* queue.add(uid)
            }
            for (const uid of [...pods.keys()]) {
              if (!seen.has(uid)) {
                pods.delete(uid)
                yield* queue.add(uid)
              }
            }
            podsSynced = true
          } else {
            const uid = event.pod.metadata?.uid
            if (uid === undefined) return
            if (event.type === "Deleted") pods.delete(uid)
            else pods.set(uid, event.pod)
            yield* queue.add(uid)
          }
        })
      )
    )
    const groupEvents = cache.changes.pipe(Stream.runForEach((uid) => queue.add(uid)))

    yield* Effect.logInfo("pod controller started", node.nodeName)
    // Counted on a schedule, not per watch event: a count is O(pods), and events come per pod.
    const phaseGauges = countPhases.pipe(Effect.repeat(Schedule.spaced("5 seconds")), Effect.andThen(Effect.never))
    yield* Effect.all([podEvents, groupEvents, cache.run, phaseGauges], { concurrency: "unbounded", discard: true })
  }).pipe(
    // The workers live in this scope: stopping the controller (losing leadership) stops them all.
    Effect.scoped,
    Effect.annotateLogs({ node: options.node.nodeName, controller: "pods" })
  )
