import type { V1Container, V1Pod } from "@kubernetes/client-node"
import { parseQuantity, type Exact } from "./quantity.ts"
import type { EciSpec } from "./specs.ts"

/**
 * Downward API values, computed as the kubelet does (pkg/fieldpath, pkg/api/v1/resource), shared by
 * env vars and downwardAPI/projected volume files.
 */

/**
 * Fields only known once the instance runs. On ECI the host IP is the pod IP (§5.5), so all four
 * are served by ECI's own `FieldRef` `status.podIP` — the only field path ECI resolves itself.
 */
export const RUNTIME_FIELDS: ReadonlySet<string> = new Set(["status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs"])

/** `k="v"` lines sorted by key, no trailing newline (fieldpath.FormatMap; `%q` ≈ JSON string). */
export const formatMap = (m: Readonly<Record<string, string>> | undefined): string =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m?.[k] ?? "")}`)
    .join("\n")

const subscripted = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/

/**
 * The value of a pod field known before the instance exists, or `undefined` for an unsupported path.
 * Runtime fields (`RUNTIME_FIELDS`) are not handled here.
 */
export const podFieldValue = (pod: V1Pod, fieldPath: string): string | undefined => {
  const meta = pod.metadata
  const sub = subscripted.exec(fieldPath)
  if (sub !== null) {
    const map = sub[1] === "metadata.labels" ? meta?.labels : meta?.annotations
    return map?.[sub[2] ?? ""] ?? ""
  }
  switch (fieldPath) {
    case "metadata.name":
      return meta?.name ?? ""
    case "metadata.namespace":
      return meta?.namespace ?? ""
    case "metadata.uid":
      return meta?.uid ?? ""
    case "metadata.labels":
      return formatMap(meta?.labels)
    case "metadata.annotations":
      return formatMap(meta?.annotations)
    case "spec.nodeName":
      return pod.spec?.nodeName ?? ""
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? ""
    default:
      return undefined
  }
}

/** What a container without a limit sees in `limits.*`: the node's allocatable, here the instance. */
export interface Allocatable {
  readonly spec: EciSpec
  readonly ephemeralGiB: number
}

const ceilDiv = (a: bigint, b: bigint): bigint => (b === 0n ? 0n : (a + b - 1n) / b)
const milli = (q: Exact): bigint => ceilDiv(q.num * 1000n, q.den)
const whole = (q: Exact): bigint => ceilDiv(q.num, q.den)

/**
 * `limits.cpu`, `requests.memory`, … of a container with an optional divisor, as a string
 * (ExtractContainerResourceValue: CPU is `ceil(milli / divisorMilli)`, other resources
 * `ceil(value / divisor)`). An unset limit defaults to the allocatable; an unset request to 0.
 * `undefined` for an unknown resource or an unparseable divisor.
 */
export const resourceFieldValue = (
  container: V1Container,
  resource: string,
  divisor: string | undefined,
  allocatable: Allocatable
): string | undefined => {
  const dot = resource.indexOf(".")
  const kind = resource.slice(0, dot)
  const name = resource.slice(dot + 1)
  if ((kind !== "limits" && kind !== "requests") || !["cpu", "memory", "ephemeral-storage"].includes(name)) return undefined
  const d = parseQuantity(divisor === undefined || divisor === "" || divisor === "0" ? "1" : divisor)
  if (d === undefined || d.num === 0n) return undefined
  const set = kind === "limits" ? container.resources?.limits?.[name] : container.resources?.requests?.[name]
  const fallback = kind === "requests"
    ? "0"
    : name === "cpu"
      ? String(allocatable.spec.cpu)
      : name === "memory"
        ? `${allocatable.spec.memory * 1024}Mi`
        : `${allocatable.ephemeralGiB}Gi`
  const q = parseQuantity(set ?? fallback)
  if (q === undefined) return undefined
  return String(name === "cpu" ? ceilDiv(milli(q), milli(d)) : ceilDiv(whole(q), whole(d)))
}
