import { createHash } from "node:crypto"
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node"
import { Clock, Effect } from "effect"
import { Kube } from "../kube/Kube.ts"

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
 * Records Kubernetes Events about any object, as the kubelet's recorder does, with one difference
 * that matters for a controller that restarts: the Event's name is derived from its content, so
 * recording the same event again (after a crash, or from a replayed ECI event) is refused by the API
 * server as AlreadyExists instead of doubling it.
 */
export const makeObjectEventRecorder = (options: { readonly component: string; readonly host: string }) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    return (object: InvolvedObject, type: EventType, reason: string, message: string, dedupeKey?: string) =>
      Effect.gen(function*() {
        const key = dedupeKey ?? `${reason}|${message}`
        const suffix = createHash("sha256").update(`${object.uid}|${key}`).digest("hex").slice(0, 16)
        const now = new Date(yield* Clock.currentTimeMillis)
        const event: CoreV1Event = {
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
        }
        yield* kube.createEvent(event).pipe(
          Effect.catchTag("KubeConflict", () => Effect.void),
          Effect.catch((e) => Effect.logWarning("could not record an event", reason, e.message))
        )
      })
  })

/** The pod flavour: `record(pod, type, reason, message, dedupeKey?)`. */
export const makeEventRecorder = (options: { readonly component: string; readonly host: string }) =>
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
