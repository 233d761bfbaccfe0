import type { V1Container, V1Pod, V1Service } from "@kubernetes/client-node"
import type { CreateContainerGroupRequestContainerEnvironmentVar } from "../eci/api.generated.ts"
import { podFieldValue, resourceFieldValue, RUNTIME_FIELDS, type Allocatable } from "./downward.ts"
import { expand, references } from "./expansion.ts"
import type { Problems } from "./refusals.ts"
import type { ResolvedPod } from "./resolved.ts"

/**
 * A container's environment, built the way the kubelet builds it (kubelet_pods.go
 * makeEnvironmentVariables), so a pod sees the same variables on ECI as on any node:
 * 1. `envFrom` sources in order (a later source overrides an earlier key; `prefix` prepended);
 * 2. `env` in order: a literal value is `$(VAR)`-expanded against what is defined so far and the
 *    service variables; `valueFrom` is resolved (ConfigMap/Secret keys, downward API fields,
 *    resource fields); an optional reference to a missing object or key skips the variable;
 * 3. the service-link variables not already defined, sorted by name.
 * The kubelet hands the runtime a map; ECI takes a list, so we keep definition order (a redefined
 * name keeps its first position) to make requests deterministic and reviewable.
 *
 * `status.podIP`/`podIPs`/`hostIP`/`hostIPs` are unknown before the instance exists: they are sent
 * as ECI `FieldRef status.podIP`, which ECI resolves (the host IP is the pod IP on ECI, §5.5).
 */
export type EnvEntry =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly fieldRef: string }

export interface ContainerEnv {
  readonly entries: ReadonlyArray<EnvEntry>
  /** Name → value of the literal entries, for expanding command, args and subPathExpr. */
  readonly values: ReadonlyMap<string, string>
}

/** The kubelet's variable-name mangling for services (envvars.makeEnvVariableName). */
const envName = (s: string): string => s.replace(/-/g, "_").toUpperCase()

const joinHostPort = (host: string, port: number): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)

/**
 * The service-link variables (pkg/kubelet/envvars FromServices): `<NAME>_SERVICE_HOST`,
 * `<NAME>_SERVICE_PORT[_<PORT>]` and the Docker link variables, for services with a cluster IP.
 * `default/kubernetes` is always included; the namespace's services only with enableServiceLinks.
 */
