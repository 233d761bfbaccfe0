/**
 * The `kube-system/eci-profile` ConfigMap (eci-reference §5.2), parsed once per change into a typed
 * profile: the selectors the steering webhook applies and the defaults pod translation uses. Pure;
 * every problem names the data key (and the path inside `selectors`) and what was expected.
 */
import { Schema } from "effect"
import {
  describeJson,
  isRecord,
  type Labels,
  type LabelSelector,
  parseLabelSelector,
  parseStringMap,
  unknownFields
} from "./labelSelector.ts"

export const ECI_PROFILE_NAMESPACE = "kube-system"
export const ECI_PROFILE_NAME = "eci-profile"

export interface ProfileSelector {
  readonly name: string
  /** Undefined: not set (matches every namespace). Both set: both must match. */
  readonly namespaceSelector: LabelSelector | undefined
  readonly objectSelector: LabelSelector | undefined
  readonly effect: { readonly annotations: Labels; readonly labels: Labels }
}

/**
 * Cluster-level defaults for new ECI pods; a pod's own annotations override them (the translation
 * decides that). Empty strings and absent keys are both `undefined` / `[]`.
 */
export interface ProfileDefaults {
  readonly vpcId: string | undefined
  readonly vSwitchIds: ReadonlyArray<string>
  readonly securityGroupId: string | undefined
  readonly resourceGroupId: string | undefined
  /** Give pods a cluster IP path to Services (ack default true). */
  readonly enableClusterIp: boolean
  readonly enableHybridMode: boolean
  readonly enableLinuxArm64Node: boolean
  readonly enableLogController: boolean
  readonly slsMachineGroup: string | undefined
  readonly enablePVCController: boolean
  readonly enablePrivateZone: boolean
  /** One kubelet serving certificate for all pods instead of one each. */
  readonly enableReuseSSLKey: boolean
  /** `A=true,B=false`; a bare name means true. */
  readonly featureGates: Readonly<Record<string, boolean>>
}

export interface EciProfile {
  readonly selectors: ReadonlyArray<ProfileSelector>
  readonly defaults: ProfileDefaults
  /** Data keys we do not know; kept so the watcher can log them (a typo like `vswitchIds`). */
  readonly ignoredKeys: ReadonlyArray<string>
}

export class InvalidEciProfile extends Schema.TaggedError<InvalidEciProfile>()("InvalidEciProfile", {
  problems: Schema.Array(Schema.String),
  message: Schema.String
}) {}

export const emptyDefaults: ProfileDefaults = {
  vpcId: undefined,
  vSwitchIds: [],
  securityGroupId: undefined,
  resourceGroupId: undefined,
  enableClusterIp: true,
  enableHybridMode: false,
  enableLinuxArm64Node: false,
  enableLogController: false,
  slsMachineGroup: undefined,
  enablePVCController: false,
  enablePrivateZone: false,
  enableReuseSSLKey: false,
  featureGates: {}
}

/** The profile when the ConfigMap does not exist: no selectors, product defaults. */
export const emptyProfile: EciProfile = { selectors: [], defaults: emptyDefaults, ignoredKeys: [] }

/** For pod translation: the defaults of a profile. */
export const profileDefaults = (profile: EciProfile): ProfileDefaults => profile.defaults

const booleanKeys = [
  "enableClusterIp",
  "enableHybridMode",
  "enableLinuxArm64Node",
  "enableLogController",
  "enablePVCController",
  "enablePrivateZone",
  "enableReuseSSLKey"
] as const

/** Resource ids are checked by prefix: it catches a value pasted under the wrong key. */
const idKeys = [["vpcId", "vpc-", "a VPC"], ["securityGroupId", "sg-", "a security group"], ["resourceGroupId", "rg-", "a resource group"]] as const

const knownKeys: ReadonlyArray<string> = [
  ...booleanKeys,
  ...idKeys.map(([k]) => k),
  "vSwitchIds",
  "slsMachineGroup",
  "featureGates",
  "selectors"
]

const parseBoolean = (key: string, raw: string, problems: Array<string>): boolean | undefined => {
  const v = raw.trim().toLowerCase()
  if (v === "true") return true
  if (v === "false") return false
  problems.push(`${key}: ${JSON.stringify(raw)} is not a boolean; expected true or false`)
  return undefined
}

const parseFeatureGates = (raw: string, problems: Array<string>): Record<string, boolean> => {
  const gates: Record<string, boolean> = {}
  for (const item of raw.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
    const [name = "", value, ...rest] = item.split("=").map((x) => x.trim())
    const parsed = value === undefined ? true : value.toLowerCase() === "true" ? true : value.toLowerCase() === "false" ? false : undefined
    if (name === "" || rest.length > 0 || parsed === undefined) {
      problems.push(`featureGates: ${JSON.stringify(item)} is not a feature gate; expected Name=true or Name=false, comma separated`)
    } else gates[name] = parsed
  }
  return gates
}

