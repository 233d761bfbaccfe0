import type { V1Container, V1PodSpec } from "@kubernetes/client-node"
import type { CreateContainerGroupRequestContainer, CreateContainerGroupRequestSecurityContextSysctl } from "../eci/api.generated.ts"
import { opt } from "./opt.ts"
import type { Problems } from "./refusals.ts"

/**
 * Security contexts. ECI has RunAsUser, RunAsGroup and RunAsNonRoot (app containers only),
 * ReadOnlyRootFilesystem and capability *Add* (§1.2). Pod-level runAsUser/runAsGroup/runAsNonRoot
 * are inherited by containers that do not set their own, as in the kubelet.
 *
 * - `privileged: true` is refused (§5.6): a privileged workload would silently run unprivileged.
 * - Hardening fields without an ECI equivalent — `capabilities.drop`, `allowPrivilegeEscalation:
 *   false`, seccomp/AppArmor/SELinux profiles, pod `fsGroup`/`supplementalGroups` — are ignored
 *   with a warning. Refusing them would reject every pod written for the "restricted" Pod Security
 *   Standard (which requires `drop: [ALL]`), while ignoring them changes only what the container is
 *   *allowed* to do, not what it does. The warning says the hardening is not enforced.
 * - `procMount: Unmasked` is refused: the pod relies on something ECI does not give it.
 */
type SecurityFields = Pick<CreateContainerGroupRequestContainer, "SecurityContext" | "SecurityContextRunAsGroup" | "SecurityContextRunAsNonRoot">

export const translateSecurityContext = (
  c: V1Container,
  pod: V1PodSpec,
  kind: "containers" | "initContainers",
  field: string,
  problems: Problems
): SecurityFields => {
  const sc = c.securityContext
  const psc = pod.securityContext
  if (sc?.privileged === true) {
    problems.refuse("Privileged", `${field}.securityContext.privileged`, "privileged containers are not supported on ECI")
  }
  if (sc?.procMount !== undefined && sc.procMount !== "Default") {
    problems.refuse("UnsupportedField", `${field}.securityContext.procMount`, `procMount ${sc.procMount} is not supported on ECI`)
  }
  const ignored: Array<string> = []
  if ((sc?.capabilities?.drop ?? []).length > 0) ignored.push("capabilities.drop")
  if (sc?.allowPrivilegeEscalation === false) ignored.push("allowPrivilegeEscalation")
  if (sc?.seccompProfile !== undefined) ignored.push("seccompProfile")
  if (sc?.appArmorProfile !== undefined) ignored.push("appArmorProfile")
  if (sc?.seLinuxOptions !== undefined) ignored.push("seLinuxOptions")

  const runAsUser = sc?.runAsUser ?? psc?.runAsUser
  const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup
  const runAsNonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot
  // InitContainer has no RunAsGroup/RunAsNonRoot fields in the API (§1.2).
  if (kind === "initContainers") {
    if (runAsGroup !== undefined) ignored.push("runAsGroup")
    if (runAsNonRoot !== undefined) ignored.push("runAsNonRoot")
  }
  if (ignored.length > 0) {
    problems.warn("IgnoredField", `${field}.securityContext`,
      `ECI cannot enforce ${ignored.join(", ")}; the container runs without ${ignored.length === 1 ? "it" : "them"}`)
  }

  const add = sc?.capabilities?.add ?? []
  const inner = {
    ...opt("Capability", add.length > 0 ? { Add: add } : undefined),
    ...opt("ReadOnlyRootFilesystem", sc?.readOnlyRootFilesystem),
    ...opt("RunAsUser", runAsUser)
  }
  return {
    ...opt("SecurityContext", Object.keys(inner).length > 0 ? inner : undefined),
    ...(kind === "containers" ? { ...opt("SecurityContextRunAsGroup", runAsGroup), ...opt("SecurityContextRunAsNonRoot", runAsNonRoot) } : {})
  }
}

/** ECI accepts these sysctls (§5.6): `kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*`, `net.*` but tcp_syncookies, `vm.min_free_kbytes`. */
export const isAllowedSysctl = (name: string): boolean =>
  /^kernel\.shm/.test(name) ||
  /^kernel\.msg/.test(name) ||
  name === "kernel.sem" ||
  /^fs\.mqueue\./.test(name) ||
  (/^net\./.test(name) && name !== "net.ipv4.tcp_syncookies") ||
  name === "vm.min_free_kbytes"

/** Pod-level sysctls → `SecurityContext.Sysctl`; a sysctl ECI does not allow is refused. */
export const translateSysctls = (pod: V1PodSpec, problems: Problems): ReadonlyArray<CreateContainerGroupRequestSecurityContextSysctl> => {
  const out: Array<CreateContainerGroupRequestSecurityContextSysctl> = []
  ;(pod.securityContext?.sysctls ?? []).forEach((s, i) => {
    // Kubernetes also accepts "/" as the separator (net/ipv4/ip_forward).
    const name = s.name.includes("/") && !s.name.includes(".") ? s.name.replace(/\//g, ".") : s.name
    if (isAllowedSysctl(name)) out.push({ Name: name, Value: s.value })
    else problems.refuse("SysctlNotAllowed", `spec.securityContext.sysctls[${i}]`, `sysctl ${s.name} is not allowed on ECI`)
  })
  return out
}

/** Pod-level fields with no ECI equivalent that only restrict or decorate: warned about once. */
export const podSecurityWarnings = (pod: V1PodSpec, problems: Problems): void => {
  const psc = pod.securityContext
  const ignored: Array<string> = []
  if (psc?.fsGroup !== undefined) ignored.push("fsGroup")
  if ((psc?.supplementalGroups ?? []).length > 0) ignored.push("supplementalGroups")
  if (psc?.seccompProfile !== undefined) ignored.push("seccompProfile")
  if (psc?.appArmorProfile !== undefined) ignored.push("appArmorProfile")
  if (psc?.seLinuxOptions !== undefined) ignored.push("seLinuxOptions")
  if (pod.hostUsers === false) ignored.push("hostUsers")
  if (ignored.length > 0) {
    problems.warn("IgnoredField", "spec.securityContext", `ECI cannot apply ${ignored.join(", ")}; they are ignored`)
  }
}

