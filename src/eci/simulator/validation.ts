/**
 * Request validation as the ECI gateway does it (README.md, "Validation"): required parameters
 * first, then values. Every failure names the flattened wire parameter, so a translation bug in the
 * product fails loudly here instead of creating something the real ECI would refuse.
 */
import { Faults } from "./failures.ts"
import { Fields } from "./fields.ts"
import { defaultSpec, instanceTypeSpec, isSupportedSpec, roundUpSpec, specKey } from "./specs.ts"
import type { ConfigFile, ContainerSpec, EnvVar, RestartPolicy, Tag, VolumeMountSpec, VolumeSpec } from "./state.ts"

/**
 * ECI writes file modes as octal digits in a decimal number ("0644" → 644; help.aliyun.com
 * document 464080), so every digit must be 0–7 and the value at most 777.
 */
const isOctalMode = (mode: number) => Number.isInteger(mode) && /^[0-7]{1,4}$/.test(String(mode)) && mode <= 777

export const limits = {
  containers: 20,
  initContainers: 20,
  volumes: 20,
  tags: 20,
  args: 10,
  vSwitches: 10,
  clientToken: 64
} as const

const oneOf = <T extends string>(f: Fields, name: string, values: ReadonlyArray<T>): T | undefined => {
  const v = f.str(name)
  if (v === undefined || v === "") return undefined
  if (!(values as ReadonlyArray<string>).includes(v)) {
    throw Faults.invalidParameter(f.at(name), `expected one of ${values.join(", ")}`)
  }
  return v as T
}

const nonNegative = (f: Fields, name: string): number | undefined => {
  const n = f.num(name)
  if (n !== undefined && n < 0) throw Faults.invalidParameter(f.at(name), "must not be negative")
  return n
}

/** ContainerGroupName and image cache names: 2–128 characters, lowercase letters, digits and `-`, not at either end. */
export const groupNamePattern = /^[a-z0-9][a-z0-9-]{0,126}[a-z0-9]$/
/** Container and volume names: a DNS label (assumption; Kubernetes gives us no other kind). */
const labelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const envNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const quantityPattern = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/

export const checkGroupName = (f: Fields, name: string) => {
  const v = f.requiredStr(name)
  if (!groupNamePattern.test(v)) {
    throw Faults.invalidParameter(
      f.at(name),
      "2 to 128 characters: lowercase letters, digits and hyphens, not starting or ending with a hyphen"
    )
  }
  return v
}

const probe = (f: Fields | undefined) => {
  if (f === undefined) return
  const handlers = ["Exec", "HttpGet", "TcpSocket"].filter((h) => f.obj(h) !== undefined)
  if (handlers.length !== 1) throw Faults.invalidParameter(f.path, "exactly one of Exec, HttpGet or TcpSocket is required")
  const exec = f.obj("Exec")
  if (exec !== undefined && (exec.strList("Command")?.length ?? 0) === 0) throw Faults.missingParameter(exec.at("Command"))
  const http = f.obj("HttpGet")
  if (http !== undefined) {
    const port = http.int("Port")
    if (port === undefined) throw Faults.missingParameter(http.at("Port"))
    if (port < 1 || port > 65535) throw Faults.invalidParameter(http.at("Port"), "1 to 65535")
    oneOf(http, "Scheme", ["HTTP", "HTTPS"])
  }
  const tcp = f.obj("TcpSocket")
  if (tcp !== undefined) {
    const port = tcp.int("Port")
    if (port === undefined) throw Faults.missingParameter(tcp.at("Port"))
    if (port < 1 || port > 65535) throw Faults.invalidParameter(tcp.at("Port"), "1 to 65535")
  }
  for (const n of ["InitialDelaySeconds", "PeriodSeconds", "TimeoutSeconds", "SuccessThreshold", "FailureThreshold"]) {
    const v = f.int(n)
    if (v !== undefined && v < 0) throw Faults.invalidParameter(f.at(n), "must not be negative")
  }
}

/**
 * One container (or init container). `requireImage` is false only for IncrementalUpdate, where a
 * container may change nothing but, say, its command.
 */
