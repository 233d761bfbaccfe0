import { Context, Layer, Redacted } from "effect"
import { type Setting, settings } from "./settings.ts"

/** The product's whole configuration, typed and validated once at start-up. */
export interface AppConfig {
  readonly clusterId: string
  readonly region: string
  readonly vSwitchIds: ReadonlyArray<string>
  readonly securityGroupId: string | undefined
  readonly zone: string | undefined
  readonly resourceGroupId: string | undefined
  readonly eciEndpoint: string
  readonly eciProtocol: "https" | "http"
  readonly eciTimeoutSeconds: number
  readonly eciQuotaMultiplier: number
  readonly credentialsProvider: "secret" | "env" | "chain"
  readonly credentialsSecret: { readonly namespace: string; readonly name: string }
  readonly accessKeyId: string | undefined
  readonly accessKeySecret: Redacted.Redacted<string> | undefined
  readonly nodeName: string
  readonly taint: { readonly key: string; readonly value: string; readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }
  readonly nodeCapacity: { readonly cpu: string; readonly memory: string; readonly pods: number; readonly ephemeralStorage: string }
  readonly kubeletPort: number
  readonly tlsCertFile: string | undefined
  readonly tlsKeyFile: string | undefined
  readonly clientCaFile: string | undefined
  readonly webhookPort: number
  readonly metricsPort: number
  readonly podIp: string
  readonly clusterDns: ReadonlyArray<string>
  readonly clusterDomain: string
  readonly kubeconfig: string | undefined
  readonly kubeApiQps: number
  readonly kubeApiBurst: number
  readonly eventQps: number
  readonly eventBurst: number
  readonly leaderElect: boolean
  readonly podNamespace: string
  readonly podName: string
  readonly logLevel: "trace" | "debug" | "info" | "warn" | "error"
  readonly logFormat: "json" | "text"
}

export class AppConfigService extends Context.Service<AppConfigService, AppConfig>()("eci-virtual-node/AppConfig") {
  static readonly layer = (config: AppConfig) => Layer.succeed(AppConfigService, config)
}

export interface ConfigInput {
  /** Flag values by flag name (without dashes), only those given on the command line. */
  readonly flags: Readonly<Record<string, string | undefined>>
  readonly env: Readonly<Record<string, string | undefined>>
}

export type ParseResult =
  | { readonly _tag: "Ok"; readonly config: AppConfig }
  | { readonly _tag: "Invalid"; readonly problems: ReadonlyArray<string> }

type Raw = { readonly value: string; readonly source: string } | undefined

/** flag > first set environment variable > default. */
const lookup = (setting: Setting, input: ConfigInput): Raw => {
  const flagValue = input.flags[setting.flag]
  if (flagValue !== undefined) return { value: flagValue, source: `--${setting.flag}` }
  for (const name of setting.env) {
    const v = input.env[name]
    if (v !== undefined && v !== "") return { value: v, source: name }
  }
  if (setting.default !== undefined && setting.default !== "required") return { value: setting.default, source: "default" }
  return undefined
}

const alsoKnownAs = (setting: Setting, source: string) => {
  const names = [`--${setting.flag}`, ...setting.env].filter((n) => n !== source)
  return names.length === 0 ? "" : ` (also settable as ${names.join(", ")})`
}

const quantityPattern = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/

