import { type V1Lease, V1MicroTime } from "@kubernetes/client-node"
import { Clock, Duration, Effect, Option, Ref, Schedule } from "effect"
import { Kube, type KubeError } from "../kube/Kube.ts"

/** The kubelet's values: a 40 s lease renewed every quarter of it (kubelet-reference §1.3). */
export const leaseDurationSeconds = 40
export const renewInterval = Duration.seconds(leaseDurationSeconds / 4)
export const nodeLeaseNamespace = "kube-node-lease"

/** The node's Lease, owned by the Node so it goes away with it. */
export const nodeLease = (nodeName: string, nodeUid: string, now: Date): V1Lease => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: {
    name: nodeName,
    namespace: nodeLeaseNamespace,
    ownerReferences: [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUid }]
  },
  spec: { holderIdentity: nodeName, leaseDurationSeconds, renewTime: now }
})

/** Our renewal of a lease: same object, us as holder, new renewTime; the resourceVersion guards it. */
export const renewed = (lease: V1Lease, holder: string, now: Date): V1Lease => ({
  ...lease,
  spec: { ...lease.spec, holderIdentity: holder, leaseDurationSeconds, renewTime: now }
})

/**
 * Heartbeats: renew the node Lease every 10 s. Like the kubelet, a renewal reuses the Lease we last
 * wrote (no GET first); only when that fails — someone else wrote it (409) or it is gone (404, e.g.
 * the Node was deleted and the Lease collected with it) — do we read it again or create it. A failed
 * renewal is retried a few times at once, then on the next tick. `nodeUid` is read at each
 * (re)creation, because a re-created Node has a new UID.
 */
export const runNodeLease = (nodeName: string, nodeUid: Effect.Effect<string>, onNodeGone: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const last = yield* Ref.make(Option.none<V1Lease>())
    // Lease times are MicroTime: the API server refuses a plain Date's three fractional digits.
    const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new V1MicroTime(ms)))

    const adoptOrCreate: Effect.Effect<V1Lease, KubeError> = Effect.gen(function*() {
      const at = yield* now
      const existing = yield* kube.getLease(nodeLeaseNamespace, nodeName).pipe(
        Effect.map(Option.some),
        Effect.catchTag("KubeNotFound", () => Effect.succeed(Option.none<V1Lease>()))
      )
      if (Option.isSome(existing)) return yield* kube.updateLease(renewed(existing.value, nodeName, at))
      const uid = yield* nodeUid
      return yield* kube.createLease(nodeLease(nodeName, uid, at)).pipe(
        Effect.tapError((e) => (e._tag === "KubeNotFound" ? onNodeGone : Effect.void))
      )
    })

    const renewOnce = Effect.gen(function*() {
      const previous = yield* Ref.get(last)
      const at = yield* now
      const lease = Option.isNone(previous)
        ? yield* adoptOrCreate
        : yield* kube.updateLease(renewed(previous.value, nodeName, at)).pipe(
          Effect.catchTag(["KubeConflict", "KubeNotFound"], () => adoptOrCreate)
        )
      yield* Ref.set(last, Option.some(lease))
    })

    yield* renewOnce.pipe(
      Effect.retry({ times: 5, schedule: Schedule.exponential("100 millis") }),
      Effect.catch((e) =>
        Ref.set(last, Option.none()).pipe(Effect.andThen(Effect.logWarning("node lease renewal failed", e.message)))
      ),
      Effect.repeat(Schedule.spaced(renewInterval)),
      Effect.annotateLogs({ node: nodeName })
    )
  })