export const validateContainer = (f: Fields, options: { readonly requireImage: boolean }): Omit<ContainerSpec, "image"> & { readonly image: string | undefined } => {
  const name = f.requiredStr("Name")
  const image = options.requireImage ? f.requiredStr("Image") : f.str("Image")
  if (!labelPattern.test(name)) throw Faults.invalidParameter(f.at("Name"), "lowercase letters, digits and hyphens, at most 63")
  const command = f.strList("Command") ?? []
  const args = f.strList("Arg") ?? []
  if (args.length > limits.args) throw Faults.invalidParameter(f.at("Arg"), `at most ${limits.args} arguments`)
  const cpu = nonNegative(f, "Cpu")
  const memory = nonNegative(f, "Memory")
  nonNegative(f, "Gpu")
  oneOf(f, "ImagePullPolicy", ["Always", "IfNotPresent", "Never"])
  const env: Array<EnvVar> = (f.list("EnvironmentVar") ?? []).map((e) => {
    const key = e.requiredStr("Key")
    if (!envNamePattern.test(key)) throw Faults.invalidParameter(e.at("Key"), "not a valid environment variable name")
    const fieldRef = e.obj("FieldRef")
    const fieldPath = fieldRef?.str("FieldPath")
    if (fieldRef !== undefined && (fieldPath === undefined || fieldPath === "")) throw Faults.missingParameter(fieldRef.at("FieldPath"))
    const value = e.str("Value")
    if (value !== undefined && value !== "" && fieldPath !== undefined) {
      throw Faults.invalidParameter(e.path, "Value and FieldRef are mutually exclusive")
    }
    return { key, value: fieldPath === undefined ? (value ?? "") : undefined, fieldPath }
  })
  for (const p of f.list("Port") ?? []) {
    const port = p.int("Port")
    if (port === undefined) throw Faults.missingParameter(p.at("Port"))
    if (port < 1 || port > 65535) throw Faults.invalidParameter(p.at("Port"), "1 to 65535")
    oneOf(p, "Protocol", ["TCP", "UDP", "SCTP"])
  }
  const mounts: Array<VolumeMountSpec> = (f.list("VolumeMount") ?? []).map((m) => {
    const mountPath = m.requiredStr("MountPath")
    if (!mountPath.startsWith("/")) throw Faults.invalidParameter(m.at("MountPath"), "an absolute path is expected")
    return {
      name: m.requiredStr("Name"),
      mountPath,
      subPath: m.str("SubPath"),
      readOnly: m.bool("ReadOnly"),
      mountPropagation: oneOf(m, "MountPropagation", ["None", "HostToContainer", "Bidirectional"])
    }
  })
  probe(f.obj("LivenessProbe"))
  probe(f.obj("ReadinessProbe"))
  const sc = f.obj("SecurityContext")
  if (sc !== undefined) {
    nonNegative(sc, "RunAsUser")
    sc.bool("ReadOnlyRootFilesystem")
    sc.obj("Capability")?.strList("Add")
  }
  for (const b of ["Stdin", "StdinOnce", "Tty", "EnvironmentVarHide", "SecurityContextRunAsNonRoot"]) f.bool(b)
  return { name, image, command, args, workingDir: f.str("WorkingDir"), cpu, memory, env, mounts, raw: f.raw }
}

const decodeConfigFile = (p: Fields, fromUpdate: boolean): ConfigFile => {
  const path = p.requiredStr("Path")
  if (path.startsWith("/") || path.split("/").includes("..")) {
    throw Faults.invalidParameter(p.at("Path"), "a relative path without '..' is expected")
  }
  const content = p.str("Content") ?? ""
  if (!base64Pattern.test(content)) throw Faults.invalidParameter(p.at("Content"), "base64 is expected")
  if (!fromUpdate) {
    const mode = p.int("Mode")
    if (mode !== undefined && !isOctalMode(mode)) throw Faults.invalidParameter(p.at("Mode"), "an octal file mode such as 0644")
  }
  return { path, content: new Uint8Array(Buffer.from(content, "base64")) }
}