/** Parses one value; returns the value or a problem phrased "<what is wrong>; expected <form>". */
const parseValue = (setting: Setting, raw: string): { ok: true; value: unknown } | { ok: false; problem: string } => {
  const kind = setting.kind
  const shown = kind._tag === "secret" ? "the value" : JSON.stringify(raw)
  switch (kind._tag) {
    case "string":
      return raw.trim() === "" ? { ok: false, problem: "is empty; expected a non-empty string" } : { ok: true, value: raw.trim() }
    case "secret":
      return raw === "" ? { ok: false, problem: "is empty; expected the secret value" } : { ok: true, value: Redacted.make(raw) }
    case "list": {
      const items = raw.split(",").map((x) => x.trim()).filter((x) => x !== "")
      return { ok: true, value: items }
    }
    case "int":
    case "port": {
      const [min, max] = kind._tag === "port" ? [1, 65535] : [kind.min, kind.max]
      const n = /^-?[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : NaN
      if (!Number.isInteger(n) || n < min || n > max) {
        const what = kind._tag === "port" ? "a port number" : "an integer in range"
        return { ok: false, problem: `${shown} is not ${what}; expected an integer from ${min} to ${max}` }
      }
      return { ok: true, value: n }
    }
    case "number":
    case "seconds": {
      const n = /^[0-9]+(\.[0-9]+)?$/.test(raw.trim()) ? Number(raw.trim()) : NaN
      if (Number.isNaN(n) || n < kind.min) {
        const unit = kind._tag === "seconds" ? " (seconds)" : ""
        return { ok: false, problem: `${shown} is not a number ≥ ${kind.min}; expected a decimal number${unit} such as ${setting.default ?? kind.min}` }
      }
      return { ok: true, value: n }
    }
    case "bool": {
      const v = raw.trim().toLowerCase()
      if (v === "true" || v === "1" || v === "yes") return { ok: true, value: true }
      if (v === "false" || v === "0" || v === "no") return { ok: true, value: false }
      return { ok: false, problem: `${shown} is not a boolean; expected true or false` }
    }
    case "enum":
      return kind.values.includes(raw.trim())
        ? { ok: true, value: raw.trim() }
        : { ok: false, problem: `${shown} is not allowed; expected one of ${kind.values.join(", ")}` }
    case "quantity":
      return quantityPattern.test(raw.trim())
        ? { ok: true, value: raw.trim() }
        : { ok: false, problem: `${shown} is not a Kubernetes quantity; expected a number with an optional suffix such as 4Ti, 512Gi or 1000` }
  }
}

/** Checks that need more than one value's form. */
const crossChecks = (
  values: Record<string, unknown>,
  sources: Record<string, string>,
  invalid: ReadonlySet<string>
): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const clusterId = values["clusterId"]
  if (typeof clusterId === "string" && clusterId.toLowerCase() === "default") {
    problems.push(`${sources["clusterId"]}=${JSON.stringify(clusterId)} is not a cluster id; expected the ACK cluster id (e.g. c0123456789abcdef), which tags every container group`)
  }
  const secretRef = values["credentialsSecret"]
  if (typeof secretRef === "string" && !/^[a-z0-9-]+\/[a-z0-9.-]+$/.test(secretRef)) {
    problems.push(`${sources["credentialsSecret"]}=${JSON.stringify(secretRef)} is not a Secret reference; expected namespace/name such as kube-system/alibaba-addon-secret`)
  }
  if (values["credentialsProvider"] === "env") {
    if (values["accessKeyId"] === undefined && !invalid.has("accessKeyId")) {
      problems.push("ECI_ACCESS_KEY (or --access-key-id, ALIBABA_CLOUD_ACCESS_KEY_ID) is required when credentials-provider is env; expected the access key id")
    }
    if (values["accessKeySecret"] === undefined && !invalid.has("accessKeySecret")) {
      problems.push("ECI_SECRET_KEY (or --access-key-secret, ALIBABA_CLOUD_ACCESS_KEY_SECRET) is required when credentials-provider is env; expected the access key secret")
    }
  }
  return problems
}

/**
 * Reads every setting from flags and environment (flag > env > default). All problems are reported
 * at once, each naming the flag or variable, what is wrong with the value, and the form expected.
 * Secret values never appear in a message.
 */
