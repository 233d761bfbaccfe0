import type {
  CreateContainerGroupRequest,
  CreateContainerGroupRequestAcrRegistryInfo,
  CreateContainerGroupRequestDnsConfigOption,
  CreateContainerGroupRequestHostAliase,
  CreateContainerGroupRequestTag
} from "../eci/api.generated.ts"
import { ceilScaled, parseQuantity } from "./quantity.ts"
import type { Problems } from "./refusals.ts"
import type { EciSpec } from "./specs.ts"

/**
 * The `k8s.aliyun.com/*` pod annotations users of ack-virtual-node already write (§5.4), read once at
 * creation like ack-virtual-node does. Each supported annotation maps to a CreateContainerGroup
 * parameter that exists in SDK 2.0.3; a value that does not parse is a refusal (the user asked for
 * something specific, silently dropping it would run the pod differently). Annotations whose
 * parameter exists only in newer APIs are reported as warnings so the controller emits an Event.
 */

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
export type AnnotationRequestFields = Partial<Mutable<CreateContainerGroupRequest>>

/** The part of the annotations that `podToEci` merges with what the pod spec says. */
export interface AnnotationOutcome {
  /** Fields set directly from annotations. */
  readonly fields: AnnotationRequestFields
  /** `eci-use-specs` (and the legacy `eci-instance-type`), in the user's order. */
  readonly useSpecs: { readonly specs: ReadonlyArray<EciSpec>; readonly instanceTypes: ReadonlyArray<string> }
  readonly extraEphemeralGiB?: number
  readonly customHosts: ReadonlyArray<CreateContainerGroupRequestHostAliase>
  readonly customTags: ReadonlyArray<CreateContainerGroupRequestTag>
  readonly customDns?: {
    readonly nameServers: ReadonlyArray<string>
    readonly searches: ReadonlyArray<string>
    readonly options: ReadonlyArray<CreateContainerGroupRequestDnsConfigOption>
  }
}

const P = "k8s.aliyun.com/"

/** Supported input annotations → the CreateContainerGroup parameter(s) they set (for the README). */
export const SUPPORTED_ANNOTATIONS: Readonly<Record<string, string>> = {
  [`${P}eci-vswitch`]: "VSwitchId (comma list, ≤10; multi-zone)",
  [`${P}eci-schedule-strategy`]: "ScheduleStrategy (VSwitchOrdered | VSwitchRandom)",
  [`${P}eci-security-group`]: "SecurityGroupId",
  [`${P}eci-use-specs`]: "Cpu/Memory (first `<cpu>-<mem>Gi` spec) or InstanceType (the `ecs.*` types, in order)",
  [`${P}eci-instance-type`]: "InstanceType (legacy form of eci-use-specs)",
  [`${P}eci-cpu-option-core`]: "CpuOptionsCore",
  [`${P}eci-cpu-option-ht`]: "CpuOptionsThreadsPerCore",
  [`${P}eci-spot-strategy`]: "SpotStrategy (SpotAsPriceGo | SpotWithPriceLimit | NoSpot)",
  [`${P}eci-spot-price-limit`]: "SpotPriceLimit (required with SpotWithPriceLimit)",
  [`${P}eci-spot-duration`]: "SpotDuration (hours)",
  [`${P}eci-custom-hosts`]: "HostAliase (appended to spec.hostAliases)",
  [`${P}eci-custom-tags`]: "Tag (≤3, added to the identity tags)",
  [`${P}eci-ram-role-name`]: "RamRoleName",
  [`${P}eci-resource-group-id`]: "ResourceGroupId",
  [`${P}eci-auto-imc`]: "AutoMatchImageCache",
  [`${P}eci-image-cache`]: "AutoMatchImageCache (legacy name)",
  [`${P}eci-imc-id`]: "ImageSnapshotId",
  [`${P}eci-image-snapshot-id`]: "ImageSnapshotId (legacy name)",
  [`${P}acr-instance-ids`]: "AcrRegistryInfo (InstanceId, RegionId)",
  [`${P}acr-instance-id`]: "AcrRegistryInfo (legacy name)",
  [`${P}acr-service-arns`]: "AcrRegistryInfo.ArnService",
  [`${P}acr-user-arns`]: "AcrRegistryInfo.ArnUser",
  [`${P}plain-http-registry`]: "PlainHttpRegistry",
  [`${P}insecure-registry`]: "InsecureRegistry",
  [`${P}eci-data-cache-bucket`]: "DataCacheBucket",
  [`${P}eci-data-cache-pl`]: "DataCachePL",
  [`${P}eci-data-cache-provisionedIops`]: "DataCacheProvisionedIops",
  [`${P}eci-data-cache-burstingEnabled`]: "DataCacheBurstingEnabled",
  [`${P}eci-with-eip`]: "AutoCreateEip",
  [`${P}eip-bandwidth`]: "EipBandwidth (Mbit/s)",
  [`${P}eci-eip-instanceid`]: "EipInstanceId",
  [`${P}eip-common-bandwidth-package-id`]: "EipCommonBandwidthPackage",
  [`${P}eip-isp`]: "EipISP (BGP | BGP_PRO)",
  [`${P}eci-enable-ipv6`]: "Ipv6AddressCount = 1",
  [`${P}eci-ipv6-bandwidth-enable`]: "Ipv6GatewayBandwidthEnable",
  [`${P}eci-ipv6-bandwidth`]: "Ipv6GatewayBandwidth",
  [`${P}eci-private-ip-address`]: "PrivateIpAddress",
  [`${P}eci-fixed-ip`]: "FixedIp",
  [`${P}eci-fixed-ip-retain-hour`]: "FixedIpRetainHour",
  ["kubernetes.io/ingress-bandwidth"]: "IngressBandwidth (quantity → bit/s)",
  ["kubernetes.io/egress-bandwidth"]: "EgressBandwidth (quantity → bit/s)",
  [`${P}eci-custom-dnsconfig`]: "DnsConfig (merged after the pod's own DNS settings)",
  [`${P}eci-extra-ephemeral-storage`]: "EphemeralStorage (GiB, rounded up)",
  [`${P}eci-ntp-server`]: "NtpServer",
  [`${P}eci-core-pattern`]: "CorePattern"
}

