import type { V1Pod } from "@kubernetes/client-node"
import type {
  CreateContainerGroupRequest,
  CreateContainerGroupRequestDnsConfigOption,
  CreateContainerGroupRequestHostAliase
} from "../eci/api.generated.ts"
import type { AnnotationOutcome } from "./annotations.ts"
import { opt, optList } from "./opt.ts"
import type { Problems } from "./refusals.ts"
import type { NodeContext } from "./resolved.ts"

/**
 * Name resolution and host names, as the kubelet's DNS configurer sets them up (pkg/kubelet/network/dns):
 * - `ClusterFirst` (the default; also `ClusterFirstWithHostNet`, since hostNetwork is refused):
 *   the cluster DNS servers, searches `<ns>.svc.<domain> svc.<domain> <domain>`, `ndots:5`, sent as
 *   ECI `DnsPolicy: None` + `DnsConfig`. Without a configured cluster DNS the kubelet falls back to
 *   `Default`, and so do we (with a warning).
 * - `Default`: ECI's own resolver (`DnsPolicy: Default`, the VPC DNS).
 * - `None`: exactly `spec.dnsConfig`.
 * - `spec.dnsConfig` is merged into ClusterFirst/Default as the kubelet does: nameservers and
 *   searches appended without duplicates, options overriding by name; at most 3 nameservers and 32
 *   search domains are kept. The `eci-custom-dnsconfig` annotation is merged last, the same way.
 * The kubelet also appends the node's own search domains to ClusterFirst; a virtual node has none.
 */
const MAX_NAMESERVERS = 3
const MAX_SEARCHES = 32

interface Dns {
  readonly nameServers: ReadonlyArray<string>
  readonly searches: ReadonlyArray<string>
  readonly options: ReadonlyArray<CreateContainerGroupRequestDnsConfigOption>
}

const unique = (xs: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(xs)]

const mergeOptions = (
  base: ReadonlyArray<CreateContainerGroupRequestDnsConfigOption>,
  extra: ReadonlyArray<CreateContainerGroupRequestDnsConfigOption>
): ReadonlyArray<CreateContainerGroupRequestDnsConfigOption> => {
  const byName = new Map<string, CreateContainerGroupRequestDnsConfigOption>()
  for (const o of [...base, ...extra]) byName.set(o.Name ?? "", o)
  return [...byName.values()]
}

const merge = (a: Dns, b: Dns): Dns => ({
  nameServers: unique([...a.nameServers, ...b.nameServers]),
  searches: unique([...a.searches, ...b.searches]),
  options: mergeOptions(a.options, b.options)
})

const podDnsConfig = (pod: V1Pod): Dns => ({
  nameServers: pod.spec?.dnsConfig?.nameservers ?? [],
  searches: pod.spec?.dnsConfig?.searches ?? [],
  options: (pod.spec?.dnsConfig?.options ?? []).map((o) => ({ Name: o.name ?? "", ...opt("Value", o.value) }))
})

export const translateDns = (
  pod: V1Pod,
  node: NodeContext,
  custom: AnnotationOutcome["customDns"],
  problems: Problems
): Pick<CreateContainerGroupRequest, "DnsPolicy" | "DnsConfig"> => {
  const ns = pod.metadata?.namespace ?? "default"
  const d = node.clusterDomain
  let policy = pod.spec?.dnsPolicy ?? "ClusterFirst"
  if ((policy === "ClusterFirst" || policy === "ClusterFirstWithHostNet") && node.clusterDns.length === 0) {
    problems.warn("Approximated", "spec.dnsPolicy", `no cluster DNS is configured; dnsPolicy ${policy} falls back to Default, as on a kubelet`)
    policy = "Default"
  }
  let dns: Dns
  let eciPolicy: "None" | "Default"
  switch (policy) {
    case "ClusterFirst":
    case "ClusterFirstWithHostNet":
      dns = merge({ nameServers: node.clusterDns, searches: [`${ns}.svc.${d}`, `svc.${d}`, d], options: [{ Name: "ndots", Value: "5" }] }, podDnsConfig(pod))
      eciPolicy = "None"
      break
    case "None":
      dns = podDnsConfig(pod)
      eciPolicy = "None"
      break
    default:
      dns = podDnsConfig(pod)
      eciPolicy = "Default"
  }
  if (custom !== undefined) dns = merge(dns, custom)
  if (dns.nameServers.length > MAX_NAMESERVERS) {
    problems.warn("Approximated", "spec.dnsConfig.nameservers",
      `only the first ${MAX_NAMESERVERS} of ${dns.nameServers.length} nameservers are used, as on a kubelet`)
    dns = { ...dns, nameServers: dns.nameServers.slice(0, MAX_NAMESERVERS) }
  }
  if (dns.searches.length > MAX_SEARCHES) dns = { ...dns, searches: dns.searches.slice(0, MAX_SEARCHES) }
  const hasConfig = dns.nameServers.length + dns.searches.length + dns.options.length > 0
  return {
    DnsPolicy: eciPolicy,
    ...opt("DnsConfig", hasConfig
      ? { ...optList("NameServer", dns.nameServers), ...optList("Search", dns.searches), ...optList("Option", dns.options) }
      : undefined)
  }
}

export const translateHostAliases = (
  pod: V1Pod,
  custom: ReadonlyArray<CreateContainerGroupRequestHostAliase>
): ReadonlyArray<CreateContainerGroupRequestHostAliase> => [
  ...(pod.spec?.hostAliases ?? []).map((h) => ({ Ip: h.ip, Hostname: h.hostnames ?? [] })),
  ...custom
]

/**
 * The container's hostname (kubelet GeneratePodHostnameAndDomain): `spec.hostname` or the pod name,
 * truncated to 63 characters without a trailing `-`/`.`; with `setHostnameAsFQDN` and a subdomain,
 * `<hostname>.<subdomain>.<ns>.svc.<domain>`. Set always, because ECI would otherwise use its own
 * name and StatefulSet members rely on `hostname` being `web-0`.
 */
export const podHostname = (pod: V1Pod, clusterDomain: string, problems: Problems): string => {
  const spec = pod.spec
  if (spec?.hostnameOverride) return spec.hostnameOverride
  const base = (spec?.hostname || pod.metadata?.name || "").slice(0, 63).replace(/[-.]+$/, "")
  if (spec?.setHostnameAsFQDN === true && spec.subdomain) {
    const fqdn = `${base}.${spec.subdomain}.${pod.metadata?.namespace ?? "default"}.svc.${clusterDomain}`
    if (fqdn.length > 64) {
      problems.refuse("UnsupportedField", "spec.setHostnameAsFQDN", `the FQDN ${fqdn} is longer than 64 characters (the kubelet refuses it too)`)
    }
    return fqdn
  }
  return base
}
