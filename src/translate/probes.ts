import type { IntOrString, V1Container, V1Lifecycle, V1LifecycleHandler, V1Probe } from "@kubernetes/client-node"
import type { CreateContainerGroupRequestContainer, CreateContainerGroupRequestContainerLivenessProbe } from "../eci/api.generated.ts"
import { opt } from "./opt.ts"
import type { Problems } from "./refusals.ts"

/**
 * Probes and lifecycle hooks (§1.2: liveness/readiness with exactly one of exec/httpGet/tcpSocket;
 * hooks flattened into `Lifecycle{PostStart,PreStop}Handler*` fields).
 *
 * The rule for what ECI cannot express: we approximate only in the **lenient** direction — where
 * the approximation can make a pod live longer or look ready sooner than on a kubelet, never kill
 * it or keep it unready when the kubelet would not — and say so in a warning. Anything that could
 * make a probe fail where the kubelet's would succeed (an httpGet `host` or `httpHeaders`, a
 * tcpSocket `host`) is refused, because a liveness probe that always fails is a crash loop the
 * user would have to debug without a hint.
 *
 * - `startupProbe` (no ECI field): dropped; the liveness probe's `initialDelaySeconds` is raised
 *   to the startup probe's whole budget (`initialDelaySeconds + periodSeconds × failureThreshold`)
 *   so liveness cannot kill a slowly starting container early, which is what users use startup
 *   probes for. Lost: the kill when the container never starts within that budget.
 * - `grpc` probes: approximated by a tcpSocket probe on the same port (port open ⇒ healthy).
 * - a `sleep` preStop hook: `sleep <n>` through exec (needs a `sleep` binary in the image; a failing
 *   preStop hook does not stop termination, so the worst case is no delay). A `sleep` postStart
 *   hook is refused (a failing postStart hook kills the container).
 */

/** Kubernetes API defaults (the API server fills them in; repeated here for pods built by hand). */
const PERIOD_DEFAULT = 10
const FAILURE_DEFAULT = 3

/** A named port → its number from the container's ports; numbers pass through. */
export const resolvePort = (port: IntOrString, container: V1Container): number | undefined => {
  if (typeof port === "number") return port
  if (/^[0-9]+$/.test(port)) return Number(port)
  return container.ports?.find((p) => p.name === port)?.containerPort
}

type Probe = CreateContainerGroupRequestContainerLivenessProbe

export const translateProbe = (p: V1Probe, container: V1Container, field: string, problems: Problems): Probe | undefined => {
  const timing = {
    ...opt("InitialDelaySeconds", p.initialDelaySeconds),
    ...opt("PeriodSeconds", p.periodSeconds),
    ...opt("TimeoutSeconds", p.timeoutSeconds),
    ...opt("SuccessThreshold", p.successThreshold),
    ...opt("FailureThreshold", p.failureThreshold)
  }
  if (p.terminationGracePeriodSeconds !== undefined) {
    problems.warn("Approximated", `${field}.terminationGracePeriodSeconds`,
      "ECI has no per-probe grace period; the pod's terminationGracePeriodSeconds applies when the probe kills the container")
  }
  const port = (raw: IntOrString, at: string): number | undefined => {
    const n = resolvePort(raw, container)
    if (n === undefined) problems.refuse("UnsupportedProbe", at, `port ${String(raw)} is not a port of container ${container.name}`)
    return n
  }
  if (p.exec) return { ...timing, Exec: { Command: p.exec.command ?? [] } }
  if (p.httpGet) {
    const h = p.httpGet
    if (h.host !== undefined && h.host !== "") {
      problems.refuse("UnsupportedProbe", `${field}.httpGet.host`, "ECI probes always target the pod; httpGet.host has no equivalent")
      return undefined
    }
    if ((h.httpHeaders ?? []).length > 0) {
      problems.refuse("UnsupportedProbe", `${field}.httpGet.httpHeaders`, "ECI probes cannot send HTTP headers; without them the probe could fail")
      return undefined
    }
    const n = port(h.port, `${field}.httpGet.port`)
    if (n === undefined) return undefined
    return { ...timing, HttpGet: { ...opt("Path", h.path), Port: n, ...opt("Scheme", h.scheme) } }
  }
  if (p.tcpSocket) {
    if (p.tcpSocket.host !== undefined && p.tcpSocket.host !== "") {
      problems.refuse("UnsupportedProbe", `${field}.tcpSocket.host`, "ECI probes always target the pod; tcpSocket.host has no equivalent")
      return undefined
    }
    const n = port(p.tcpSocket.port, `${field}.tcpSocket.port`)
    return n === undefined ? undefined : { ...timing, TcpSocket: { Port: n } }
  }
  if (p.grpc) {
    problems.warn("Approximated", `${field}.grpc`,
      `ECI has no gRPC probe; it is approximated by a TCP check of port ${p.grpc.port} (the health service's status is not checked)`)
    return { ...timing, TcpSocket: { Port: p.grpc.port } }
  }
  problems.refuse("UnsupportedProbe", field, "the probe has no handler ECI supports (exec, httpGet, tcpSocket)")
  return undefined
}