/** Input annotations (§5.4) without a parameter in SDK 2.0.3: ignored with a warning Event. */
export const UNSUPPORTED_ANNOTATIONS: Readonly<Record<string, string>> = {
  [`${P}eci-instance-family`]: "no InstanceFamily parameter in SDK 2.0.3",
  [`${P}eci-instance-generation`]: "no InstanceGeneration parameter in SDK 2.0.3",
  [`${P}eci-compute-category`]: "ComputeCategory exists only in newer API versions",
  [`${P}eci-gpu-driver-version`]: "GpuDriverVersion exists only in newer API versions",
  [`${P}eci-spot-fallback`]: "no fallback parameter in SDK 2.0.3 (StrictSpot's meaning is undocumented)",
  [`${P}eci-privatepool-matchcriteria`]: "no private pool parameters in SDK 2.0.3",
  [`${P}eci-privatepool-id`]: "no private pool parameters in SDK 2.0.3",
  [`${P}eci-max-pending-minute`]: "MaxPendingMinute exists only in newer API versions",
  [`${P}imc-perfect-match`]: "image cache matching options are not CreateContainerGroup parameters",
  [`${P}imc-match-count-request`]: "image cache matching options are not CreateContainerGroup parameters",
  [`${P}eip-internet-charge-type`]: "no EIP charge type parameter in SDK 2.0.3",
  [`${P}eip-public-ip-address-pool-id`]: "no EIP address pool parameter in SDK 2.0.3",
  [`${P}eci-ephemeral-storage-options`]: "no ephemeral storage options parameter in SDK 2.0.3",
  [`${P}eci-eviction-enable`]: "no eviction parameter in SDK 2.0.3",
  [`${P}eci-sls-enable`]: "SLS log collection is configured outside CreateContainerGroup"
}

/**
 * Input annotations that steer the controller rather than the request (§5.4 failure handling, spot
 * release). The translator does not read them; the controller owns them (and must say so in an
 * Event if it does not implement one).
 */
export const CONTROLLER_ANNOTATIONS: Readonly<Record<string, string>> = {
  [`${P}eci-fail-strategy`]: "what to do when creation fails (fail-back | fail-over | fail-fast)",
  [`${P}pod-fail-on-create-err`]: "mark the pod Failed instead of Pending after create retries",
  [`${P}eci-reschedule-enable`]: "reschedule on failure",
  [`${P}eci-spot-release-strategy`]: "api-evict: evict the pod on SpotToBeReleased",
  [`${P}eci-image-cache-name`]: "an ImageCache resource whose cache the pod starts from (its ImageSnapshotId)"
}

