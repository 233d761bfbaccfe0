import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { CreateContainerGroupRequest } from "../../../src/eci/api.generated.ts"
import { isSupportedSpec, roundUpSpec } from "../../../src/eci/simulator/specs.ts"
import { at, create, createRequest, describe1, failureOf, withSimulator } from "./support.ts"

const base = createRequest()
const app = base.Container![0]!
const many = <T>(n: number, f: (k: number) => T) => Array.from({ length: n }, (_, k) => f(k))

/** [what is wrong, the request, the code, a fragment of the message (usually the parameter's wire name)] */
const refused: ReadonlyArray<readonly [string, CreateContainerGroupRequest, string, string]> = [
  ["no RegionId", { ...base, RegionId: undefined as unknown as string }, "MissingParameter", "\"RegionId\""],
  ["no ContainerGroupName", { ...base, ContainerGroupName: "" }, "MissingParameter", "\"ContainerGroupName\""],
  ["no Container", { ...base, Container: [] }, "MissingParameter", "\"Container\""],
  ["a container without Image", { ...base, Container: [{ Name: "app" }] }, "MissingParameter", "\"Container.1.Image\""],
  ["a container without Name", { ...base, Container: [{ Image: "nginx" }] }, "MissingParameter", "\"Container.1.Name\""],
  ["an upper-case name", { ...base, ContainerGroupName: "Web" }, "InvalidParameter", "ContainerGroupName"],
  ["a name ending in -", { ...base, ContainerGroupName: "web-" }, "InvalidParameter", "ContainerGroupName"],
  ["a one-letter name", { ...base, ContainerGroupName: "w" }, "InvalidParameter", "ContainerGroupName"],
  ["a 129-character name", { ...base, ContainerGroupName: "a".repeat(129) }, "InvalidParameter", "ContainerGroupName"],
  ["21 containers", { ...base, Container: many(21, (k) => ({ Name: `c${k}`, Image: "nginx" })) }, "InvalidParameter", "Container"],
  [
    "21 volumes",
    { ...base, Volume: many(21, (k) => ({ Name: `v${k}`, Type: "EmptyDirVolume", EmptyDirVolume: {} })) },
    "InvalidParameter",
    "Volume"
  ],
  ["11 args", { ...base, Container: [{ ...app, Arg: many(11, String) }] }, "InvalidParameter", "Container.1.Arg"],
  ["Cpu 3 / Memory 5 (not a spec)", { ...base, Cpu: 3, Memory: 5 }, "InvalidParameter", "Cpu"],
  ["Cpu 2 / Memory 3 (not a spec)", { ...base, Cpu: 2, Memory: 3 }, "InvalidParameter", "Cpu"],
  ["Cpu without Memory", { ...base, Cpu: 2 }, "MissingParameter", "\"Memory\""],
  ["containers larger than the instance", { ...base, Cpu: 1, Memory: 2, Container: [{ ...app, Cpu: 2, Memory: 4 }] }, "InvalidParameter", "Container"],
  ["containers larger than any spec", { ...base, Container: [{ ...app, Cpu: 65, Memory: 4 }] }, "InvalidParameter", "Container"],
  [
    "a mount of an unknown volume",
    { ...base, Container: [{ ...app, VolumeMount: [{ Name: "config", MountPath: "/etc/config" }] }] },
    "InvalidParameter",
    "Container.1.VolumeMount.1.Name"
  ],
  [
    "a relative mount path",
    { ...base, Volume: [{ Name: "data", Type: "EmptyDirVolume" }], Container: [{ ...app, VolumeMount: [{ Name: "data", MountPath: "data" }] }] },
    "InvalidParameter",
    "MountPath"
  ],
  ["duplicate container names", { ...base, Container: [app, app] }, "InvalidParameter", "Container.2.Name"],
  [
    "an init container named like a container",
    { ...base, InitContainer: [{ Name: "app", Image: "busybox" }] },
    "InvalidParameter",
    "InitContainer.1.Name"
  ],
  [
    "ConfigFileVolume content that is not base64",
    { ...base, Volume: [{ Name: "cfg", Type: "ConfigFileVolume", ConfigFileVolume: { ConfigFileToPath: [{ Path: "a.conf", Content: "not base64!" }] } }] },
    "InvalidParameter",
    "Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content"
  ],
  [
    "a ConfigFileVolume path escaping the volume",
    { ...base, Volume: [{ Name: "cfg", Type: "ConfigFileVolume", ConfigFileVolume: { ConfigFileToPath: [{ Path: "../etc/passwd", Content: "" }] } }] },
    "InvalidParameter",
    "Path"
  ],
  ["an unknown volume type", { ...base, Volume: [{ Name: "v", Type: "SecretVolume" }] }, "InvalidParameter", "Volume.1.Type"],
  ["duplicate volume names", { ...base, Volume: [{ Name: "v", Type: "EmptyDirVolume" }, { Name: "v", Type: "EmptyDirVolume" }] }, "InvalidParameter", "Volume.2.Name"],
  ["an NFS volume without server", { ...base, Volume: [{ Name: "v", Type: "NFSVolume", NFSVolume: { Path: "/" } }] }, "MissingParameter", "Volume.1.NFSVolume.Server"],
  ["FlexVolume options that are not JSON", { ...base, Volume: [{ Name: "v", Type: "FlexVolume", FlexVolume: { Driver: "d", Options: "{" } }] }, "InvalidParameter", "Options"],
  ["an unknown RestartPolicy", { ...base, RestartPolicy: "Sometimes" }, "InvalidParameter", "RestartPolicy"],
  ["an env var without key", { ...base, Container: [{ ...app, EnvironmentVar: [{ Value: "x" }] }] }, "MissingParameter", "Container.1.EnvironmentVar.1.Key"],
  [
    "an env var with both Value and FieldRef",
    { ...base, Container: [{ ...app, EnvironmentVar: [{ Key: "IP", Value: "x", FieldRef: { FieldPath: "status.podIP" } }] }] },
    "InvalidParameter",
    "Container.1.EnvironmentVar.1"
  ],
  ["port 0", { ...base, Container: [{ ...app, Port: [{ Port: 0, Protocol: "TCP" }] }] }, "InvalidParameter", "Container.1.Port.1.Port"],
  ["protocol HTTP", { ...base, Container: [{ ...app, Port: [{ Port: 80, Protocol: "HTTP" }] }] }, "InvalidParameter", "Protocol"],
  [
    "a probe with two handlers",
    { ...base, Container: [{ ...app, LivenessProbe: { TcpSocket: { Port: 80 }, HttpGet: { Port: 80, Path: "/" } } }] },
    "InvalidParameter",
    "Container.1.LivenessProbe"
  ],
  ["21 tags", { ...base, Tag: many(21, (k) => ({ Key: `k${k}`, Value: "v" })) }, "InvalidParameter", "Tag"],
  ["a tag key starting with aliyun", { ...base, Tag: [{ Key: "aliyun-x", Value: "v" }] }, "InvalidParameter", "Tag.1.Key"],
  ["a tag value of 129 characters", { ...base, Tag: [{ Key: "k", Value: "v".repeat(129) }] }, "InvalidParameter", "Tag.1.Value"],
  ["a 65-character ClientToken", { ...base, ClientToken: "t".repeat(65) }, "InvalidParameter", "ClientToken"],
  ["11 vSwitches", { ...base, VSwitchId: many(11, (k) => `vsw-${k}`).join(",") }, "InvalidParameter", "VSwitchId"],
  ["SpotWithPriceLimit without a price", { ...base, SpotStrategy: "SpotWithPriceLimit" }, "MissingParameter", "SpotPriceLimit"],
  ["a registry credential without password", { ...base, ImageRegistryCredential: [{ Server: "r", UserName: "u" }] }, "MissingParameter", "ImageRegistryCredential.1.Password"],
  ["a number that is not one", { ...base, Cpu: "two" as unknown as number, Memory: 4 }, "InvalidParameter", "Cpu"],
  ["a vSwitch id that is not one", { ...base, VSwitchId: "subnet-1" }, "InvalidVSwitchId.NotFound", "subnet-1"]
]

