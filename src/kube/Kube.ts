import type {
  CoreV1Event,
  V1ConfigMap,
  V1Lease,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Node,
  V1Pod,
  V1Secret,
  V1Service,
  V1SubjectAccessReviewSpec,
  V1SubjectAccessReviewStatus,
  V1TokenReviewStatus
} from "@kubernetes/client-node"
import { Context, type Effect, Schema, type Stream } from "effect"
import type { ImageCache, ImageCacheWatchEvent } from "./imageCache.ts"
import type { ListWatchEvent } from "./watch.ts"

/** The API server said 404. */
export class KubeNotFound extends Schema.TaggedError<KubeNotFound>()("KubeNotFound", {
  kind: Schema.String,
  name: Schema.String,
  message: Schema.String
}) {}

/** 409: a stale resourceVersion, a failed UID precondition, or the object already exists. */
export class KubeConflict extends Schema.TaggedError<KubeConflict>()("KubeConflict", {
  kind: Schema.String,
  name: Schema.String,
  reason: Schema.String,
  message: Schema.String
}) {}

/** Any other failure: `status` is the HTTP status (0 when the server could not be reached). */
export class KubeApiError extends Schema.TaggedError<KubeApiError>()("KubeApiError", {
  operation: Schema.String,
  status: Schema.Number,
  reason: Schema.String,
  message: Schema.String
}) {}

export type KubeError = KubeNotFound | KubeConflict | KubeApiError

/**
 * What a pod watch delivers. After every (re)list the stream emits a `Snapshot` holding every pod
 * that matched, so a consumer can forget pods that were deleted while the watch was down; between
 * snapshots it emits the individual changes, in resourceVersion order.
 */
export type PodWatchEvent =
  | { readonly type: "Snapshot"; readonly pods: ReadonlyArray<V1Pod> }
  | { readonly type: "Added" | "Modified" | "Deleted"; readonly pod: V1Pod }

/** `strategic` merges lists by their Kubernetes merge key (conditions by `type`); `merge` is RFC 7386. */
export type PatchType = "strategic" | "merge"

export interface DeletePodOptions {
  /** UID precondition: never delete a newer pod that reuses the name. */
  readonly uid?: string
  readonly gracePeriodSeconds?: number
}

export interface TokenRequestOptions {
  readonly audiences: ReadonlyArray<string>
  readonly expirationSeconds: number
  readonly boundPod?: { readonly name: string; readonly uid: string }
}

/**
 * The narrow Kubernetes API a virtual kubelet needs. Layers: `KubeLive` (kubeLive.ts, the real API
 * server through @kubernetes/client-node) and `KubeInMemory` (kubeInMemory.ts, a deterministic fake
 * for simulation). Both pass the same contract suite (test/kube/contract.ts).
 */
export class Kube extends Context.Service<Kube, {
  /** Pods bound to `nodeName` (field selector spec.nodeName), resumable across watch drops and 410 Gone. */
  readonly watchPods: (nodeName: string) => Stream.Stream<PodWatchEvent, KubeError>
  readonly listPods: (options: { readonly nodeName?: string; readonly namespace?: string }) => Effect.Effect<ReadonlyArray<V1Pod>, KubeError>
  readonly getPod: (namespace: string, name: string) => Effect.Effect<V1Pod, KubeError>
  readonly createPod: (pod: V1Pod) => Effect.Effect<V1Pod, KubeError>
  readonly patchPod: (namespace: string, name: string, patch: unknown, type?: PatchType) => Effect.Effect<V1Pod, KubeError>
  readonly patchPodStatus: (namespace: string, name: string, patch: unknown, type?: PatchType) => Effect.Effect<V1Pod, KubeError>
  readonly deletePod: (namespace: string, name: string, options?: DeletePodOptions) => Effect.Effect<void, KubeError>
  readonly evictPod: (namespace: string, name: string) => Effect.Effect<void, KubeError>

  readonly getNode: (name: string) => Effect.Effect<V1Node, KubeError>
  readonly createNode: (node: V1Node) => Effect.Effect<V1Node, KubeError>
  readonly patchNode: (name: string, patch: unknown, type?: PatchType) => Effect.Effect<V1Node, KubeError>
  readonly patchNodeStatus: (name: string, patch: unknown, type?: PatchType) => Effect.Effect<V1Node, KubeError>
  readonly deleteNode: (name: string) => Effect.Effect<void, KubeError>

