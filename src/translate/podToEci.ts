import type { V1Pod } from "@kubernetes/client-node"
import type { CreateContainerGroupRequest } from "../eci/api.generated.ts"
import { parseAnnotations, tagProblem, type AnnotationOutcome } from "./annotations.ts"
import { GPU_RESOURCE, MAX_CONTAINERS, translateContainer, translateInitContainer, type ContainerContext } from "./containers.ts"
import type { Allocatable } from "./downward.ts"
import { podHostname, translateDns, translateHostAliases } from "./dns.ts"
import { serviceEnv } from "./env.ts"
import { containerGroupName, identityTags, MAX_TAGS } from "./identity.ts"
import { opt, optList } from "./opt.ts"
import { translatePullSecrets } from "./pullSecrets.ts"
import { GiB } from "./quantity.ts"
import { makeProblems, type Problems, type Translation } from "./refusals.ts"
import type { ResolvedPod } from "./resolved.ts"
import { podSecurityWarnings, translateSysctls } from "./security.ts"
import { ephemeralStorageNeed, INCLUDED_EPHEMERAL_GIB, roundUpToSpec, sizePod, type EciSpec } from "./specs.ts"
import { translateVolumes } from "./volumes.ts"

/**
 * Pod → CreateContainerGroup request: the one entry point of the Pod → ECI direction. Pure: the
 * same input always gives the same request, every refusal is collected (not just the first), and
 * nothing here reads the clock, the environment or the network.
 */
export const podToEci = (resolved: ResolvedPod): Translation => {
  const problems = makeProblems()
  const request = buildRequest(resolved, problems)
  if (problems.refusals.length > 0) return { _tag: "Refused", refusals: problems.refusals, warnings: problems.warnings }
  if (problems.missingRefs.length > 0) return { _tag: "Unresolved", missing: problems.missingRefs, warnings: problems.warnings }
  return { _tag: "Ok", request, warnings: problems.warnings }
}

/** Pod-wide features ECI cannot provide (§5.6). */
const refusePodLevel = (pod: V1Pod, problems: Problems): void => {
  const spec = pod.spec
  if (spec?.hostNetwork === true) problems.refuse("HostNamespace", "spec.hostNetwork", "ECI pods have their own network; hostNetwork is not supported")
  if (spec?.hostPID === true) problems.refuse("HostNamespace", "spec.hostPID", "ECI pods cannot share a host PID namespace")
  if (spec?.hostIPC === true) problems.refuse("HostNamespace", "spec.hostIPC", "ECI pods cannot share a host IPC namespace")
  const containers = spec?.containers ?? []
  const inits = spec?.initContainers ?? []
  if (containers.length > MAX_CONTAINERS) {
    problems.refuse("TooManyContainers", "spec.containers", `ECI allows at most ${MAX_CONTAINERS} containers; the pod has ${containers.length}`)
  }
  if (inits.length > MAX_CONTAINERS) {
    problems.refuse("TooManyContainers", "spec.initContainers", `ECI allows at most ${MAX_CONTAINERS} init containers; the pod has ${inits.length}`)
  }
  if ((spec?.resourceClaims ?? []).length > 0) {
    problems.refuse("UnsupportedResource", "spec.resourceClaims", "dynamic resource allocation (resource claims) is not available on ECI")
  }
  if ((spec?.ephemeralContainers ?? []).length > 0) {
    problems.warn("IgnoredField", "spec.ephemeralContainers", "ECI cannot add ephemeral (debug) containers; they are ignored")
  }
  if (spec?.runtimeClassName !== undefined) {
    problems.warn("IgnoredField", "spec.runtimeClassName", "ECI chooses its own runtime; runtimeClassName is ignored")
  }
  for (const [kind, v] of Object.entries({ limits: spec?.resources?.limits, requests: spec?.resources?.requests })) {
    for (const name of Object.keys(v ?? {})) {
      if (name !== "cpu" && name !== "memory") {
        problems.refuse("UnsupportedResource", `spec.resources.${kind}[${name}]`, `pod-level ${name} is not available on ECI`)
      }
    }
  }
}

