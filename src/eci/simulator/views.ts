/**
 * The instance as DescribeContainerGroups shows it (reference §1.3): request fields echoed back in
 * their response spelling (`Commands`, `Args`, `EnvironmentVars`, probes with `Execs`, flattened
 * `Volumes`), plus the state the lifecycle computed.
 */
import type {
  DescribeContainerGroupsResponseBodyContainerGroups as GroupView,
  DescribeContainerGroupsResponseBodyContainerGroupsContainers as ContainerView,
  DescribeContainerGroupsResponseBodyContainerGroupsContainersCurrentState as StateView,
  DescribeContainerGroupsResponseBodyContainerGroupsEvents as EventView,
  DescribeContainerGroupsResponseBodyContainerGroupsVolumes as VolumeView
} from "../api.generated.ts"
import { Fields } from "./fields.ts"
import type { ContainerRuntime, ContainerState, Instance, VolumeSpec } from "./state.ts"

/** RFC 3339 UTC with second precision, as ECI writes times (`2018-08-02T15:00:00Z`). */
export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** Optional where the value may be undefined: the type of an object after `compact`. */
type Compact<T> =
  & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] }
  & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> }

/** Drop undefined values so the wire shape has no `"Key": undefined` entries. */
const compact = <T extends object>(o: T): Compact<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Compact<T>

const stateView = (s: ContainerState | undefined): StateView | undefined => {
  if (s === undefined) return undefined
  switch (s.state) {
    case "Waiting":
      return compact({ State: "Waiting", Reason: s.reason, DetailStatus: s.reason, Message: s.message })
    case "Running":
      return { State: "Running", Reason: s.reason, StartTime: rfc3339(s.startedAt) }
    case "Terminated":
      return compact({
        State: "Terminated",
        Reason: s.reason,
        DetailStatus: s.reason,
        ExitCode: s.exitCode,
        Signal: s.signal,
        Message: s.message,
        StartTime: rfc3339(s.startedAt),
        FinishTime: rfc3339(s.finishedAt)
      })
  }
}

const probeView = (raw: unknown) => {
  if (raw === undefined) return undefined
  const f = new Fields(raw)
  const tcp = f.obj("TcpSocket")
  return compact({
    Execs: f.obj("Exec")?.strList("Command"),
    HttpGet: f.obj("HttpGet")?.raw,
    TcpSocket: tcp === undefined ? undefined : compact({ Port: tcp.int("Port") }),
    InitialDelaySeconds: f.int("InitialDelaySeconds"),
    PeriodSeconds: f.int("PeriodSeconds"),
    TimeoutSeconds: f.int("TimeoutSeconds"),
    SuccessThreshold: f.int("SuccessThreshold"),
    FailureThreshold: f.int("FailureThreshold")
  })
}

const containerView = (c: ContainerRuntime, init: boolean): ContainerView => {
  const f = new Fields(c.spec.raw)
  const hideEnv = f.bool("EnvironmentVarHide") === true
  const sc = f.obj("SecurityContext")
  const common = compact({
    Name: c.spec.name,
    Image: c.spec.image,
    ImagePullPolicy: f.str("ImagePullPolicy"),
    Args: c.spec.args,
    WorkingDir: c.spec.workingDir,
    Cpu: c.spec.cpu ?? 0,
    Memory: c.spec.memory ?? 0,
    Gpu: f.num("Gpu") ?? 0,
    Ports: (f.list("Port") ?? []).map((p) => compact({ Port: p.int("Port"), Protocol: p.str("Protocol") })),
    EnvironmentVars: hideEnv
      ? []
      : c.spec.env.map((e) =>
        compact({ Key: e.key, Value: e.value, ValueFrom: e.fieldPath === undefined ? undefined : { FieldRef: { FieldPath: e.fieldPath } } })
      ),
    VolumeMounts: c.spec.mounts.map((m) =>
      compact({
        Name: m.name,
        MountPath: m.mountPath,
        SubPath: init ? undefined : m.subPath,
        ReadOnly: m.readOnly,
        MountPropagation: m.mountPropagation
      })
    ),
    SecurityContext: sc === undefined
      ? undefined
      : compact({
        Capability: { Adds: sc.obj("Capability")?.strList("Add") ?? [] },
        ReadOnlyRootFilesystem: sc.bool("ReadOnlyRootFilesystem"),
        RunAsUser: sc.int("RunAsUser")
      }),
    Ready: c.state.state === "Running",
    RestartCount: c.restartCount,
    CurrentState: stateView(c.state),
    PreviousState: stateView(c.previous) ?? {}
  })
  if (init) return { ...common, Command: c.spec.command } as ContainerView
  return compact({
    ...common,
    Commands: c.spec.command,
    LivenessProbe: probeView(c.spec.raw["LivenessProbe"]),
    ReadinessProbe: probeView(c.spec.raw["ReadinessProbe"]),
    Stdin: f.bool("Stdin"),
    StdinOnce: f.bool("StdinOnce"),
    Tty: f.bool("Tty")
  })
}

