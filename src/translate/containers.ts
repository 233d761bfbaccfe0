import type { V1Container, V1VolumeMount } from "@kubernetes/client-node"
import type {
  CreateContainerGroupRequestContainer,
  CreateContainerGroupRequestContainerPort,
  CreateContainerGroupRequestContainerVolumeMount,
  CreateContainerGroupRequestInitContainer
} from "../eci/api.generated.ts"
import type { Allocatable } from "./downward.ts"
import { containerEnv, toWireEnv } from "./env.ts"
import { expand } from "./expansion.ts"
import { opt, optList } from "./opt.ts"
import { livenessWithStartup, translateLifecycle, translateProbe } from "./probes.ts"
import { milliCpu, units } from "./quantity.ts"
import type { Problems } from "./refusals.ts"
import type { ResolvedPod } from "./resolved.ts"
import { translateSecurityContext } from "./security.ts"
import { fromMilli, milliGiB } from "./specs.ts"

/**
 * One container or init container → its ECI struct (§1.2). ECI's `Command` is the entrypoint and
 * `Arg` the arguments, exactly Kubernetes' `command`/`args` (the old Go provider concatenated them,
 * losing the image's ENTRYPOINT when only args were given).
 *
 * Resources: a container's **limits** become its ECI `Cpu`/`Memory`/`Gpu` (ECI enforces them as a
 * cap, like a Kubernetes limit). A container with only requests gets no ECI amount and shares the
 * instance, which is sized from requests and limits together (specs.ts). `nvidia.com/gpu` is the
 * only extended resource ECI has.
 */
export const MAX_CONTAINERS = 20
/** ECI accepts at most 10 `Arg` entries per container (§1.2). */
export const MAX_ARGS = 10

export const GPU_RESOURCE = "nvidia.com/gpu"
const knownResources = new Set(["cpu", "memory", "ephemeral-storage", GPU_RESOURCE])

export interface ContainerContext {
  readonly resolved: ResolvedPod
  readonly allocatable: Allocatable
  readonly services: ReadonlyMap<string, string>
  readonly problems: Problems
}

const resources = (c: V1Container, field: string, problems: Problems): Pick<CreateContainerGroupRequestContainer, "Cpu" | "Memory" | "Gpu"> => {
  const r = c.resources
  for (const kind of ["limits", "requests"] as const) {
    for (const [name, value] of Object.entries(r?.[kind] ?? {})) {
      const at = `${field}.resources.${kind}[${name}]`
      if (!knownResources.has(name)) {
        problems.refuse("UnsupportedResource", at, `resource ${name} is not available on ECI (only cpu, memory, ephemeral-storage and ${GPU_RESOURCE})`)
      } else if ((name === "cpu" ? milliCpu(value) : units(value)) === undefined) {
        problems.refuse("InvalidQuantity", at, `"${value}" is not a valid quantity`)
      }
    }
  }
  const cpu = r?.limits?.["cpu"]
  const memory = r?.limits?.["memory"]
  const gpu = r?.limits?.[GPU_RESOURCE] ?? r?.requests?.[GPU_RESOURCE]
  const cpuMilli = cpu === undefined ? undefined : milliCpu(cpu)
  const memMilli = memory === undefined ? undefined : milliGiB(memory)
  const gpus = gpu === undefined ? undefined : units(gpu)
  return {
    ...opt("Cpu", cpuMilli === undefined || cpuMilli === 0 ? undefined : fromMilli(cpuMilli)),
    ...opt("Memory", memMilli === undefined || memMilli === 0 ? undefined : fromMilli(memMilli)),
    ...opt("Gpu", gpus === undefined || gpus === 0 ? undefined : gpus)
  }
}

const ports = (c: V1Container, field: string, problems: Problems): ReadonlyArray<CreateContainerGroupRequestContainerPort> =>
  (c.ports ?? []).map((p, i) => {
    // On ECI the host IP is the pod IP (§5.5), so a hostPort equal to the containerPort is already
    // what the pod gets; any other hostPort would need a port mapping ECI does not have.
    if (p.hostPort !== undefined && p.hostPort !== 0 && p.hostPort !== p.containerPort) {
      problems.refuse("HostPort", `${field}.ports[${i}].hostPort`,
        `hostPort ${p.hostPort} ≠ containerPort ${p.containerPort}: ECI cannot map host ports (the pod IP is the host IP)`)
    }
    return { Port: p.containerPort, ...opt("Protocol", p.protocol) }
  })

const mounts = (
  c: V1Container,
  values: ReadonlyMap<string, string>,
  field: string,
  problems: Problems
): ReadonlyArray<CreateContainerGroupRequestContainerVolumeMount> =>
  (c.volumeMounts ?? []).map((m: V1VolumeMount, i) => {
    if (m.recursiveReadOnly === "Enabled") {
      problems.warn("IgnoredField", `${field}.volumeMounts[${i}].recursiveReadOnly`, "ECI cannot make sub-mounts read-only; only the mount itself is")
    }
    const subPath = m.subPathExpr !== undefined && m.subPathExpr !== "" ? expand(m.subPathExpr, (n) => values.get(n) ?? "") : m.subPath
    return {
      Name: m.name,
      MountPath: m.mountPath,
      ...opt("SubPath", subPath === "" ? undefined : subPath),
      ...opt("ReadOnly", m.readOnly),
      ...opt("MountPropagation", m.mountPropagation)
    }
  })