describe("CreateContainerGroup validation", () => {
  for (const [what, request, code, fragment] of refused) {
    it.effect(`refuses ${what}: ${code}`, () =>
      Effect.gen(function*() {
        const failure = yield* failureOf("CreateContainerGroup", request)
        expect(failure.code).toBe(code)
        expect(failure.httpStatus).toBe(code.endsWith(".NotFound") ? 404 : 400)
        expect(failure.message).toContain(fragment)
      }).pipe(withSimulator()))
  }

  it.effect("accepts the wire shapes of a decoded query string: numbers and booleans as strings, arrays as indexed objects", () =>
    Effect.gen(function*() {
      const request = {
        RegionId: "cn-hangzhou",
        ContainerGroupName: "wire",
        Cpu: "0.5",
        Memory: "1",
        AutoMatchImageCache: "false",
        Container: { "2": { Name: "b", Image: "redis" }, "1": { Name: "a", Image: "nginx", Command: { "1": "sleep", "2": "10" } } }
      } as unknown as CreateContainerGroupRequest
      const g = yield* describe1(yield* create(request))
      expect(g).toMatchObject({ Cpu: 0.5, Memory: 1 })
      expect(g?.Containers?.map((c) => [c.Name, c.Commands])).toEqual([["a", ["sleep", "10"]], ["b", []]])
    }).pipe(withSimulator()))

  it.effect("DryRun validates without creating: DryRun.Success", () =>
    Effect.gen(function*() {
      expect(yield* failureOf("CreateContainerGroup", { ...base, DryRun: true })).toMatchObject({ code: "DryRun.Success" })
      expect(yield* failureOf("CreateContainerGroup", { ...base, DryRun: true, Cpu: 3, Memory: 3 })).toMatchObject({ code: "InvalidParameter" })
    }).pipe(withSimulator()))

  it.effect("an instance sized by its containers is rounded up to a supported spec, with an event", () =>
    Effect.gen(function*() {
      const g = yield* describe1(yield* create({ ...base, Container: [{ ...app, Cpu: 0.3, Memory: 0.6 }, { Name: "b", Image: "redis", Cpu: 1, Memory: 1 }] }))
      expect(g).toMatchObject({ Cpu: 2, Memory: 2 }) // 1.3 vCPU / 1.6 GiB → the smallest documented spec covering both
      expect(g?.Events?.find((e) => e.Reason === "AutoInstanceTypeMatch")).toBeDefined()
      const plain = yield* describe1(yield* create(base))
      expect(plain).toMatchObject({ Cpu: 2, Memory: 4 }) // ECI's default spec
    }).pipe(withSimulator()))
})