/** The liveness probe with the startup probe folded into its initial delay (see above). */
export const livenessWithStartup = (
  liveness: Probe | undefined,
  startup: V1Probe | undefined,
  field: string,
  problems: Problems
): Probe | undefined => {
  if (startup === undefined) return liveness
  const budget = (startup.initialDelaySeconds ?? 0) + (startup.periodSeconds ?? PERIOD_DEFAULT) * (startup.failureThreshold ?? FAILURE_DEFAULT)
  problems.warn("Approximated", field, liveness === undefined
    ? "ECI has no startup probe; it is dropped (the container is not restarted if it never starts)"
    : `ECI has no startup probe; the liveness probe starts after the startup probe's budget of ${budget}s instead`)
  if (liveness === undefined) return undefined
  return { ...liveness, InitialDelaySeconds: Math.max(liveness.InitialDelaySeconds ?? 0, budget) }
}

type Hooks = Pick<CreateContainerGroupRequestContainer,
  | "LifecyclePostStartHandlerExec" | "LifecyclePostStartHandlerHttpGetHost" | "LifecyclePostStartHandlerHttpGetHttpHeader"
  | "LifecyclePostStartHandlerHttpGetPath" | "LifecyclePostStartHandlerHttpGetPort" | "LifecyclePostStartHandlerHttpGetScheme"
  | "LifecyclePostStartHandlerTcpSocketHost" | "LifecyclePostStartHandlerTcpSocketPort"
  | "LifecyclePreStopHandlerExec" | "LifecyclePreStopHandlerHttpGetHost" | "LifecyclePreStopHandlerHttpGetHttpHeader"
  | "LifecyclePreStopHandlerHttpGetPath" | "LifecyclePreStopHandlerHttpGetPort" | "LifecyclePreStopHandlerHttpGetScheme"
  | "LifecyclePreStopHandlerTcpSocketHost" | "LifecyclePreStopHandlerTcpSocketPort">

const hook = (
  h: V1LifecycleHandler,
  which: "PostStart" | "PreStop",
  container: V1Container,
  field: string,
  problems: Problems
): Hooks => {
  const prefix = `Lifecycle${which}Handler` as const
  if (h.exec) return { [`${prefix}Exec`]: h.exec.command ?? [] }
  if (h.httpGet) {
    const g = h.httpGet
    const port = resolvePort(g.port, container)
    if (port === undefined) {
      problems.refuse("UnsupportedField", `${field}.httpGet.port`, `port ${String(g.port)} is not a port of container ${container.name}`)
      return {}
    }
    return {
      [`${prefix}HttpGetPort`]: port,
      ...opt(`${prefix}HttpGetHost`, g.host === "" ? undefined : g.host),
      ...opt(`${prefix}HttpGetPath`, g.path),
      ...opt(`${prefix}HttpGetScheme`, g.scheme),
      ...opt(`${prefix}HttpGetHttpHeader`, g.httpHeaders?.length ? g.httpHeaders.map((x) => ({ Name: x.name, Value: x.value })) : undefined)
    }
  }
  if (h.tcpSocket) {
    const port = resolvePort(h.tcpSocket.port, container)
    if (port === undefined) {
      problems.refuse("UnsupportedField", `${field}.tcpSocket.port`, `port ${String(h.tcpSocket.port)} is not a port of container ${container.name}`)
      return {}
    }
    return { [`${prefix}TcpSocketPort`]: port, ...opt(`${prefix}TcpSocketHost`, h.tcpSocket.host === "" ? undefined : h.tcpSocket.host) }
  }
  if (h.sleep) {
    if (which === "PostStart") {
      problems.refuse("UnsupportedField", `${field}.sleep`, "ECI has no sleep hook, and an exec stand-in that fails would kill the container")
      return {}
    }
    problems.warn("Approximated", `${field}.sleep`, `ECI has no sleep hook; it runs "sleep ${h.sleep.seconds}" in the container instead`)
    return { [`${prefix}Exec`]: ["sleep", String(h.sleep.seconds)] }
  }
  problems.refuse("UnsupportedField", field, "the hook has no handler ECI supports")
  return {}
}

export const translateLifecycle = (l: V1Lifecycle | undefined, container: V1Container, field: string, problems: Problems): Hooks => {
  if (l === undefined) return {}
  if (l.stopSignal !== undefined) {
    problems.warn("IgnoredField", `${field}.stopSignal`, "ECI has no stop signal setting; the image's STOPSIGNAL applies")
  }
  return {
    ...(l.postStart ? hook(l.postStart, "PostStart", container, `${field}.postStart`, problems) : {}),
    ...(l.preStop ? hook(l.preStop, "PreStop", container, `${field}.preStop`, problems) : {})
  }
}