/** Command and args after `$(VAR)` expansion; more than 10 args fold into Command when that is exact. */
const commandAndArgs = (
  c: V1Container,
  values: ReadonlyMap<string, string>,
  field: string,
  problems: Problems
): Pick<CreateContainerGroupRequestContainer, "Command" | "Arg"> => {
  const lookup = (n: string) => values.get(n)
  const command = c.command?.map((s) => expand(s, lookup))
  const args = c.args?.map((s) => expand(s, lookup))
  if (args !== undefined && args.length > MAX_ARGS) {
    // With an explicit command, `command ++ args` runs exactly the same process.
    if (command !== undefined && command.length > 0) return { Command: [...command, ...args] }
    problems.refuse("UnsupportedField", `${field}.args`,
      `ECI accepts at most ${MAX_ARGS} args and the container has ${args.length} with the image's entrypoint; set command to fold them in`)
  }
  return { ...optList("Command", command), ...optList("Arg", args) }
}

const refuseUnsupportedContainerFields = (c: V1Container, kind: "containers" | "initContainers", field: string, problems: Problems) => {
  if (kind === "initContainers" && c.restartPolicy === "Always") {
    problems.refuse("UnsupportedField", `${field}.restartPolicy`,
      "sidecar init containers (restartPolicy: Always) have no ECI equivalent: ECI runs init containers to completion")
  } else if (kind === "containers" && c.restartPolicy !== undefined) {
    problems.refuse("UnsupportedField", `${field}.restartPolicy`, "per-container restart policies have no ECI equivalent")
  }
  if ((c.restartPolicyRules ?? []).length > 0) {
    problems.refuse("UnsupportedField", `${field}.restartPolicyRules`, "container restart rules have no ECI equivalent")
  }
  if ((c.volumeDevices ?? []).length > 0) {
    problems.refuse("UnsupportedVolume", `${field}.volumeDevices`, "raw block devices are not supported on ECI")
  }
  if (c.image === undefined || c.image === "") {
    problems.refuse("UnsupportedField", `${field}.image`, "an image is required")
  }
}

/** The fields init and app containers share (InitContainer's type is a subset of Container's). */
const common = (
  ctx: ContainerContext,
  c: V1Container,
  kind: "containers" | "initContainers",
  index: number
): { readonly base: CreateContainerGroupRequestInitContainer; readonly field: string } => {
  const { problems } = ctx
  const field = `spec.${kind}[${index}]`
  refuseUnsupportedContainerFields(c, kind, field, problems)
  const env = containerEnv(ctx.resolved, c, field, ctx.services, ctx.allocatable, problems)
  const base: CreateContainerGroupRequestInitContainer = {
    Name: c.name,
    Image: c.image ?? "",
    ...opt("ImagePullPolicy", c.imagePullPolicy),
    ...commandAndArgs(c, env.values, field, problems),
    ...opt("WorkingDir", c.workingDir),
    ...optList("EnvironmentVar", toWireEnv(env.entries)),
    ...optList("Port", ports(c, field, problems)),
    ...resources(c, field, problems),
    ...optList("VolumeMount", mounts(c, env.values, field, problems)),
    ...translateSecurityContext(c, ctx.resolved.pod.spec ?? { containers: [] }, kind, field, problems),
    ...opt("TerminationMessagePath", c.terminationMessagePath),
    ...opt("TerminationMessagePolicy", c.terminationMessagePolicy)
  }
  return { base, field }
}

export const translateInitContainer = (ctx: ContainerContext, c: V1Container, index: number): CreateContainerGroupRequestInitContainer => {
  const { base, field } = common(ctx, c, "initContainers", index)
  // The API server forbids probes and hooks on (non-sidecar) init containers; stdin/tty are not
  // fields of ECI's InitContainer, and an init container waiting for stdin would never finish.
  if (c.stdin === true || c.tty === true) {
    ctx.problems.warn("IgnoredField", field, "ECI init containers have no stdin/tty; they are ignored")
  }
  return base
}

export const translateContainer = (ctx: ContainerContext, c: V1Container, index: number): CreateContainerGroupRequestContainer => {
  const { problems } = ctx
  const { base, field } = common(ctx, c, "containers", index)
  const liveness = c.livenessProbe && translateProbe(c.livenessProbe, c, `${field}.livenessProbe`, problems)
  const readiness = c.readinessProbe && translateProbe(c.readinessProbe, c, `${field}.readinessProbe`, problems)
  return {
    ...base,
    ...opt("LivenessProbe", livenessWithStartup(liveness, c.startupProbe, `${field}.startupProbe`, problems)),
    ...opt("ReadinessProbe", readiness),
    ...translateLifecycle(c.lifecycle, c, `${field}.lifecycle`, problems),
    ...opt("Stdin", c.stdin),
    ...opt("StdinOnce", c.stdinOnce),
    ...opt("Tty", c.tty)
  }
}
