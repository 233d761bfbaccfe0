import { createHash } from "node:crypto"
import type { V1Pod } from "@kubernetes/client-node"
import type { CreateContainerGroupRequestTag } from "../eci/api.generated.ts"
import type { NodeContext } from "./resolved.ts"

/**
 * How a container group names and tags itself.
 *
 * Tags are the identity: the pod UID tag is authoritative (a pod re-created under the same name has
 * a new UID, so it can never bind to the old group — the bug of the old Go provider, §7), and
 * the cluster/node tags let the poller and the garbage collector list only our groups. Tag keys
 * must not start with `acs:` or `aliyun` (§1.2), hence the project's own prefix.
 */
export const TAG_PREFIX = "eci-virtual-node.io/"

export const IDENTITY_TAGS = {
  clusterId: `${TAG_PREFIX}cluster-id`,
  nodeName: `${TAG_PREFIX}node-name`,
  namespace: `${TAG_PREFIX}namespace`,
  podName: `${TAG_PREFIX}pod-name`,
  podUid: `${TAG_PREFIX}pod-uid`
} as const

/** ECI allows 20 tags per instance (§1.2): 5 identity tags leave room for custom ones. */
export const MAX_TAGS = 20
const MAX_TAG_VALUE = 128

const shortHash = (s: string): string => createHash("sha256").update(s).digest("hex").slice(0, 8)

/** Values over 128 characters (pod names may have 253) keep a readable prefix and a hash. */
const tagValue = (v: string): string => (v.length <= MAX_TAG_VALUE ? v : `${v.slice(0, MAX_TAG_VALUE - 9)}-${shortHash(v)}`)

export const identityTags = (pod: V1Pod, node: NodeContext): ReadonlyArray<CreateContainerGroupRequestTag> => [
  { Key: IDENTITY_TAGS.clusterId, Value: tagValue(node.clusterId) },
  { Key: IDENTITY_TAGS.nodeName, Value: tagValue(node.nodeName) },
  { Key: IDENTITY_TAGS.namespace, Value: tagValue(pod.metadata?.namespace ?? "default") },
  { Key: IDENTITY_TAGS.podName, Value: tagValue(pod.metadata?.name ?? "") },
  { Key: IDENTITY_TAGS.podUid, Value: tagValue(pod.metadata?.uid ?? "") }
]

const MAX_NAME = 128

/**
 * A ContainerGroupName ECI accepts (§1.2: 2–128 characters, lowercase letters, digits and `-`, not
 * starting or ending with `-`): `<namespace>-<name>`, lowercased, other characters (the dots of pod
 * names) turned into `-`. When that changed anything or the result is too long, an 8-hex-digit
 * hash of `<namespace>/<name>` is appended, so distinct pods keep distinct names in the common
 * cases (`a-b`/`c` vs `a`/`b-c` still collide; names are for people — tags are the identity).
 */
export const containerGroupName = (namespace: string, name: string): string => {
  const raw = `${namespace}-${name}`
  const cleaned = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "")
  const fits = cleaned === raw && cleaned.length >= 2 && cleaned.length <= MAX_NAME
  if (fits) return cleaned
  const suffix = shortHash(`${namespace}/${name}`)
  const head = cleaned.slice(0, MAX_NAME - suffix.length - 1).replace(/-+$/g, "")
  return head === "" ? `p-${suffix}` : `${head}-${suffix}`
}

/** The name rule itself, for tests and the simulator. */
export const isValidContainerGroupName = (s: string): boolean =>
  s.length >= 2 && s.length <= MAX_NAME && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s)