const volumeView = (v: VolumeSpec): VolumeView => {
  const f = new Fields(v.raw)
  const cfg = f.obj("ConfigFileVolume")
  const empty = f.obj("EmptyDirVolume")
  const disk = f.obj("DiskVolume")
  const flex = f.obj("FlexVolume")
  const nfs = f.obj("NFSVolume")
  return compact({
    Name: v.name,
    Type: v.type,
    ConfigFileVolumeConfigFileToPaths: cfg === undefined
      ? undefined
      : (cfg.list("ConfigFileToPath") ?? []).map((p) => compact({ Path: p.str("Path"), Content: p.str("Content") })),
    EmptyDirVolumeMedium: empty?.str("Medium"),
    EmptyDirVolumeSizeLimit: empty?.str("SizeLimit"),
    DiskVolumeDiskId: disk?.str("DiskId"),
    DiskVolumeFsType: disk?.str("FsType"),
    FlexVolumeDriver: flex?.str("Driver"),
    FlexVolumeFsType: flex?.str("FsType"),
    FlexVolumeOptions: flex?.str("Options"),
    NFSVolumePath: nfs?.str("Path"),
    NFSVolumeReadOnly: nfs?.bool("ReadOnly"),
    NFSVolumeServer: nfs?.str("Server")
  })
}

export const eventViews = (i: Instance): ReadonlyArray<EventView> =>
  [...i.events]
    .sort((a, b) => a.lastAt - b.lastAt)
    .slice(-50) // reference §1.3: at most 50 events are returned
    .map((e) => ({
      Count: e.count,
      Type: e.type,
      Name: e.name,
      Reason: e.reason,
      Message: e.message,
      FirstTimestamp: rfc3339(e.firstAt),
      LastTimestamp: rfc3339(e.lastAt)
    }))

export const groupView = (i: Instance, withEvents: boolean): GroupView => {
  const req = new Fields(i.request)
  const dns = req.obj("DnsConfig")
  return compact({
    ContainerGroupId: i.id,
    ContainerGroupName: i.name,
    Status: i.status,
    RegionId: i.regionId,
    ZoneId: i.vSwitch.zoneId,
    VSwitchId: i.vSwitch.id,
    VpcId: i.vSwitch.vpcId,
    SecurityGroupId: i.securityGroupId,
    Cpu: i.cpu,
    Memory: i.memory,
    InstanceType: i.instanceType ?? "",
    RestartPolicy: i.restartPolicy,
    IntranetIp: i.ip ?? "",
    InternetIp: i.internetIp ?? "",
    Ipv6Address: i.ipv6Address,
    EniInstanceId: i.eniId,
    CreationTime: rfc3339(i.createdAt),
    SucceededTime: i.succeededAt === undefined ? undefined : rfc3339(i.succeededAt),
    FailedTime: i.failedAt === undefined ? undefined : rfc3339(i.failedAt),
    ExpiredTime: i.expiredAt === undefined ? undefined : rfc3339(i.expiredAt),
    EphemeralStorage: req.num("EphemeralStorage") ?? 0,
    RamRoleName: req.str("RamRoleName"),
    ResourceGroupId: req.str("ResourceGroupId") ?? "",
    SpotStrategy: i.spotStrategy,
    SpotPriceLimit: i.spotPriceLimit,
    Tags: i.tags.map((t) => ({ Key: t.key, Value: t.value })),
    Events: withEvents ? eventViews(i) : [],
    Containers: i.containers.map((c) => containerView(c, false)),
    InitContainers: i.initContainers.map((c) => containerView(c, true)),
    Volumes: i.volumes.map(volumeView),
    DnsConfig: dns === undefined
      ? undefined
      : {
        NameServers: dns.strList("NameServer") ?? [],
        Searches: dns.strList("Search") ?? [],
        Options: (dns.list("Option") ?? []).map((o) => compact({ Name: o.str("Name"), Value: o.str("Value") }))
      },
    EciSecurityContext: {
      Sysctls: (req.obj("SecurityContext")?.list("Sysctl") ?? []).map((s) => compact({ Name: s.str("Name"), Value: s.str("Value") }))
    },
    HostAliases: (req.list("HostAliase") ?? []).map((h) => compact({ Ip: h.str("Ip"), Hostnames: h.strList("Hostname") ?? [] }))
  })
}
