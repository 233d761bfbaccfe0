import type { V1Node, V1NodeCondition } from "@kubernetes/client-node"
import { Clock, Duration, Effect, Ref, Schedule, Stream, SubscriptionRef } from "effect"
import { Kube, type KubeError } from "../kube/Kube.ts"
import { runNodeLease } from "./lease.ts"
import { buildNode, type NodeHealth, type NodeIdentity, nodeLabels, nodeStatus } from "./nodeObject.ts"

/** How often the status is written when nothing changed (the kubelet's nodeStatusReportFrequency). */
export const statusReportInterval = Duration.minutes(1)

const retryForever = Schedule.exponential("500 millis").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30))))
)

/**
 * Keeps the virtual Node registered and honest:
 * - registers it, or adopts the existing one after a restart (labels brought up to date, taints left
 *   as they are: like the kubelet we set them only at creation, so an operator's edits survive);
 * - writes its status every minute and at once when health changes, as a strategic merge patch of
 *   the fields we own, so conditions other controllers add survive;
 * - re-creates it when someone deletes it (seen as 404 on a status write or on the Lease);
 * - heartbeats through the node Lease (lease.ts).
 */
export const runNodeController = (id: NodeIdentity, health: SubscriptionRef.SubscriptionRef<NodeHealth>) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const nodeUid = yield* Ref.make("")
    const conditions = yield* Ref.make<ReadonlyArray<V1NodeCondition>>([])
    const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms)))

    const remember = (node: V1Node) =>
      Effect.all([Ref.set(nodeUid, node.metadata?.uid ?? ""), Ref.set(conditions, node.status?.conditions ?? [])], { discard: true })

    const ensureNode: Effect.Effect<void, KubeError> = Effect.gen(function*() {
      const at = yield* now
      const current = yield* SubscriptionRef.get(health)
      const node = yield* kube.getNode(id.nodeName).pipe(
        Effect.flatMap(() => kube.patchNode(id.nodeName, { metadata: { labels: nodeLabels(id) } }, "merge")),
        Effect.tap(() => Effect.logInfo("adopted the existing node")),
        Effect.catchTag("KubeNotFound", () =>
          kube.createNode(buildNode(id, current, at)).pipe(Effect.tap(() => Effect.logInfo("registered the node"))))
      )
      yield* remember(node)
    })

    const writeStatus: Effect.Effect<void, KubeError> = Effect.gen(function*() {
      const at = yield* now
      const status = nodeStatus(id, yield* SubscriptionRef.get(health), at, yield* Ref.get(conditions))
      const node = yield* kube.patchNodeStatus(id.nodeName, { status }, "strategic").pipe(
        Effect.catchTag("KubeNotFound", () =>
          Effect.logWarning("the node was deleted; registering it again").pipe(
            Effect.andThen(ensureNode),
            Effect.andThen(kube.getNode(id.nodeName))
          ))
      )
      yield* remember(node)
    })

    yield* ensureNode.pipe(
      Effect.tapError((e) => Effect.logWarning("node registration failed; retrying", e.message)),
      Effect.retry(retryForever)
    )
    yield* writeStatus.pipe(Effect.retry(retryForever))
    yield* Effect.forkScoped(
      runNodeLease(id.nodeName, Ref.get(nodeUid), ensureNode.pipe(Effect.ignore))
    )
    const healthChanges = SubscriptionRef.changes(health).pipe(Stream.drop(1), Stream.changes)
    const ticks = Stream.fromSchedule(Schedule.spaced(statusReportInterval))
    yield* Stream.merge(healthChanges, ticks).pipe(
      Stream.runForEach(() =>
        writeStatus.pipe(
          Effect.retry({ times: 3, schedule: Schedule.exponential("200 millis") }),
          Effect.catch((e) => Effect.logWarning("node status update failed; next attempt at the next tick", e.message))
        )
      )
    )
  }).pipe(Effect.scoped, Effect.annotateLogs({ node: id.nodeName }))