const volumeTypes = ["EmptyDirVolume", "NFSVolume", "ConfigFileVolume", "DiskVolume", "FlexVolume", "HostPathVolume"] as const

export const validateVolume = (v: Fields, fromUpdate: boolean): VolumeSpec => {
  const name = v.requiredStr("Name")
  if (!labelPattern.test(name)) throw Faults.invalidParameter(v.at("Name"), "lowercase letters, digits and hyphens, at most 63")
  const type = v.requiredStr("Type")
  if (!(volumeTypes as ReadonlyArray<string>).includes(type) || (fromUpdate && type === "DiskVolume")) {
    throw Faults.invalidParameter(v.at("Type"), `expected one of ${volumeTypes.join(", ")}`)
  }
  let files: ReadonlyArray<ConfigFile> = []
  switch (type) {
    case "ConfigFileVolume": {
      const c = v.obj("ConfigFileVolume")
      if (c === undefined) throw Faults.missingParameter(v.at("ConfigFileVolume.ConfigFileToPath"))
      files = (c.list("ConfigFileToPath") ?? []).map((p) => decodeConfigFile(p, fromUpdate))
      const mode = c.int("DefaultMode")
      if (mode !== undefined && !isOctalMode(mode)) throw Faults.invalidParameter(c.at("DefaultMode"), "an octal file mode such as 0644")
      break
    }
    case "EmptyDirVolume": {
      const e = v.obj("EmptyDirVolume")
      if (e !== undefined) {
        oneOf(e, "Medium", ["", "Memory"])
        const size = e.str("SizeLimit")
        if (size !== undefined && size !== "" && !quantityPattern.test(size)) {
          throw Faults.invalidParameter(e.at("SizeLimit"), "a quantity such as 1Gi is expected")
        }
      }
      break
    }
    case "NFSVolume": {
      const n = v.obj("NFSVolume") ?? new Fields({}, v.at("NFSVolume"))
      n.requiredStr("Server")
      n.requiredStr("Path")
      break
    }
    case "DiskVolume": {
      const d = v.obj("DiskVolume") ?? new Fields({}, v.at("DiskVolume"))
      d.requiredStr("DiskId")
      break
    }
    case "FlexVolume": {
      const x = v.obj("FlexVolume") ?? new Fields({}, v.at("FlexVolume"))
      x.requiredStr("Driver")
      const options = x.str("Options")
      if (options !== undefined && options !== "") {
        try {
          JSON.parse(options)
        } catch {
          throw Faults.invalidParameter(x.at("Options"), "a JSON object is expected")
        }
      }
      break
    }
    case "HostPathVolume": {
      const h = v.obj("HostPathVolume") ?? new Fields({}, v.at("HostPathVolume"))
      h.requiredStr("Path")
      break
    }
  }
  return { name, type, files, raw: v.raw }
}

export const validateTags = (f: Fields): ReadonlyArray<Tag> | undefined => {
  const list = f.list("Tag")
  if (list === undefined) return undefined
  if (list.length > limits.tags) throw Faults.invalidParameter(f.at("Tag"), `at most ${limits.tags} tags`)
  return list.map((t) => {
    const key = t.requiredStr("Key")
    if (key.length > 64 || /^(aliyun|acs:)/i.test(key) || /https?:\/\//.test(key)) {
      throw Faults.invalidParameter(t.at("Key"), "at most 64 characters, not starting with aliyun or acs:, without http(s)://")
    }
    const value = t.str("Value") ?? ""
    if (value.length > 128) throw Faults.invalidParameter(t.at("Value"), "at most 128 characters")
    return { key, value }
  })
}

export const validateClientToken = (f: Fields): string | undefined => {
  const token = f.str("ClientToken")
  if (token === undefined || token === "") return undefined
  if (token.length > limits.clientToken || !/^[\x20-\x7e]+$/.test(token)) {
    throw Faults.invalidParameter("ClientToken", "at most 64 ASCII characters")
  }
  return token
}