export const serviceEnv = (pod: V1Pod, services: ReadonlyArray<V1Service>): ReadonlyMap<string, string> => {
  const ns = pod.metadata?.namespace ?? "default"
  const links = pod.spec?.enableServiceLinks !== false
  const chosen = new Map<string, V1Service>()
  for (const s of services) {
    const ip = s.spec?.clusterIP
    const name = s.metadata?.name
    if (ip === undefined || ip === "" || ip === "None" || name === undefined || (s.spec?.ports ?? []).length === 0) continue
    const isMaster = s.metadata?.namespace === "default" && name === "kubernetes"
    if (isMaster) {
      if (!chosen.has(name)) chosen.set(name, s)
    } else if (s.metadata?.namespace === ns && links) {
      chosen.set(name, s)
    }
  }
  const out = new Map<string, string>()
  for (const s of chosen.values()) {
    const prefix = envName(s.metadata?.name ?? "")
    const ip = s.spec?.clusterIP ?? ""
    const ports = s.spec?.ports ?? []
    out.set(`${prefix}_SERVICE_HOST`, ip)
    out.set(`${prefix}_SERVICE_PORT`, String(ports[0]?.port ?? ""))
    for (const p of ports) if (p.name) out.set(`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port))
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? "TCP").toLowerCase()
      const url = `${proto}://${joinHostPort(ip, p.port)}`
      if (i === 0) out.set(`${prefix}_PORT`, url)
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`
      out.set(pp, url)
      out.set(`${pp}_PROTO`, proto)
      out.set(`${pp}_PORT`, String(p.port))
      out.set(`${pp}_ADDR`, ip)
    })
  }
  return out
}

const decodeSecret = (b64: string): string => Buffer.from(b64, "base64").toString("utf8")

export const containerEnv = (
  resolved: ResolvedPod,
  container: V1Container,
  path: string,
  services: ReadonlyMap<string, string>,
  allocatable: Allocatable,
  problems: Problems
): ContainerEnv => {
  const { pod, configMaps, secrets } = resolved
  const order: Array<string> = []
  const defined = new Map<string, EnvEntry>()
  const set = (entry: EnvEntry) => {
    if (!defined.has(entry.name)) order.push(entry.name)
    defined.set(entry.name, entry)
  }
  const lookup = (name: string): string | undefined => {
    const e = defined.get(name)
    if (e !== undefined) return "value" in e ? e.value : undefined
    return services.get(name)
  }

  ;(container.envFrom ?? []).forEach((from, i) => {
    const field = `${path}.envFrom[${i}]`
    const prefix = from.prefix ?? ""
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? ""
      const cm = configMaps[name]
      if (cm === undefined) {
        if (from.configMapRef.optional !== true) problems.missing({ kind: "ConfigMap", name, field: `${field}.configMapRef` })
        return
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) set({ name: prefix + k, value: v })
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? ""
      const s = secrets[name]
      if (s === undefined) {
        if (from.secretRef.optional !== true) problems.missing({ kind: "Secret", name, field: `${field}.secretRef` })
        return
      }
      for (const [k, v] of Object.entries(s.data ?? {})) set({ name: prefix + k, value: decodeSecret(v) })
    }
  })

  ;(container.env ?? []).forEach((e, i) => {
    const field = `${path}.env[${i}]`
    const from = e.valueFrom
    if ((e.value ?? "") !== "" || from === undefined) {
      const raw = e.value ?? ""
      for (const [name, entry] of defined) {
        if ("fieldRef" in entry && references(raw, name)) {
          problems.warn("Approximated", `${field}.value`,
            `$(${name}) refers to ${entry.fieldRef}, which ECI resolves only when the instance starts; it is passed unexpanded`)
        }
      }
      set({ name: e.name, value: expand(raw, lookup) })
      return
    }
    if (from.fieldRef) {
      const fp = from.fieldRef.fieldPath
      if (RUNTIME_FIELDS.has(fp)) return set({ name: e.name, fieldRef: "status.podIP" })
      const v = podFieldValue(pod, fp)
      if (v === undefined) {
        problems.refuse("UnsupportedField", `${field}.valueFrom.fieldRef`, `field path ${fp} cannot be resolved for an ECI pod`)
        return
      }
      return set({ name: e.name, value: v })
    }
    if (from.resourceFieldRef) {
      const rf = from.resourceFieldRef
      const target = rf.containerName
        ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === rf.containerName)
        : container
      const v = target === undefined ? undefined : resourceFieldValue(target, rf.resource, rf.divisor, allocatable)
      if (v === undefined) {
        problems.refuse("UnsupportedField", `${field}.valueFrom.resourceFieldRef`, `resource ${rf.resource} cannot be resolved`)
        return
      }
      return set({ name: e.name, value: v })
    }
    if (from.configMapKeyRef) {
      const { name = "", key, optional } = from.configMapKeyRef
      const cm = configMaps[name]
      const v = cm?.data?.[key]
      if (v !== undefined) return set({ name: e.name, value: v })
      if (optional !== true) {
        problems.missing(cm === undefined
          ? { kind: "ConfigMap", name, field: `${field}.valueFrom.configMapKeyRef` }
          : { kind: "ConfigMap", name, key, field: `${field}.valueFrom.configMapKeyRef` })
      }
      return
    }
    if (from.secretKeyRef) {
      const { name = "", key, optional } = from.secretKeyRef
      const s = secrets[name]
      const v = s?.data?.[key]
      if (v !== undefined) return set({ name: e.name, value: decodeSecret(v) })
      if (optional !== true) {
        problems.missing(s === undefined
          ? { kind: "Secret", name, field: `${field}.valueFrom.secretKeyRef` }
          : { kind: "Secret", name, key, field: `${field}.valueFrom.secretKeyRef` })
      }
      return
    }
    problems.refuse("UnsupportedField", `${field}.valueFrom`, "this env source (e.g. fileKeyRef) has no ECI equivalent")
  })

  for (const name of [...services.keys()].sort()) {
    if (!defined.has(name)) set({ name, value: services.get(name) ?? "" })
  }

  const entries = order.map((n) => defined.get(n)).filter((e): e is EnvEntry => e !== undefined)
  const values = new Map<string, string>()
  for (const e of entries) if ("value" in e) values.set(e.name, e.value)
  return { entries, values }
}

export const toWireEnv = (entries: ReadonlyArray<EnvEntry>): ReadonlyArray<CreateContainerGroupRequestContainerEnvironmentVar> =>
  entries.map((e) => ("value" in e ? { Key: e.name, Value: e.value } : { Key: e.name, FieldRef: { FieldPath: e.fieldRef } }))
