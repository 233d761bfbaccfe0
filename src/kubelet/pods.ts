/**
 * From a request's namespace/pod/container to the ECI container group and container that serve it.
 * A pod is ours when it is bound to this node; its group is named by the annotation the controller
 * writes back (`k8s.aliyun.com/eci-instance-id`, writeBack.ts). The kubelet's own messages are kept
 * where it has one (`pod "x" does not exist`, `container "c" not found in pod "x"`, the log-status
 * texts of `validateContainerLogStatus`), since kubectl prints them as they are.
 */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node"
import { Effect } from "effect"
import { Kube } from "../kube/Kube.ts"
import { WRITE_BACK } from "../translate/writeBack.ts"
import { badRequest, fromKubeError, type KubeletHttpError, notFound } from "./errors.ts"

export interface PodRef {
  readonly namespace: string
  readonly name: string
  /** From the `/{ns}/{pod}/{uid}/{container}` route form: must match the pod's UID. */
  readonly uid?: string
}

/** The pod, if it exists and is bound to `nodeName`. */
export const findPod = (nodeName: string, ref: PodRef): Effect.Effect<V1Pod, KubeletHttpError, Kube> =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const missing = notFound(`pod "${ref.name}" does not exist`)
    const pod = yield* kube.getPod(ref.namespace, ref.name).pipe(
      Effect.catchTag("KubeNotFound", () => Effect.fail(missing)),
      Effect.mapError((e) => (e._tag === "KubeletHttpError" ? e : fromKubeError(e, `looking up pod ${ref.namespace}/${ref.name}`)))
    )
    if (pod.spec?.nodeName !== nodeName) return yield* missing
    if (ref.uid !== undefined && ref.uid !== "" && pod.metadata?.uid !== ref.uid) return yield* missing
    return pod
  })

export const groupIdOf = (pod: V1Pod): string | undefined => {
  const id = pod.metadata?.annotations?.[WRITE_BACK.instanceId]
  return id === undefined || id === "" ? undefined : id
}

/** Regular, init and ephemeral containers, as `GetContainerSpec` looks them up. */
export const hasContainer = (pod: V1Pod, name: string): boolean =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].some((c) => c.name === name)

export const containerStatusOf = (pod: V1Pod, name: string): V1ContainerStatus | undefined =>
  [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])]
    .find((s) => s.name === name)

export interface ResolvedContainer {
  readonly pod: V1Pod
  readonly groupId: string
  readonly container: string
}

/**
 * The container of a pod, with its group. A pod whose group does not exist yet is "waiting to
 * start", as the kubelet says of a container it has not created.
 */
export const targetOf = (pod: V1Pod, container: string): ResolvedContainer | KubeletHttpError => {
  const name = pod.metadata?.name ?? ""
  if (!hasContainer(pod, container)) return notFound(`container "${container}" not found in pod "${name}"`)
  const groupId = groupIdOf(pod)
  if (groupId === undefined) return badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`)
  return { pod, groupId, container }
}

/** The container of a pod on this node, with its group. */
export const resolveContainer = (nodeName: string, ref: PodRef, container: string): Effect.Effect<ResolvedContainer, KubeletHttpError, Kube> =>
  Effect.flatMap(findPod(nodeName, ref), (pod) => {
    const target = targetOf(pod, container)
    return "_tag" in target ? Effect.fail(target) : Effect.succeed(target)
  })

/**
 * Which run's log to read (kubelet `validateContainerLogStatus`): the current one, or the previous
 * (ECI's `LastTime`) for `previous=true` and for a container waiting to restart after a crash.
 */
export const logRunOf = (pod: V1Pod, container: string, previous: boolean): { readonly lastTime: boolean } | KubeletHttpError => {
  const podName = pod.metadata?.name ?? ""
  const s = containerStatusOf(pod, container)
  if (s === undefined) return badRequest(`container "${container}" in pod "${podName}" is not available`)
  const last = s.lastState?.terminated
  const { waiting, running, terminated } = s.state ?? {}
  if (previous) {
    return last === undefined ? badRequest(`previous terminated container "${container}" in pod "${podName}" not found`) : { lastTime: true }
  }
  if (running !== undefined || terminated !== undefined) return { lastTime: false }
  if (last !== undefined) return { lastTime: true }
  if (waiting !== undefined) {
    const reason = waiting.reason ?? ""
    if (reason === "ErrImagePull") return badRequest(`container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`)
    if (reason === "ImagePullBackOff") {
      return badRequest(`container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`)
    }
    return badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`)
  }
  return badRequest(`container "${container}" in pod "${podName}" is waiting to start - no logs yet`)
}

/** Exec needs a running container (ECI refuses otherwise with IncorrectStatus; this says it better). */
export const requireRunning = (pod: V1Pod, container: string): KubeletHttpError | undefined => {
  const s = containerStatusOf(pod, container)
  if (s?.state?.running !== undefined) return undefined
  return badRequest(`container "${container}" in pod "${pod.metadata?.name ?? ""}" is not running`)
}
