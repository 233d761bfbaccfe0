import { createHash } from "node:crypto"
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node"
import { Clock, Effect } from "effect"
import { Kube } from "../kube/Kube.ts"

export type EventType = "Normal" | "Warning"

/**
 * Records Kubernetes Events about pods, as the kubelet's recorder does, with one difference that
 * matters for a controller that restarts: the Event's name is derived from its content, so recording
 * the same event again (after a crash, or from a replayed ECI event) is refused by the API server as
 * AlreadyExists instead of doubling it.
 */
export const makeEventRecorder = (options: { readonly component: string; readonly host: string }) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    return (pod: V1Pod, type: EventType, reason: string, message: string, dedupeKey?: string) =>
      Effect.gen(function*() {
        const namespace = pod.metadata?.namespace ?? "default"
        const name = pod.metadata?.name ?? ""
        const uid = pod.metadata?.uid ?? ""
        const key = dedupeKey ?? `${reason}|${message}`
        const suffix = createHash("sha256").update(`${uid}|${key}`).digest("hex").slice(0, 16)
        const now = new Date(yield* Clock.currentTimeMillis)
        const event: CoreV1Event = {
          metadata: { name: `${name}.${suffix}`, namespace },
          involvedObject: { apiVersion: "v1", kind: "Pod", name, namespace, uid },
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

export type EventRecorder = Effect.Success<ReturnType<typeof makeEventRecorder>>
