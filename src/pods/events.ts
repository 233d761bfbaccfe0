import { createHash } from "node:crypto"
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node"
import { Clock, Context, Effect, Metric, Queue } from "effect"
import { Kube } from "../kube/Kube.ts"
import { type KubeRateLimit, makeKubeRateLimiter } from "../kube/rateLimit.ts"

export type EventType = "Normal" | "Warning"

/** What an Event is about. `namespace` absent: a cluster-scoped object (its Events go to `default`). */
export interface InvolvedObject {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly namespace?: string
  readonly uid: string
}

/**
 * The Events' own token bucket, apart from the client's (--kube-api-qps): the kubelet's
 * `--event-qps` 50 / `--event-burst` 100. Events are best-effort; they must never take the budget
 * of the writes that run pods. The application provides the configured values (app.ts).
 */
export const EventBudget = Context.Reference<KubeRateLimit>("eci-virtual-node/EventBudget", {
  defaultValue: () => ({ qps: 50, burst: 100 })
})

/** Events waiting for the budget; beyond this they are dropped (client-go's broadcaster drops too). */
export const defaultEventQueueCapacity = 4096

export const eventsDropped = Metric.counter("eci_vn_events_dropped_total", {
  description: "Events not written, by reason (queue_full, write_failed, stopped) and type (Normal, Warning)"
})
const dropped = (reason: "queue_full" | "write_failed" | "stopped", type: string | undefined, count = 1) =>
  Metric.update(Metric.withAttributes(eventsDropped, { reason, type: type ?? "" }), count)

/**
 * Records Kubernetes Events about any object, as the kubelet's recorder does:
 *
 * - recording only enqueues: it never waits and never fails, so a reconcile is never slowed by its
 *   Events; one background fiber (in the caller's Scope) writes them in order, paced by
 *   `EventBudget` — a token bucket of its own, so Events never consume the client's;
 * - the queue is bounded: when it is full an Event is dropped and counted. The last quarter of the
 *   queue is kept for Warnings, so a flood of Normal Events cannot push out the ones that say what
 *   is wrong;
 * - an Event's name is derived from its content, so recording the same event again (after a crash,
 *   or from a replayed ECI event) is refused by the API server as AlreadyExists instead of doubling it.
 *
 * Events still queued when the scope closes (losing leadership, shutdown) are dropped and counted.
 */
export const makeObjectEventRecorder = (options: {
  readonly component: string
  readonly host: string
  readonly queueCapacity?: number
}) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const paced = yield* makeKubeRateLimiter(yield* EventBudget)
    const capacity = options.queueCapacity ?? defaultEventQueueCapacity
    const normalCapacity = Math.ceil(capacity * 0.75)
    const pending = yield* Queue.bounded<CoreV1Event>(capacity)

    const write = (event: CoreV1Event) =>
      paced(kube.createEvent(event)).pipe(
        // AlreadyExists: this very Event was recorded before (a replay).
        Effect.catchTag("KubeConflict", (e) => e.reason === "AlreadyExists" ? Effect.void : Effect.fail(e)),
        Effect.catch((e) =>
          Effect.logWarning("could not record an event", event.reason, e.message).pipe(
            Effect.andThen(dropped("write_failed", event.type))
          )
        )
      )
    yield* Queue.take(pending).pipe(Effect.flatMap(write), Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() =>
      Queue.clear(pending).pipe(
        Effect.flatMap((left) => Effect.forEach(left, (event) => dropped("stopped", event.type), { discard: true })),
        Effect.ignore
      )
    )

    const enqueue = (event: CoreV1Event) =>
      Effect.suspend(() => {
        const room = event.type === "Warning" ? capacity : normalCapacity
        // offerUnsafe never waits: on a full queue it says false.
        const accepted = Queue.sizeUnsafe(pending) < room && Queue.offerUnsafe(pending, event)
        return accepted ? Effect.void : dropped("queue_full", event.type)
      })

    return (object: InvolvedObject, type: EventType, reason: string, message: string, dedupeKey?: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        const key = dedupeKey ?? `${reason}|${message}`
        const suffix = createHash("sha256").update(`${object.uid}|${key}`).digest("hex").slice(0, 16)
        // Stamped when it happened, not when the budget lets it out.
        const now = new Date(yield* Clock.currentTimeMillis)
        yield* enqueue({
          // Cluster-scoped objects (Nodes, ImageCaches) have their Events in `default`, as kubectl expects.
          metadata: { name: `${object.name}.${suffix}`, namespace: object.namespace ?? "default" },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.name,
            ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
            uid: object.uid
          },
          type,
          reason,
          message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
          source: { component: options.component, host: options.host },
          reportingComponent: options.component,
          reportingInstance: options.host,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1
        })
      })
  })

/** The pod flavour: `record(pod, type, reason, message, dedupeKey?)`. */
export const makeEventRecorder = (options: { readonly component: string; readonly host: string; readonly queueCapacity?: number }) =>
  Effect.map(makeObjectEventRecorder(options), (record) =>
    (pod: V1Pod, type: EventType, reason: string, message: string, dedupeKey?: string) =>
      record(
        {
          apiVersion: "v1",
          kind: "Pod",
          name: pod.metadata?.name ?? "",
          namespace: pod.metadata?.namespace ?? "default",
          uid: pod.metadata?.uid ?? ""
        },
        type,
        reason,
        message,
        dedupeKey
      ))

export type EventRecorder = Effect.Success<ReturnType<typeof makeEventRecorder>>
export type ObjectEventRecorder = Effect.Success<ReturnType<typeof makeObjectEventRecorder>>