const parseSelector = (value: unknown, index: number, names: Map<string, number>, problems: Array<string>): ProfileSelector | undefined => {
  const at = `selectors[${index}]`
  if (!isRecord(value)) {
    problems.push(`${at}: got ${describeJson(value)}; expected an object {name, namespaceSelector, objectSelector, effect}`)
    return undefined
  }
  const before = problems.length
  const name = value["name"]
  if (typeof name !== "string" || name.trim() === "") {
    problems.push(`${at}.name: got ${describeJson(name)}; expected a non-empty string`)
  } else if (names.has(name)) {
    problems.push(`${at}.name: ${JSON.stringify(name)} is already the name of selectors[${names.get(name)}]; expected unique names`)
  } else names.set(name, index)
  const path = typeof name === "string" && name.trim() !== "" ? `selectors[${index}] (${name})` : at
  problems.push(...unknownFields(value, ["name", "namespaceSelector", "objectSelector", "effect"], path))
  const ns = value["namespaceSelector"]
  const obj = value["objectSelector"]
  const namespaceSelector = ns === undefined ? undefined : parseLabelSelector(ns, `${path}.namespaceSelector`, problems)
  const objectSelector = obj === undefined ? undefined : parseLabelSelector(obj, `${path}.objectSelector`, problems)
  if (ns === undefined && obj === undefined) {
    problems.push(`${path}: has neither namespaceSelector nor objectSelector, which would match every pod; expected at least one`)
  }
  const effectValue = value["effect"]
  let effect: ProfileSelector["effect"] = { annotations: {}, labels: {} }
  if (effectValue !== undefined) {
    if (!isRecord(effectValue)) {
      problems.push(`${path}.effect: got ${describeJson(effectValue)}; expected an object with annotations and/or labels`)
    } else {
      problems.push(...unknownFields(effectValue, ["annotations", "labels"], `${path}.effect`))
      effect = {
        annotations: parseStringMap(effectValue["annotations"], `${path}.effect.annotations`, problems),
        labels: parseStringMap(effectValue["labels"], `${path}.effect.labels`, problems)
      }
    }
  }
  if (problems.length > before || typeof name !== "string") return undefined
  return { name, namespaceSelector, objectSelector, effect }
}

const parseSelectors = (raw: string, problems: Array<string>): ReadonlyArray<ProfileSelector> => {
  // ack ships `selectors: ""`: no selectors.
  if (raw.trim() === "") return []
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (e) {
    problems.push(`selectors: is not valid JSON (${e instanceof Error ? e.message : String(e)}); expected a JSON array of selectors`)
    return []
  }
  if (!Array.isArray(json)) {
    problems.push(`selectors: got ${describeJson(json)}; expected a JSON array of selectors`)
    return []
  }
  const names = new Map<string, number>()
  return json.flatMap((item, i) => {
    const selector = parseSelector(item, i, names, problems)
    return selector === undefined ? [] : [selector]
  })
}

/**
 * Parses the ConfigMap's `data`. Every problem is reported at once, each starting with the data
 * key, e.g. `enableClusterIp: "yes" is not a boolean; expected true or false`.
 */
export const parseEciProfile = (data: Readonly<Record<string, string>> | undefined): EciProfile | InvalidEciProfile => {
  const d = data ?? {}
  const problems: Array<string> = []
  const text = (key: string) => {
    const v = d[key]?.trim()
    return v === undefined || v === "" ? undefined : v
  }
  const defaults: { -readonly [K in keyof ProfileDefaults]: ProfileDefaults[K] } = { ...emptyDefaults }
  for (const key of booleanKeys) {
    const raw = text(key)
    if (raw === undefined) continue
    const value = parseBoolean(key, raw, problems)
    if (value !== undefined) defaults[key] = value
  }
  for (const [key, prefix, what] of idKeys) {
    const raw = text(key)
    if (raw !== undefined && (!raw.startsWith(prefix) || /[\s,]/.test(raw))) {
      problems.push(`${key}: ${JSON.stringify(raw)} is not ${what} id; expected one id starting with ${prefix}`)
    } else defaults[key] = raw
  }
  const vSwitchIds = (text("vSwitchIds") ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "")
  const badSwitches = vSwitchIds.filter((id) => !/^vsw-\S+$/.test(id))
  if (badSwitches.length > 0) {
    problems.push(`vSwitchIds: ${badSwitches.map((x) => JSON.stringify(x)).join(", ")} ${badSwitches.length === 1 ? "is not a vSwitch id" : "are not vSwitch ids"}; expected comma-separated ids starting with vsw-`)
  } else defaults.vSwitchIds = vSwitchIds
  defaults.slsMachineGroup = text("slsMachineGroup")
  defaults.featureGates = parseFeatureGates(text("featureGates") ?? "", problems)
  const selectors = parseSelectors(d["selectors"] ?? "", problems)
  if (problems.length > 0) {
    return new InvalidEciProfile({ problems, message: `eci-profile is invalid: ${problems.join("; ")}` })
  }
  const ignoredKeys = Object.keys(d).filter((k) => !knownKeys.includes(k)).sort()
  return { selectors, defaults, ignoredKeys }
}