  readonly getLease: (namespace: string, name: string) => Effect.Effect<V1Lease, KubeError>
  readonly createLease: (lease: V1Lease) => Effect.Effect<V1Lease, KubeError>
  /** PUT with the lease's resourceVersion: a concurrent writer makes it fail with KubeConflict. */
  readonly updateLease: (lease: V1Lease) => Effect.Effect<V1Lease, KubeError>

  /** Live: outside the client's token bucket; Events are paced by their recorder's own budget (src/pods/events.ts). */
  readonly createEvent: (event: CoreV1Event) => Effect.Effect<CoreV1Event, KubeError>
  readonly listEvents: (namespace: string) => Effect.Effect<ReadonlyArray<CoreV1Event>, KubeError>

  readonly getNamespace: (name: string) => Effect.Effect<V1Namespace, KubeError>
  readonly getSecret: (namespace: string, name: string) => Effect.Effect<V1Secret, KubeError>
  /** Fails with KubeConflict (reason AlreadyExists) when the name is taken: the webhook's replicas race on it. */
  readonly createSecret: (secret: V1Secret) => Effect.Effect<V1Secret, KubeError>
  /** The Secret now (or undefined when absent) and again after every change; for rotations. */
  readonly watchSecret: (namespace: string, name: string) => Stream.Stream<V1Secret | undefined, KubeError>
  readonly getConfigMap: (namespace: string, name: string) => Effect.Effect<V1ConfigMap, KubeError>
  readonly watchConfigMap: (namespace: string, name: string) => Stream.Stream<V1ConfigMap | undefined, KubeError>
  /** A namespace's Services, for the kubelet's service-link environment variables (`enableServiceLinks`). */
  readonly listServices: (namespace: string) => Effect.Effect<ReadonlyArray<V1Service>, KubeError>
  readonly getService: (namespace: string, name: string) => Effect.Effect<V1Service, KubeError>
  /**
   * Every Service of the cluster: a `Snapshot` after each (re)list, then the changes; resumable
   * across watch drops and 410 Gone as `watchPods`. What the service cache (serviceCache.ts) reads.
   */
  readonly watchServices: Stream.Stream<ListWatchEvent<V1Service>, KubeError>

  /** TokenRequest for a ServiceAccount (what the kubelet does for projected token volumes). */
  readonly createServiceAccountToken: (
    namespace: string,
    serviceAccount: string,
    options: TokenRequestOptions
  ) => Effect.Effect<{ readonly token: string; readonly expirationTimestamp: Date }, KubeError>
  readonly reviewToken: (token: string) => Effect.Effect<V1TokenReviewStatus, KubeError>
  readonly reviewAccess: (spec: V1SubjectAccessReviewSpec) => Effect.Effect<V1SubjectAccessReviewStatus, KubeError>

  readonly getMutatingWebhookConfiguration: (name: string) => Effect.Effect<V1MutatingWebhookConfiguration, KubeError>
  /** Strategic merge patch: `webhooks` merge by `name`. */
  readonly patchMutatingWebhookConfiguration: (
    name: string,
    patch: unknown
  ) => Effect.Effect<V1MutatingWebhookConfiguration, KubeError>

  /**
   * ImageCaches (eci.alibabacloud.com/v1, cluster-scoped; imageCache.ts). Custom resources take no
   * strategic merge patch: both patches are RFC 7386 merge patches, and a `metadata.resourceVersion`
   * in the patch is a precondition (merge patches replace lists such as `finalizers` whole).
   */
  readonly watchImageCaches: Stream.Stream<ImageCacheWatchEvent, KubeError>
  readonly listImageCaches: Effect.Effect<ReadonlyArray<ImageCache>, KubeError>
  readonly getImageCache: (name: string) => Effect.Effect<ImageCache, KubeError>
  /** `status` is ignored (status subresource); the spec is validated and defaulted by the CRD's schema. */
  readonly createImageCache: (imageCache: ImageCache) => Effect.Effect<ImageCache, KubeError>
  /** Metadata and spec; `status` in the patch is ignored. */
  readonly patchImageCache: (name: string, patch: unknown) => Effect.Effect<ImageCache, KubeError>
  /** The status subresource: only `status` changes, anything else in the patch is ignored. */
  readonly patchImageCacheStatus: (name: string, patch: unknown) => Effect.Effect<ImageCache, KubeError>
  /** With finalizers the object stays, marked with a deletionTimestamp, until the last one is removed. */
  readonly deleteImageCache: (name: string) => Effect.Effect<void, KubeError>
}>()("eci-virtual-node/Kube") {}