export const splitIds = (f: Fields, name: string, prefix: string, max: number): ReadonlyArray<string> => {
  const text = f.str(name)
  if (text === undefined) return []
  const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "")
  if (ids.length > max) throw Faults.invalidParameter(name, `at most ${max} ids`)
  for (const id of ids) {
    if (!id.startsWith(`${prefix}-`)) {
      throw prefix === "vsw" ? Faults.vSwitchNotFound(id) : Faults.securityGroupNotFound(id)
    }
  }
  return ids
}

/** Instance Cpu/Memory: both or neither; a given pair must be a supported spec. */
const instanceSpec = (
  f: Fields,
  containers: ReadonlyArray<{ readonly cpu: number | undefined; readonly memory: number | undefined }>,
  inits: ReadonlyArray<{ readonly cpu: number | undefined; readonly memory: number | undefined }>
): { readonly cpu: number; readonly memory: number; readonly rounded: boolean } => {
  const cpu = f.num("Cpu")
  const memory = f.num("Memory")
  const sumCpu = containers.reduce((s, c) => s + (c.cpu ?? 0), 0)
  const sumMemory = containers.reduce((s, c) => s + (c.memory ?? 0), 0)
  const needCpu = Math.max(sumCpu, ...inits.map((c) => c.cpu ?? 0))
  const needMemory = Math.max(sumMemory, ...inits.map((c) => c.memory ?? 0))
  if (cpu !== undefined || memory !== undefined) {
    if (cpu === undefined) throw Faults.missingParameter("Cpu")
    if (memory === undefined) throw Faults.missingParameter("Memory")
    if (!isSupportedSpec(cpu, memory)) throw Faults.invalidParameter("Cpu", `${specKey(cpu, memory)} (vCPU-GiB) is not a supported specification`)
    if (needCpu > cpu || needMemory > memory) {
      throw Faults.invalidParameter("Container", `containers ask for ${specKey(needCpu, needMemory)}, more than the instance's ${specKey(cpu, memory)}`)
    }
    return { cpu, memory, rounded: false }
  }
  const instanceType = f.str("InstanceType")
  if (instanceType !== undefined && instanceType !== "") {
    const spec = instanceType.split(",").map(instanceTypeSpec).find((s) => s !== undefined)
    return { ...(spec ?? defaultSpec), rounded: false }
  }
  if (needCpu === 0 && needMemory === 0) return { ...defaultSpec, rounded: false }
  const rounded = roundUpSpec(needCpu, needMemory)
  if (rounded === undefined) throw Faults.invalidParameter("Container", `no supported specification holds ${specKey(needCpu, needMemory)}`)
  return { ...rounded, rounded: rounded.cpu !== needCpu || rounded.memory !== needMemory }
}

export interface CreatePlan {
  readonly regionId: string
  readonly name: string
  readonly clientToken: string | undefined
  readonly containers: ReadonlyArray<ContainerSpec>
  readonly initContainers: ReadonlyArray<ContainerSpec>
  readonly volumes: ReadonlyArray<VolumeSpec>
  readonly cpu: number
  readonly memory: number
  readonly specRounded: boolean
  readonly instanceType: string | undefined
  readonly restartPolicy: RestartPolicy
  readonly tags: ReadonlyArray<Tag>
  readonly vSwitchIds: ReadonlyArray<string>
  readonly securityGroupId: string | undefined
  readonly zoneId: string | undefined
  readonly scheduleStrategy: "VSwitchOrdered" | "VSwitchRandom"
  readonly spotStrategy: string
  readonly spotPriceLimit: number | undefined
  readonly activeDeadlineSeconds: number | undefined
  readonly hostName: string | undefined
  readonly autoMatchImageCache: boolean
  readonly imageSnapshotId: string | undefined
  readonly dryRun: boolean
  readonly autoCreateEip: boolean
  readonly ipv6: boolean
}

const containerList = (f: Fields, name: string, max: number): ReadonlyArray<ContainerSpec> => {
  const list = f.list(name) ?? []
  if (list.length > max) throw Faults.invalidParameter(name, `at most ${max} containers`)
  return list.map((c) => {
    const spec = validateContainer(c, { requireImage: true })
    return { ...spec, image: spec.image ?? "" }
  })
}

