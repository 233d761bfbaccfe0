import type { V1Pod } from "@kubernetes/client-node"
import { Effect } from "effect"
import type { ImageCache } from "../kube/imageCache.ts"
import { Kube, type KubeError } from "../kube/Kube.ts"

/**
 * Pods name an ImageCache resource instead of an ECI id:
 *
 *   metadata.annotations["k8s.aliyun.com/eci-image-cache-name"]: base-images
 *
 * and are created from that resource's cache (`ImageSnapshotId` = its `status.imageCacheId`), as if
 * they carried `k8s.aliyun.com/eci-imc-id` themselves. An explicit `eci-imc-id` /
 * `eci-image-snapshot-id` on the pod wins: it is the more specific request.
 *
 * While the named cache is not Ready (still building, Failed, or no such ImageCache), the pod is
 * created WITHOUT it, and a Warning Event says why. A cache is an accelerator, not a dependency:
 * the images can always be pulled, usually in less time than a cache takes to build, and ECI itself
 * goes on without an `ImageSnapshotId` it cannot use (ImageCacheNotComplete). Holding the pod
 * Pending instead would turn a typo in a name, or a cache whose image moved, into pods that never
 * start. Annotations are read once, at creation (as every ECI annotation is): a pod created before
 * its cache was Ready keeps pulling; new pods use the cache once it is.
 */
export const IMAGE_CACHE_NAME_ANNOTATION = "k8s.aliyun.com/eci-image-cache-name"
const IMC_ID = "k8s.aliyun.com/eci-imc-id"
const SNAPSHOT_ID = "k8s.aliyun.com/eci-image-snapshot-id"

export type ImageCacheResolution =
  /** No name annotation, or the pod names an ECI id itself. */
  | { readonly _tag: "None" }
  | { readonly _tag: "Use"; readonly name: string; readonly imageCacheId: string }
  /** Created without the cache; `reason` and `message` are for a Warning Event on the pod. */
  | { readonly _tag: "Skip"; readonly name: string; readonly reason: "ImageCacheNotFound" | "ImageCacheNotReady"; readonly message: string }

/** Pure: what the pod asks for, given the ImageCache it names (undefined: there is none). */
export const resolveFromImageCache = (pod: V1Pod, imageCache: ImageCache | undefined): ImageCacheResolution => {
  const annotations = pod.metadata?.annotations ?? {}
  const name = annotations[IMAGE_CACHE_NAME_ANNOTATION]?.trim()
  if (name === undefined || name === "") return { _tag: "None" }
  if ((annotations[IMC_ID] ?? "") !== "" || (annotations[SNAPSHOT_ID] ?? "") !== "") return { _tag: "None" }
  if (imageCache === undefined) {
    return { _tag: "Skip", name, reason: "ImageCacheNotFound", message: `ImageCache ${name} does not exist; the pod is created without an image cache` }
  }
  const status = imageCache.status
  const id = status?.imageCacheId
  if (status?.phase !== "Ready" || id === undefined || id === "" || imageCache.metadata?.deletionTimestamp !== undefined) {
    const phase = imageCache.metadata?.deletionTimestamp !== undefined ? "being deleted" : (status?.phase ?? "Pending")
    const why = status?.reason === undefined ? "" : ` (${status.reason})`
    return { _tag: "Skip", name, reason: "ImageCacheNotReady", message: `ImageCache ${name} is ${phase}${why}, not Ready; the pod is created without an image cache` }
  }
  return { _tag: "Use", name, imageCacheId: id }
}

/** Reads the ImageCache the pod names (one GET, only for pods that name one). */
export const resolveImageCacheAnnotation = (pod: V1Pod): Effect.Effect<ImageCacheResolution, KubeError, Kube> =>
  Effect.gen(function*() {
    const first = resolveFromImageCache(pod, undefined)
    if (first._tag === "None") return first
    const kube = yield* Kube
    const found = yield* kube.getImageCache(first.name).pipe(
      Effect.map((ic): ImageCache | undefined => ic),
      Effect.catchTag("KubeNotFound", () => Effect.succeed(undefined))
    )
    return resolveFromImageCache(pod, found)
  })

/**
 * The pod as the translator should see it: with `eci-imc-id` set to the resolved cache (in memory
 * only; nothing is written to the API server), so podToEci maps it to ImageSnapshotId.
 */
export const withImageCache = (pod: V1Pod, resolution: ImageCacheResolution): V1Pod =>
  resolution._tag !== "Use"
    ? pod
    : { ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [IMC_ID]: resolution.imageCacheId } } }