interface InstanceSize {
  readonly fields: Pick<CreateContainerGroupRequest, "Cpu" | "Memory" | "InstanceType">
  /** What `limits.*` default to in the downward API: the instance's size as far as we know it. */
  readonly allocatable: EciSpec
}

/**
 * The instance size (specs.ts has the rounding rule). `eci-use-specs` overrides it: ECS instance
 * types go to `InstanceType` (ECI tries them in order); with only `<cpu>-<mem>Gi` specs, the first
 * one is used as Cpu/Memory — SDK 2.0.3 has a single Cpu/Memory pair, so later specs are dropped
 * with a warning — and never below what the pod needs.
 */
const instanceSize = (pod: V1Pod, specs: AnnotationOutcome["useSpecs"], problems: Problems): InstanceSize | undefined => {
  const sizing = sizePod(pod)
  if (sizing.spec === undefined) {
    problems.refuse("ResourcesTooLarge", "spec.containers[*].resources",
      `the pod needs ${sizing.need.milliCpu / 1000} vCPU and ${sizing.need.milliGiB / 1000} GiB, more than the largest ECI spec (64 vCPU / 512 GiB)`)
    return undefined
  }
  const field = "metadata.annotations[k8s.aliyun.com/eci-use-specs]"
  if (specs.instanceTypes.length > 0) {
    if (specs.specs.length > 0) {
      problems.warn("Approximated", field, "SDK 2.0.3 cannot mix ECS instance types with <cpu>-<mem>Gi specs; only the instance types are used")
    }
    return { fields: { InstanceType: specs.instanceTypes.join(",") }, allocatable: sizing.spec }
  }
  const first = specs.specs[0]
  if (first === undefined) return { fields: { Cpu: sizing.spec.cpu, Memory: sizing.spec.memory }, allocatable: sizing.spec }
  if (specs.specs.length > 1) {
    problems.warn("Approximated", field, `SDK 2.0.3 takes a single vCPU/memory pair; only ${first.cpu}-${first.memory}Gi is used`)
  }
  const wanted = roundUpToSpec({
    milliCpu: Math.max(first.cpu * 1000, sizing.need.milliCpu),
    milliGiB: Math.max(first.memory * 1000, sizing.need.milliGiB)
  })
  if (wanted === undefined) {
    problems.refuse("ResourcesTooLarge", field, `${first.cpu}-${first.memory}Gi is larger than any ECI spec`)
    return undefined
  }
  if (wanted.cpu !== first.cpu || wanted.memory !== first.memory) {
    problems.warn("Approximated", field, `${first.cpu}-${first.memory}Gi is raised to ${wanted.cpu}-${wanted.memory}Gi, the smallest ECI spec covering it and the pod's resources`)
  }
  return { fields: { Cpu: wanted.cpu, Memory: wanted.memory }, allocatable: wanted }
}

/**
 * A pod that can only run on arm64 (nodeSelector `kubernetes.io/arch: arm64`, or a required node
 * affinity allowing only arm64) gets an ARM instance; everything else ECI's default, AMD64 (§1.2).
 */
export const cpuArchitecture = (pod: V1Pod): "ARM64" | undefined => {
  const arch = "kubernetes.io/arch"
  if (pod.spec?.nodeSelector?.[arch] === "arm64") return "ARM64"
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  const armOnly = (t: (typeof terms)[number]) =>
    (t.matchExpressions ?? []).some((e) => e.key === arch && e.operator === "In" && (e.values ?? []).length > 0 && (e.values ?? []).every((v) => v === "arm64"))
  return terms.length > 0 && terms.every(armOnly) ? "ARM64" : undefined
}

/** ECI includes 30 GiB of temporary storage; a pod asking for more buys the difference. */
const extraEphemeral = (pod: V1Pod, fromAnnotation: number | undefined): number | undefined => {
  const neededGiB = Math.ceil(ephemeralStorageNeed(pod) / GiB)
  const extra = Math.max(fromAnnotation ?? 0, neededGiB - INCLUDED_EPHEMERAL_GIB)
  return extra > 0 ? extra : undefined
}