/** Mount names must refer to volumes; container names must be unique across both lists. */
export const checkReferences = (
  containers: ReadonlyArray<{ readonly name: string; readonly mounts: ReadonlyArray<VolumeMountSpec> }>,
  initContainers: ReadonlyArray<{ readonly name: string; readonly mounts: ReadonlyArray<VolumeMountSpec> }>,
  volumes: ReadonlyArray<VolumeSpec>
) => {
  const names = new Set<string>()
  const all = [
    ...containers.map((c, i) => ({ c, path: `Container.${i + 1}` })),
    ...initContainers.map((c, i) => ({ c, path: `InitContainer.${i + 1}` }))
  ]
  for (const { c, path } of all) {
    if (names.has(c.name)) throw Faults.invalidParameter(`${path}.Name`, `duplicate container name ${c.name}`)
    names.add(c.name)
    c.mounts.forEach((m, k) => {
      if (!volumes.some((v) => v.name === m.name)) {
        throw Faults.invalidParameter(`${path}.VolumeMount.${k + 1}.Name`, `no volume named ${m.name}`)
      }
    })
  }
}

export const validateVolumes = (f: Fields, fromUpdate: boolean): ReadonlyArray<VolumeSpec> | undefined => {
  const list = f.list("Volume")
  if (list === undefined) return undefined
  if (list.length > limits.volumes) throw Faults.invalidParameter("Volume", `at most ${limits.volumes} volumes`)
  const volumes = list.map((v) => validateVolume(v, fromUpdate))
  const seen = new Set<string>()
  volumes.forEach((v, i) => {
    if (seen.has(v.name)) throw Faults.invalidParameter(`Volume.${i + 1}.Name`, `duplicate volume name ${v.name}`)
    seen.add(v.name)
  })
  return volumes
}

export const validateCreate = (raw: unknown): CreatePlan => {
  const f = new Fields(raw)
  const regionId = f.requiredStr("RegionId")
  const name = checkGroupName(f, "ContainerGroupName")
  if ((f.list("Container")?.length ?? 0) === 0) throw Faults.missingParameter("Container")
  const containers = containerList(f, "Container", limits.containers)
  const initContainers = containerList(f, "InitContainer", limits.initContainers)
  const volumes = validateVolumes(f, false) ?? []
  checkReferences(containers, initContainers, volumes)
  const restartPolicy = oneOf(f, "RestartPolicy", ["Always", "OnFailure", "Never"]) ?? "Always"
  const spec = instanceSpec(f, containers, initContainers)
  const tags = validateTags(f) ?? []
  const clientToken = validateClientToken(f)
  const vSwitchIds = splitIds(f, "VSwitchId", "vsw", limits.vSwitches)
  const sg = f.str("SecurityGroupId")
  if (sg !== undefined && sg !== "" && !sg.startsWith("sg-")) throw Faults.securityGroupNotFound(sg)
  const scheduleStrategy = oneOf(f, "ScheduleStrategy", ["VSwitchOrdered", "VSwitchRandom"]) ?? "VSwitchOrdered"
  const spotStrategy = oneOf(f, "SpotStrategy", ["NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"]) ?? "NoSpot"
  const spotPriceLimit = f.num("SpotPriceLimit")
  if (spotStrategy === "SpotWithPriceLimit" && (spotPriceLimit === undefined || spotPriceLimit <= 0)) {
    throw Faults.missingParameter("SpotPriceLimit")
  }
  nonNegative(f, "SpotDuration")
  const activeDeadlineSeconds = f.int("ActiveDeadlineSeconds")
  if (activeDeadlineSeconds !== undefined && activeDeadlineSeconds <= 0) throw Faults.invalidParameter("ActiveDeadlineSeconds", "must be positive")
  const grace = f.int("TerminationGracePeriodSeconds")
  if (grace !== undefined && grace < 0) throw Faults.invalidParameter("TerminationGracePeriodSeconds", "must not be negative")
  oneOf(f, "DnsPolicy", ["None", "Default"])
  oneOf(f, "OsType", ["Linux", "Windows"])
  oneOf(f, "CpuArchitecture", ["AMD64", "ARM64"])
  oneOf(f, "EipISP", ["BGP", "BGP_PRO"])
  oneOf(f, "ImageAccelerateMode", ["nydus", "dadi", "p2p", "imc"])
  const ipv6Count = f.int("Ipv6AddressCount")
  if (ipv6Count !== undefined && ipv6Count !== 1) throw Faults.invalidParameter("Ipv6AddressCount", "only 1 is supported")
  if (f.str("CorePattern")?.startsWith("|") === true) throw Faults.invalidParameter("CorePattern", "must not start with |")
  for (const c of f.list("ImageRegistryCredential") ?? []) {
    c.requiredStr("Server")
    c.requiredStr("UserName")
    c.requiredStr("Password")
  }
  for (const h of f.list("HostAliase") ?? []) {
    h.requiredStr("Ip")
    h.strList("Hostname")
  }
  f.obj("DnsConfig")?.strList("NameServer")
  for (const s of f.obj("SecurityContext")?.list("Sysctl") ?? []) s.requiredStr("Name")
  nonNegative(f, "EphemeralStorage")
  nonNegative(f, "EipBandwidth")
  const zoneId = f.str("ZoneId")
  return {
    regionId,
    name,
    clientToken,
    containers,
    initContainers,
    volumes,
    cpu: spec.cpu,
    memory: spec.memory,
    specRounded: spec.rounded,
    instanceType: f.str("InstanceType"),
    restartPolicy,
    tags,
    vSwitchIds,
    securityGroupId: sg === "" ? undefined : sg,
    zoneId: zoneId === "" ? undefined : zoneId,
    scheduleStrategy,
    spotStrategy,
    spotPriceLimit,
    activeDeadlineSeconds,
    hostName: f.str("HostName"),
    autoMatchImageCache: f.bool("AutoMatchImageCache") ?? false,
    imageSnapshotId: f.str("ImageSnapshotId"),
    dryRun: f.bool("DryRun") ?? false,
    autoCreateEip: f.bool("AutoCreateEip") ?? false,
    ipv6: ipv6Count === 1
  }
}

