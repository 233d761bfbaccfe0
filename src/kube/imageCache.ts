import type { V1ObjectMeta } from "@kubernetes/client-node"
import { fromWire } from "./codec.ts"

/**
 * The ImageCache custom resource (k8s/imagecache-crd.yaml, eci-reference §5.7) as the Kube service
 * hands it out. client-node has no model for it, so the object is the API server's JSON except for
 * `metadata`, which goes through client-node's V1ObjectMeta like every other object of the Kube
 * service (timestamps are `Date`s). `status` times stay RFC 3339 strings, as the schema stores them.
 */
export const IMAGE_CACHE_API = {
  group: "eci.alibabacloud.com",
  version: "v1",
  plural: "imagecaches",
  kind: "ImageCache",
  apiVersion: "eci.alibabacloud.com/v1"
} as const

export interface ImageCacheSpec {
  readonly images: ReadonlyArray<string>
  /** `namespace:secretName` of kubernetes.io/dockerconfigjson Secrets. */
  readonly imagePullSecrets?: ReadonlyArray<string>
  /** GiB, 20–32768; the API server defaults it to 20. */
  readonly imageCacheSize?: number
  /** Absent: the cache never expires. */
  readonly retentionDays?: number
}

export interface ImageCacheStatusEvent {
  readonly type?: string
  readonly reason?: string
  readonly message?: string
  readonly count?: number
  readonly firstTimestamp?: string
  readonly lastTimestamp?: string
}

export type ImageCachePhase = "Pending" | "Preparing" | "Creating" | "Ready" | "Failed" | "Updating" | "UpdateFailed" | "Unknown"

export interface ImageCacheStatus {
  readonly phase?: ImageCachePhase
  readonly reason?: string
  readonly message?: string
  readonly progress?: string
  readonly imageCacheId?: string
  readonly startTime?: string
  readonly lastUpdatedTime?: string
  readonly expireDateTime?: string
  readonly events?: ReadonlyArray<ImageCacheStatusEvent>
}

export interface ImageCache {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata?: V1ObjectMeta
  readonly spec?: ImageCacheSpec
  readonly status?: ImageCacheStatus
}

/**
 * What an ImageCache watch delivers, like `PodWatchEvent`: a `Snapshot` of every ImageCache after
 * each (re)list, then the changes in resourceVersion order.
 */
export type ImageCacheWatchEvent =
  | { readonly type: "Snapshot"; readonly imageCaches: ReadonlyArray<ImageCache> }
  | { readonly type: "Added" | "Modified" | "Deleted"; readonly imageCache: ImageCache }

/** The API server's JSON (or the in-memory store's) as an `ImageCache`. */
export const decodeImageCache = (json: unknown): ImageCache => {
  const o = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>
  const copy = structuredClone(o)
  return copy["metadata"] === undefined ? copy as ImageCache : { ...copy, metadata: fromWire<V1ObjectMeta>("V1ObjectMeta", copy["metadata"]) }
}