const buildRequest = (resolved: ResolvedPod, problems: Problems): CreateContainerGroupRequest => {
  const { pod, node } = resolved
  const spec = pod.spec
  const namespace = pod.metadata?.namespace ?? "default"
  refusePodLevel(pod, problems)
  podSecurityWarnings(spec ?? { containers: [] }, problems)
  const ann = parseAnnotations(pod.metadata?.annotations ?? {}, problems)
  const size = instanceSize(pod, ann.useSpecs, problems)
  const ephemeral = extraEphemeral(pod, ann.extraEphemeralGiB)
  const allocatable: Allocatable = {
    spec: size?.allocatable ?? { cpu: 0, memory: 0 },
    ephemeralGiB: INCLUDED_EPHEMERAL_GIB + (ephemeral ?? 0)
  }
  const ctx: ContainerContext = { resolved, allocatable, services: serviceEnv(pod, resolved.services), problems }
  const initContainers = (spec?.initContainers ?? []).map((c, i) => translateInitContainer(ctx, c, i))
  const containers = (spec?.containers ?? []).map((c, i) => translateContainer(ctx, c, i))
  if (containers.some((c) => c.Gpu !== undefined) && size?.fields.InstanceType === undefined) {
    problems.refuse("UnsupportedResource", `spec.containers[*].resources.limits[${GPU_RESOURCE}]`,
      "ECI needs a GPU instance type for GPUs: name one with the k8s.aliyun.com/eci-use-specs annotation (e.g. ecs.gn6i-c4g1.xlarge)")
  }
  const volumes = translateVolumes(resolved, allocatable, problems)

  const tags = [...identityTags(pod, node), ...ann.customTags]
  for (const t of identityTags(pod, node)) {
    const problem = tagProblem(t.Key ?? "", t.Value ?? "")
    if (problem !== undefined) problems.refuse("UnsupportedField", "metadata", `the identity tag cannot be written: ${problem}`)
  }
  if (tags.length > MAX_TAGS) problems.refuse("InvalidAnnotation", "metadata.annotations[k8s.aliyun.com/eci-custom-tags]", `at most ${MAX_TAGS} tags`)
  const sysctls = translateSysctls(spec ?? { containers: [] }, problems)
  const hostAliases = translateHostAliases(pod, ann.customHosts)
  // A user-chosen vSwitch list decides the zone; a configured zone applies only to the defaults.
  const vSwitchId = ann.fields.VSwitchId ?? (node.vSwitchIds.length > 0 ? node.vSwitchIds.join(",") : undefined)
  const zoneId = ann.fields.VSwitchId === undefined ? node.zoneId : undefined

  return {
    RegionId: node.regionId,
    ContainerGroupName: containerGroupName(namespace, pod.metadata?.name ?? ""),
    ...opt("ClientToken", resolved.clientToken),
    ...opt("SecurityGroupId", node.securityGroupId),
    ...opt("ResourceGroupId", node.resourceGroupId),
    ...ann.fields,
    ...opt("VSwitchId", vSwitchId),
    ...opt("ZoneId", zoneId),
    ...size?.fields,
    ...opt("RestartPolicy", spec?.restartPolicy),
    ...opt("TerminationGracePeriodSeconds", spec?.terminationGracePeriodSeconds),
    ...opt("ActiveDeadlineSeconds", spec?.activeDeadlineSeconds),
    ...opt("ShareProcessNamespace", spec?.shareProcessNamespace),
    ...opt("OsType", spec?.os?.name === "windows" ? "Windows" : undefined),
    ...opt("CpuArchitecture", cpuArchitecture(pod)),
    ...opt("EphemeralStorage", ephemeral),
    ...translateDns(pod, node, ann.customDns, problems),
    ...optList("HostAliase", hostAliases),
    HostName: podHostname(pod, node.clusterDomain, problems),
    ...opt("SecurityContext", sysctls.length > 0 ? { Sysctl: sysctls } : undefined),
    ...optList("ImageRegistryCredential", translatePullSecrets(resolved, problems)),
    Tag: tags,
    ...optList("InitContainer", initContainers),
    Container: containers,
    ...optList("Volume", volumes)
  }
}