export interface UpdatePlan {
  readonly id: string
  readonly incremental: boolean
  readonly containers: ReadonlyArray<{ readonly fields: Fields; readonly spec: ReturnType<typeof validateContainer> }>
  readonly initContainers: ReadonlyArray<{ readonly fields: Fields; readonly spec: ReturnType<typeof validateContainer> }>
  readonly volumes: ReadonlyArray<VolumeSpec> | undefined
  readonly restartPolicy: RestartPolicy | undefined
  readonly cpu: number | undefined
  readonly memory: number | undefined
  readonly tags: ReadonlyArray<Tag> | undefined
}

export const validateUpdate = (raw: unknown): UpdatePlan => {
  const f = new Fields(raw)
  f.requiredStr("RegionId")
  const id = f.requiredStr("ContainerGroupId")
  const incremental = (oneOf(f, "UpdateType", ["RenewUpdate", "IncrementalUpdate"]) ?? "RenewUpdate") === "IncrementalUpdate"
  const list = (name: string, max: number) => {
    const items = f.list(name) ?? []
    if (items.length > max) throw Faults.invalidParameter(name, `at most ${max} containers`)
    return items.map((c) => ({ fields: c, spec: validateContainer(c, { requireImage: !incremental }) }))
  }
  const containers = list("Container", limits.containers)
  const initContainers = list("InitContainer", limits.initContainers)
  const cpu = f.num("Cpu")
  const memory = f.num("Memory")
  if (cpu !== undefined || memory !== undefined) {
    if (cpu === undefined) throw Faults.missingParameter("Cpu")
    if (memory === undefined) throw Faults.missingParameter("Memory")
    if (!isSupportedSpec(cpu, memory)) throw Faults.invalidParameter("Cpu", `${specKey(cpu, memory)} (vCPU-GiB) is not a supported specification`)
  }
  validateClientToken(f)
  return {
    id,
    incremental,
    containers,
    initContainers,
    volumes: validateVolumes(f, true),
    restartPolicy: oneOf(f, "RestartPolicy", ["Always", "OnFailure", "Never"]),
    cpu,
    memory,
    tags: validateTags(f)
  }
}