export const parseConfig = (input: ConfigInput): ParseResult => {
  const values: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  const problems: Array<string> = []
  const invalid = new Set<string>()
  for (const setting of settings) {
    const raw = lookup(setting, input)
    if (raw === undefined) {
      if (setting.default === "required") {
        const [first, ...rest] = [...setting.env, `--${setting.flag}`]
        problems.push(`${first} is required (or ${rest.join(", ")}): ${setting.description}`)
      }
      continue
    }
    const parsed = parseValue(setting, raw.value)
    if (!parsed.ok) {
      const label = raw.source === "default" ? `default of --${setting.flag}` : raw.source
      problems.push(`${label}: ${parsed.problem}${alsoKnownAs(setting, raw.source)}`)
      invalid.add(setting.key)
      continue
    }
    values[setting.key] = parsed.value
    sources[setting.key] = raw.source
  }
  problems.push(...crossChecks(values, sources, invalid))
  if (problems.length > 0) return { _tag: "Invalid", problems }
  return { _tag: "Ok", config: assemble(values) }
}

const defaultNodeName = (region: string, zone: string | undefined) =>
  zone === undefined ? `virtual-kubelet-${region}` : zone.startsWith(`${region}-`) ? `virtual-kubelet-${zone}` : `virtual-kubelet-${region}-${zone}`

const assemble = (v: Record<string, unknown>): AppConfig => {
  const str = (k: string) => v[k] as string
  const opt = (k: string) => v[k] as string | undefined
  const region = str("region")
  const [secretNamespace = "kube-system", secretName = "alibaba-addon-secret"] = str("credentialsSecret").split("/")
  return {
    clusterId: str("clusterId"),
    region,
    vSwitchIds: (v["vSwitchIds"] as ReadonlyArray<string> | undefined) ?? [],
    securityGroupId: opt("securityGroupId"),
    zone: opt("zone"),
    resourceGroupId: opt("resourceGroupId"),
    eciEndpoint: opt("eciEndpoint") ?? `eci-vpc.${region}.aliyuncs.com`,
    eciProtocol: v["eciProtocol"] as AppConfig["eciProtocol"],
    eciTimeoutSeconds: v["eciTimeoutSeconds"] as number,
    eciQuotaMultiplier: v["eciQuotaMultiplier"] as number,
    credentialsProvider: v["credentialsProvider"] as AppConfig["credentialsProvider"],
    credentialsSecret: { namespace: secretNamespace, name: secretName },
    accessKeyId: opt("accessKeyId"),
    accessKeySecret: v["accessKeySecret"] as Redacted.Redacted<string> | undefined,
    nodeName: opt("nodeName") ?? defaultNodeName(region, opt("zone")),
    taint: { key: str("taintKey"), value: str("taintValue"), effect: v["taintEffect"] as AppConfig["taint"]["effect"] },
    nodeCapacity: {
      cpu: str("nodeCpu"),
      memory: str("nodeMemory"),
      pods: v["nodePods"] as number,
      ephemeralStorage: str("nodeEphemeralStorage")
    },
    kubeletPort: v["kubeletPort"] as number,
    tlsCertFile: opt("tlsCertFile"),
    tlsKeyFile: opt("tlsKeyFile"),
    clientCaFile: opt("clientCaFile"),
    webhookPort: v["webhookPort"] as number,
    metricsPort: v["metricsPort"] as number,
    podIp: str("podIp"),
    clusterDns: v["clusterDns"] as ReadonlyArray<string>,
    clusterDomain: str("clusterDomain"),
    kubeconfig: opt("kubeconfig"),
    kubeApiQps: v["kubeApiQps"] as number,
    kubeApiBurst: v["kubeApiBurst"] as number,
    eventQps: v["eventQps"] as number,
    eventBurst: v["eventBurst"] as number,
    leaderElect: v["leaderElect"] as boolean,
    podNamespace: str("podNamespace"),
    podName: str("podName"),
    logLevel: v["logLevel"] as AppConfig["logLevel"],
    logFormat: v["logFormat"] as AppConfig["logFormat"]
  }
}