/** Annotations the virtual node writes back (§5.5); never warned about as unknown input. */
export const OUTPUT_ANNOTATIONS: ReadonlyArray<string> = [
  "eci-request-id", "eci-instance-id", "eci-instance-spec", "eci-instance-compute-category", "allocated-eipInstanceId",
  "allocated-eipAddress", "allocated-ipv6Address", "eci-created-by-template", "eni-instance-id", "eci-vpc",
  "eci-matched-image-cache", "eci-schedule-result", "eci-client-token", "cluster-dns", "cluster-domain",
  "eci-instance-cpu", "eci-instance-mem", "eci-instance-zone", "eci-kube-proxy-enabled",
  "eci-drop-apiserver-interactive-caps", "k8s-version", "vk-version", "eci-platform-version"
].map((k) => `${P}${k}`)

const field = (key: string) => `metadata.annotations[${key}]`

type Parsed<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly reason: string }
const ok = <A>(value: A): Parsed<A> => ({ ok: true, value })
const bad = (reason: string): Parsed<never> => ({ ok: false, reason })

const parseBool = (v: string): Parsed<boolean> => {
  const t = v.trim().toLowerCase()
  return t === "true" ? ok(true) : t === "false" ? ok(false) : bad(`"${v}" is not "true" or "false"`)
}

const parseInt = (v: string, min: number, max: number): Parsed<number> => {
  const t = v.trim()
  if (!/^[0-9]+$/.test(t)) return bad(`"${v}" is not a whole number`)
  const n = Number(t)
  return n < min || n > max ? bad(`${n} is outside ${min}..${max}`) : ok(n)
}

const parseEnum = (v: string, values: ReadonlyArray<string>): Parsed<string> =>
  values.includes(v.trim()) ? ok(v.trim()) : bad(`"${v}" is not one of ${values.join(", ")}`)

const parseList = (v: string, max: number): Parsed<ReadonlyArray<string>> => {
  const items = v.split(",").map((x) => x.trim()).filter((x) => x !== "")
  if (items.length === 0) return bad("is empty")
  return items.length > max ? bad(`lists ${items.length} items; at most ${max} are allowed`) : ok(items)
}

const parseString = (v: string): Parsed<string> => (v.trim() === "" ? bad("is empty") : ok(v.trim()))

/** `"0.5"`: a positive price with at most 3 decimals (the API's precision). */
const parsePrice = (v: string): Parsed<number> =>
  /^[0-9]+(\.[0-9]{1,3})?$/.test(v.trim()) && Number(v) > 0 ? ok(Number(v)) : bad(`"${v}" is not a positive price with at most 3 decimals`)

/** `40M` → 40 000 000 bit/s; the kubelet's bandwidth plugin reads these annotations as quantities. */
const parseBandwidth = (v: string): Parsed<number> => {
  const q = parseQuantity(v)
  if (q === undefined || q.num === 0n) return bad(`"${v}" is not a positive quantity such as 40M`)
  return ok(ceilScaled(q))
}

/** `50Gi` → 50; rounded up to whole GiB (the parameter's unit), never down. */
const parseGiB = (v: string): Parsed<number> => {
  const q = parseQuantity(v)
  if (q === undefined) return bad(`"${v}" is not a quantity such as 50Gi`)
  return ok(ceilScaled(q, 1n, { num: 1024n ** 3n, den: 1n }))
}

const ipv4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/

const fuzzySpec = /^([0-9]+(?:\.[0-9]+)?)-([0-9]+(?:\.[0-9]+)?)Gi$/

const parseUseSpecs = (v: string): Parsed<{ specs: ReadonlyArray<EciSpec>; instanceTypes: ReadonlyArray<string> }> => {
  const items = parseList(v, 5)
  if (!items.ok) return items
  const specs: Array<EciSpec> = []
  const instanceTypes: Array<string> = []
  for (const item of items.value) {
    const m = fuzzySpec.exec(item)
    if (m !== null) specs.push({ cpu: Number(m[1]), memory: Number(m[2]) })
    else if (/^ecs\.[a-z0-9.-]+$/.test(item)) instanceTypes.push(item)
    else return bad(`"${item}" is neither a <cpu>-<memory>Gi spec such as 2-4Gi nor an ECS instance type such as ecs.c6.xlarge`)
  }
  return ok({ specs, instanceTypes })
}

