import { createHash } from "node:crypto"
import type { CreateImageCacheRequestTag, DescribeImageCachesResponseBodyImageCaches } from "../eci/api.generated.ts"
import type { ImageCache } from "../kube/imageCache.ts"
import { containerGroupName, IDENTITY_TAGS, TAG_PREFIX } from "../translate/identity.ts"

/**
 * How an ECI image cache belongs to an ImageCache resource, and the marks the controller leaves on
 * the resource.
 *
 * As for container groups (translate/identity.ts), tags are the identity: the cluster tag lets one
 * DescribeImageCaches list every cache of ours (status following and garbage collection in one
 * call), and the UID tag ties a cache to one incarnation of a resource — a resource re-created under
 * the same name has a new UID and never adopts the old one's cache. The name is for people.
 */
export type CacheView = DescribeImageCachesResponseBodyImageCaches

export const IMAGE_CACHE_TAGS = {
  clusterId: IDENTITY_TAGS.clusterId,
  name: `${TAG_PREFIX}imagecache-name`,
  uid: `${TAG_PREFIX}imagecache-uid`
} as const

/** Held by every ImageCache the controller has (or may have) made a cache for; removed after DeleteImageCache. */
export const IMAGE_CACHE_FINALIZER = "eci.alibabacloud.com/image-cache"

/**
 * The CreateImageCache ClientToken, persisted on the resource before the first create (as pods
 * carry theirs, eci-reference §5.5), so a retry after a lost answer or a crash gets the same cache.
 * A new token is written when the cache must be built again (expired, vanished).
 */
export const CLIENT_TOKEN_ANNOTATION = "k8s.aliyun.com/eci-client-token"

const shortHash = (s: string): string => createHash("sha256").update(s).digest("hex").slice(0, 8)

/** ECI tag values are at most 128 characters; resource names may have 253. */
const tagValue = (v: string): string => (v.length <= 128 ? v : `${v.slice(0, 119)}-${shortHash(v)}`)

/** The cluster tag's value, as written and as filtered on. */
export const clusterTagValue = (clusterId: string): string => tagValue(clusterId)

export const cacheTags = (clusterId: string, ic: ImageCache): ReadonlyArray<CreateImageCacheRequestTag> => [
  { Key: IMAGE_CACHE_TAGS.clusterId, Value: clusterTagValue(clusterId) },
  { Key: IMAGE_CACHE_TAGS.name, Value: tagValue(ic.metadata?.name ?? "") },
  { Key: IMAGE_CACHE_TAGS.uid, Value: ic.metadata?.uid ?? "" }
]

/** ImageCacheName follows the ContainerGroupName rule (eci-reference §1.10): `<cluster>-<name>`, made valid. */
export const cacheName = (clusterId: string, name: string): string => containerGroupName(clusterId, name)

const tagOf = (cache: CacheView, key: string) => cache.Tags?.find((t) => t.Key === key)?.Value

/** The UID of the resource a cache was made for; undefined for caches that are not ours to manage. */
export const ownerUid = (cache: CacheView): string | undefined => tagOf(cache, IMAGE_CACHE_TAGS.uid)
