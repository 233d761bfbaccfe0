import type { V1Pod } from "@kubernetes/client-node"
import type { DescribeContainerGroupsResponseBodyContainerGroups } from "../eci/api.generated.ts"
import { formatAmount, formatSpec } from "./specs.ts"

/**
 * The annotations ack-virtual-node writes back on a pod once its instance exists (§5.5), so tools
 * and people who read them keep working: instance id, spec (the billing basis), zone, network
 * placement, addresses and the matched image cache.
 *
 * `k8s.aliyun.com/eci-vswitch` and `eci-security-group` are also *input* annotations (§5.4): they are
 * written only when the pod does not carry them already, so a user's list of vSwitches is never
 * replaced by the one that was chosen (annotations are read at creation only, but a re-creation
 * after a failure must see what the user wrote).
 */
const P = "k8s.aliyun.com/"

export const WRITE_BACK = {
  instanceId: `${P}eci-instance-id`,
  instanceSpec: `${P}eci-instance-spec`,
  instanceCpu: `${P}eci-instance-cpu`,
  instanceMem: `${P}eci-instance-mem`,
  zone: `${P}eci-instance-zone`,
  vSwitch: `${P}eci-vswitch`,
  securityGroup: `${P}eci-security-group`,
  vpc: `${P}eci-vpc`,
  eni: `${P}eni-instance-id`,
  eipAddress: `${P}allocated-eipAddress`,
  ipv6Address: `${P}allocated-ipv6Address`,
  matchedImageCache: `${P}eci-matched-image-cache`,
  /** Written by the controller before the first create (§5.5), not derived from the group. */
  clientToken: `${P}eci-client-token`,
  /** Written by the controller from the CreateContainerGroup response. */
  requestId: `${P}eci-request-id`
} as const

type Group = DescribeContainerGroupsResponseBodyContainerGroups

/** The image cache a `SuccessfulHitImageCache` event names (`imc-…`), or "true" when it names none. */
const matchedImageCache = (g: Group): string | undefined => {
  const hit = (g.Events ?? []).find((e) => e.Reason === "SuccessfulHitImageCache" || e.Name === "SuccessfulHitImageCache")
  if (hit === undefined) return undefined
  return /\bimc-[0-9a-z]+/.exec(hit.Message ?? "")?.[0] ?? "true"
}

/** `eci-instance-spec`: the ECS type when the group names one that is not a vCPU-memory pair, else `2.0-4.0Gi`. */
const instanceSpec = (g: Group): string | undefined => {
  const type = g.InstanceType ?? ""
  if (type !== "" && type.startsWith("ecs.")) return type
  if (g.Cpu === undefined || g.Memory === undefined || g.Cpu === 0) return undefined
  return formatSpec({ cpu: g.Cpu, memory: g.Memory })
}

/** Every annotation the group tells us about; keys without a value in the group are absent. */
export const writeBackAnnotations = (g: Group): Readonly<Record<string, string>> => {
  const entries: ReadonlyArray<readonly [string, string | undefined]> = [
    [WRITE_BACK.instanceId, g.ContainerGroupId],
    [WRITE_BACK.instanceSpec, instanceSpec(g)],
    [WRITE_BACK.instanceCpu, g.Cpu === undefined || g.Cpu === 0 ? undefined : formatAmount(g.Cpu)],
    [WRITE_BACK.instanceMem, g.Memory === undefined || g.Memory === 0 ? undefined : formatAmount(g.Memory)],
    [WRITE_BACK.zone, g.ZoneId],
    [WRITE_BACK.vSwitch, g.VSwitchId],
    [WRITE_BACK.securityGroup, g.SecurityGroupId],
    [WRITE_BACK.vpc, g.VpcId],
    [WRITE_BACK.eni, g.EniInstanceId],
    [WRITE_BACK.eipAddress, g.InternetIp],
    [WRITE_BACK.ipv6Address, g.Ipv6Address],
    [WRITE_BACK.matchedImageCache, matchedImageCache(g)]
  ]
  const out: Record<string, string> = {}
  for (const [k, v] of entries) if (v !== undefined && v !== "") out[k] = v
  return out
}

const userOwned: ReadonlySet<string> = new Set([WRITE_BACK.vSwitch, WRITE_BACK.securityGroup])

/**
 * The annotations to patch onto the pod: only those that are new or changed, never a user's input
 * annotation. `undefined` when there is nothing to write (so the caller can skip the API call).
 */
export const writeBackPatch = (pod: V1Pod, g: Group): Readonly<Record<string, string>> | undefined => {
  const current = pod.metadata?.annotations ?? {}
  const patch: Record<string, string> = {}
  for (const [k, v] of Object.entries(writeBackAnnotations(g))) {
    if (userOwned.has(k) && current[k] !== undefined) continue
    if (current[k] !== v) patch[k] = v
  }
  return Object.keys(patch).length === 0 ? undefined : patch
}