/** Tag rules of CreateContainerGroup (§1.2): key ≤64, value ≤128, no `acs:`/`aliyun` prefix, no URLs. */
export const tagProblem = (key: string, value: string): string | undefined => {
  if (key === "" || key.length > 64) return `tag key "${key}" must have 1 to 64 characters`
  if (/^(acs:|aliyun)/i.test(key)) return `tag key "${key}" must not start with acs: or aliyun`
  if (/https?:\/\//i.test(key) || /https?:\/\//i.test(value)) return `tag "${key}" must not contain http:// or https://`
  if (value.length > 128) return `tag value of "${key}" must have at most 128 characters`
  return undefined
}

const parseCustomTags = (v: string): Parsed<ReadonlyArray<CreateContainerGroupRequestTag>> => {
  const items = parseList(v, 3)
  if (!items.ok) return items
  const tags: Array<CreateContainerGroupRequestTag> = []
  for (const item of items.value) {
    const at = item.indexOf(":")
    if (at <= 0) return bad(`"${item}" is not key:value`)
    const key = item.slice(0, at).trim()
    const value = item.slice(at + 1).trim()
    const problem = tagProblem(key, value)
    if (problem !== undefined) return bad(problem)
    tags.push({ Key: key, Value: value })
  }
  return ok(tags)
}

const parseJson = (v: string): Parsed<unknown> => {
  try {
    return ok(JSON.parse(v) as unknown)
  } catch {
    return bad("is not valid JSON")
  }
}

/** `[{"host":"example.com","ip":"100.100.1.1"}]`; `host` may list several names separated by commas. */
const parseCustomHosts = (v: string): Parsed<ReadonlyArray<CreateContainerGroupRequestHostAliase>> => {
  const json = parseJson(v)
  if (!json.ok) return json
  if (!Array.isArray(json.value)) return bad(`must be a JSON array of {"host", "ip"}`)
  const out: Array<CreateContainerGroupRequestHostAliase> = []
  for (const entry of json.value as ReadonlyArray<unknown>) {
    const e = entry as { host?: unknown; ip?: unknown }
    if (typeof e?.host !== "string" || typeof e?.ip !== "string" || e.host.trim() === "" || e.ip.trim() === "") {
      return bad(`every entry needs string "host" and "ip"`)
    }
    out.push({ Ip: e.ip.trim(), Hostname: e.host.split(",").map((h) => h.trim()).filter((h) => h !== "") })
  }
  return ok(out)
}

const listOf = (x: unknown): ReadonlyArray<string> | undefined => {
  if (x === undefined) return []
  if (typeof x === "string") return x.split(",").map((s) => s.trim()).filter((s) => s !== "")
  if (Array.isArray(x) && x.every((s) => typeof s === "string")) return x.map((s: string) => s.trim()).filter((s) => s !== "")
  return undefined
}

/** `{"nameservers":"a,b","searches":"x,y","options":"ndots:2,edns0"}` (strings or arrays). */
const parseCustomDns = (v: string): Parsed<NonNullable<AnnotationOutcome["customDns"]>> => {
  const json = parseJson(v)
  if (!json.ok) return json
  const o = json.value as { nameservers?: unknown; searches?: unknown; options?: unknown } | null
  if (o === null || typeof o !== "object" || Array.isArray(o)) return bad("must be a JSON object")
  const nameServers = listOf(o.nameservers)
  const searches = listOf(o.searches)
  const opts = listOf(o.options)
  if (nameServers === undefined || searches === undefined || opts === undefined) {
    return bad("nameservers, searches and options must be comma-separated strings or string arrays")
  }
  const options = opts.map((opt): CreateContainerGroupRequestDnsConfigOption => {
    const at = opt.indexOf(":")
    return at < 0 ? { Name: opt } : { Name: opt.slice(0, at), Value: opt.slice(at + 1) }
  })
  return ok({ nameServers, searches, options })
}

/** `cri-xxx` or `cn-beijing:cri-xxx` (an instance in another region). */
const parseAcrInstances = (v: string): Parsed<ReadonlyArray<CreateContainerGroupRequestAcrRegistryInfo>> => {
  const items = parseList(v, 20)
  if (!items.ok) return items
  return ok(items.value.map((item) => {
    const at = item.indexOf(":")
    return at < 0 ? { InstanceId: item } : { RegionId: item.slice(0, at), InstanceId: item.slice(at + 1) }
  }))
}

/**
 * Reads every annotation. Refusals name the annotation; unsupported and unknown
 * `k8s.aliyun.com/eci-*` keys become warnings.
 */
export const parseAnnotations = (annotations: Readonly<Record<string, string>>, problems: Problems): AnnotationOutcome => {
  const fields: AnnotationRequestFields = {}
  let useSpecs: AnnotationOutcome["useSpecs"] = { specs: [], instanceTypes: [] }
  let extraEphemeralGiB: number | undefined
  let customHosts: ReadonlyArray<CreateContainerGroupRequestHostAliase> = []
  let customTags: ReadonlyArray<CreateContainerGroupRequestTag> = []
  let customDns: AnnotationOutcome["customDns"]
  let acr: ReadonlyArray<CreateContainerGroupRequestAcrRegistryInfo> = []

  const read = <A>(key: string, parse: (v: string) => Parsed<A>, apply: (a: A) => void): void => {
    const raw = annotations[key]
    if (raw === undefined) return
    const parsed = parse(raw)
    if (parsed.ok) apply(parsed.value)
    else problems.refuse("InvalidAnnotation", field(key), `${key} ${parsed.reason}`)
  }
  const a = (name: string) => `${P}${name}`

  read(a("eci-vswitch"), (v) => parseList(v, 10), (l) => (fields.VSwitchId = l.join(",")))
  read(a("eci-schedule-strategy"), (v) => parseEnum(v, ["VSwitchOrdered", "VSwitchRandom"]), (s) => (fields.ScheduleStrategy = s))
  read(a("eci-security-group"), parseString, (s) => (fields.SecurityGroupId = s))
  read(a("eci-use-specs"), parseUseSpecs, (s) => (useSpecs = s))
  read(a("eci-instance-type"), (v) => parseList(v, 5), (types) => {
    useSpecs = { specs: useSpecs.specs, instanceTypes: [...useSpecs.instanceTypes, ...types] }
  })
  read(a("eci-cpu-option-core"), (v) => parseInt(v, 1, 256), (n) => (fields.CpuOptionsCore = n))
  read(a("eci-cpu-option-ht"), (v) => parseInt(v, 1, 2), (n) => (fields.CpuOptionsThreadsPerCore = n))
  read(a("eci-spot-strategy"), (v) => parseEnum(v, ["NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"]), (s) => (fields.SpotStrategy = s))
  read(a("eci-spot-price-limit"), parsePrice, (n) => (fields.SpotPriceLimit = n))
  read(a("eci-spot-duration"), (v) => parseInt(v, 0, 6), (n) => (fields.SpotDuration = n))
  if (fields.SpotStrategy === "SpotWithPriceLimit" && fields.SpotPriceLimit === undefined) {
    problems.refuse("InvalidAnnotation", field(a("eci-spot-price-limit")),
      `${a("eci-spot-strategy")}=SpotWithPriceLimit needs ${a("eci-spot-price-limit")}`)
  }
  read(a("eci-custom-hosts"), parseCustomHosts, (h) => (customHosts = h))
  read(a("eci-custom-tags"), parseCustomTags, (t) => (customTags = t))
  read(a("eci-ram-role-name"), parseString, (s) => (fields.RamRoleName = s))
  read(a("eci-resource-group-id"), parseString, (s) => (fields.ResourceGroupId = s))
  // The newer names win over the legacy ones when both are present.
  read(a("eci-image-cache"), parseBool, (b) => (fields.AutoMatchImageCache = b))
  read(a("eci-auto-imc"), parseBool, (b) => (fields.AutoMatchImageCache = b))
  read(a("eci-image-snapshot-id"), parseString, (s) => (fields.ImageSnapshotId = s))
  read(a("eci-imc-id"), parseString, (s) => (fields.ImageSnapshotId = s))
  read(a("acr-instance-id"), parseAcrInstances, (l) => (acr = l))
  read(a("acr-instance-ids"), parseAcrInstances, (l) => (acr = l))
  read(a("acr-service-arns"), parseString, (s) => (acr = acr.map((x) => ({ ...x, ArnService: s }))))
  read(a("acr-user-arns"), parseString, (s) => (acr = acr.map((x) => ({ ...x, ArnUser: s }))))
  if (acr.length > 0) fields.AcrRegistryInfo = acr
  else if (annotations[a("acr-service-arns")] !== undefined || annotations[a("acr-user-arns")] !== undefined) {
    problems.warn("IgnoredField", field(a("acr-service-arns")), `ACR role ARNs apply to ${a("acr-instance-ids")}, which is not set`)
  }
  read(a("plain-http-registry"), parseString, (s) => (fields.PlainHttpRegistry = s))
  read(a("insecure-registry"), parseString, (s) => (fields.InsecureRegistry = s))
  read(a("eci-data-cache-bucket"), parseString, (s) => (fields.DataCacheBucket = s))
  read(a("eci-data-cache-pl"), (v) => parseEnum(v, ["PL0", "PL1", "PL2", "PL3"]), (s) => (fields.DataCachePL = s))
  read(a("eci-data-cache-provisionedIops"), (v) => parseInt(v, 0, 1_000_000), (n) => (fields.DataCacheProvisionedIops = n))
  read(a("eci-data-cache-burstingEnabled"), parseBool, (b) => (fields.DataCacheBurstingEnabled = b))
  read(a("eci-with-eip"), parseBool, (b) => (fields.AutoCreateEip = b))
  read(a("eip-bandwidth"), (v) => parseInt(v, 1, 100_000), (n) => (fields.EipBandwidth = n))
  read(a("eci-eip-instanceid"), parseString, (s) => (fields.EipInstanceId = s))
  read(a("eip-common-bandwidth-package-id"), parseString, (s) => (fields.EipCommonBandwidthPackage = s))
  read(a("eip-isp"), (v) => parseEnum(v, ["BGP", "BGP_PRO"]), (s) => (fields.EipISP = s))
  read(a("eci-enable-ipv6"), parseBool, (b) => {
    if (b) fields.Ipv6AddressCount = 1
  })
  read(a("eci-ipv6-bandwidth-enable"), parseBool, (b) => (fields.Ipv6GatewayBandwidthEnable = b))
  read(a("eci-ipv6-bandwidth"), (v) => (/^[0-9]+[KMG]?$/.test(v.trim()) ? ok(v.trim()) : bad(`"${v}" is not a bandwidth such as 100M`)),
    (s) => (fields.Ipv6GatewayBandwidth = s))
  read(a("eci-private-ip-address"), (v) => (ipv4.test(v.trim()) ? ok(v.trim()) : bad(`"${v}" is not an IPv4 address`)),
    (s) => (fields.PrivateIpAddress = s))
  read(a("eci-fixed-ip"), parseBool, (b) => (fields.FixedIp = String(b)))
  read(a("eci-fixed-ip-retain-hour"), (v) => parseInt(v, 0, 100_000), (n) => (fields.FixedIpRetainHour = n))
  read("kubernetes.io/ingress-bandwidth", parseBandwidth, (n) => (fields.IngressBandwidth = n))
  read("kubernetes.io/egress-bandwidth", parseBandwidth, (n) => (fields.EgressBandwidth = n))
  read(a("eci-custom-dnsconfig"), parseCustomDns, (d) => (customDns = d))
  read(a("eci-extra-ephemeral-storage"), parseGiB, (n) => (extraEphemeralGiB = n))
  read(a("eci-ntp-server"), (v) => parseList(v, 10), (l) => (fields.NtpServer = l))
  read(a("eci-core-pattern"), (v) => (v.trim().startsWith("|") ? bad("must not start with | (piping core dumps is not allowed)") : parseString(v)),
    (s) => (fields.CorePattern = s))

  for (const key of Object.keys(annotations).sort()) {
    const why = UNSUPPORTED_ANNOTATIONS[key]
    if (why !== undefined) {
      problems.warn("UnsupportedAnnotation", field(key), `${key} is not supported and is ignored: ${why}`)
    } else if (
      key.startsWith(`${P}eci-`) && !(key in SUPPORTED_ANNOTATIONS) && !(key in CONTROLLER_ANNOTATIONS) && !OUTPUT_ANNOTATIONS.includes(key)
    ) {
      problems.warn("UnknownAnnotation", field(key), `${key} is not an annotation this virtual node knows; it is ignored`)
    }
  }

  return {
    fields,
    useSpecs,
    ...(extraEphemeralGiB === undefined ? {} : { extraEphemeralGiB }),
    customHosts,
    customTags,
    ...(customDns === undefined ? {} : { customDns })
  }
}