describe("spec table", () => {
  it("holds the documented combinations and nothing else", () => {
    expect(isSupportedSpec(0.25, 0.5)).toBe(true)
    expect(isSupportedSpec(2, 16)).toBe(true)
    expect(isSupportedSpec(64, 512)).toBe(true)
    expect(isSupportedSpec(2, 2)).toBe(true) // in ECI's all-regions table
    expect(isSupportedSpec(0.25, 4)).toBe(false)
    expect(isSupportedSpec(3, 6)).toBe(false)
  })

  it("rounds up to the nearest spec", () => {
    expect(roundUpSpec(7, 13)).toEqual({ cpu: 8, memory: 16 })
    expect(roundUpSpec(0.1, 0.1)).toEqual({ cpu: 0.25, memory: 0.5 })
    expect(roundUpSpec(1, 9)).toEqual({ cpu: 2, memory: 16 })
    expect(roundUpSpec(64, 1024)).toBeUndefined()
  })
})

describe("topology", () => {
  const topology = {
    regions: ["cn-hangzhou"],
    vSwitches: [
      { id: "vsw-a", zoneId: "cn-hangzhou-h", cidr: "192.168.0.0/29", vpcId: "vpc-1" },
      { id: "vsw-b", zoneId: "cn-hangzhou-i", cidr: "192.168.1.0/24", vpcId: "vpc-1" }
    ],
    securityGroups: [{ id: "sg-1", vpcId: "vpc-1" }, { id: "sg-other", vpcId: "vpc-2" }]
  }
  const inTopology = createRequest({ VSwitchId: "vsw-a", SecurityGroupId: "sg-1" })

  it.effect("a configured topology makes unknown ids the errors ECI returns", () =>
    Effect.gen(function*() {
      expect(yield* failureOf("CreateContainerGroup", { ...inTopology, VSwitchId: "vsw-zzz" })).toMatchObject({ code: "InvalidVSwitchId.NotFound", httpStatus: 404 })
      expect(yield* failureOf("CreateContainerGroup", { ...inTopology, SecurityGroupId: "sg-zzz" })).toMatchObject({ code: "InvalidSecurityGroupId.NotFound" })
      expect(yield* failureOf("CreateContainerGroup", { ...inTopology, SecurityGroupId: "sg-other" })).toMatchObject({ code: "InvalidSecurityGroup.VpcMismatch" })
      expect(yield* failureOf("CreateContainerGroup", { ...inTopology, RegionId: "cn-beijing" })).toMatchObject({ code: "InvalidRegionId.NotFound" })
      const g = yield* describe1(yield* create(inTopology))
      expect(g).toMatchObject({ ZoneId: "cn-hangzhou-h", VpcId: "vpc-1", IntranetIp: "192.168.0.1" })
    }).pipe(withSimulator({ topology })))

  it.effect("addresses come from the vSwitch CIDR; exhaustion is InvalidVSwitchId.IpNotEnough, a second vSwitch takes over", () =>
    Effect.gen(function*() {
      // A /29 has 8 addresses; Alibaba reserves the first and the last three: 4 usable.
      const ips = yield* Effect.forEach([1, 2, 3, 4], () => create(inTopology).pipe(Effect.flatMap(describe1), Effect.map((g) => g?.IntranetIp)))
      expect(ips).toEqual(["192.168.0.1", "192.168.0.2", "192.168.0.3", "192.168.0.4"])
      expect(yield* failureOf("CreateContainerGroup", inTopology)).toMatchObject({ code: "InvalidVSwitchId.IpNotEnough", httpStatus: 400 })
      const g = yield* describe1(yield* create({ ...inTopology, VSwitchId: "vsw-a,vsw-b" }))
      expect(g).toMatchObject({ VSwitchId: "vsw-b", ZoneId: "cn-hangzhou-i" })
    }).pipe(withSimulator({ topology })))

  it.effect("a stocked-out zone is skipped when another vSwitch is offered; otherwise ScheduleFailed with NoStock", () =>
    Effect.gen(function*() {
      const multi = yield* describe1(yield* create({ ...inTopology, VSwitchId: "vsw-a,vsw-b" }))
      expect(multi?.ZoneId).toBe("cn-hangzhou-i")
      const only = yield* create(inTopology)
      expect((yield* describe1(only))?.Status).toBe("Scheduling")
      yield* at(50)
      const failed = yield* describe1(only)
      expect(failed?.Status).toBe("ScheduleFailed")
      expect(failed?.IntranetIp).toBe("")
      expect(failed?.Events?.find((e) => e.Reason === "NoStock")).toMatchObject({ Type: "Warning" })
    }).pipe(withSimulator({ topology, stockOut: { zones: ["cn-hangzhou-h"] } })))

  it.effect("synchronous stock-out mode fails CreateContainerGroup with OperationDenied.NoStock", () =>
    Effect.gen(function*() {
      expect(yield* failureOf("CreateContainerGroup", { ...base, Cpu: 2, Memory: 4 })).toMatchObject({ code: "OperationDenied.NoStock", httpStatus: 403 })
      expect((yield* describe1(yield* create({ ...base, Cpu: 1, Memory: 2 })))?.Status).toBe("Scheduling")
    }).pipe(withSimulator({ stockOut: { specs: ["2-4"], mode: "sync" } })))
})
