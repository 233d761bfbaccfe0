import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { decodeRequest, unflatten } from "../../../src/eci/simulator/query.ts"
import { captureSdkRequest } from "./sdkCapture.ts"

// What the real SDK sends, read back: every request must come out exactly as it went in.
const roundTrip = async (action: string, request: Record<string, unknown>) => {
  const { url } = await captureSdkRequest(action, request)
  const decoded = decodeRequest(action, new URL(url, "http://simulator").searchParams)
  if (Result.isFailure(decoded)) throw new Error(`${decoded.failure.param} ${decoded.failure.problem}`)
  return decoded.success
}

const container = (i: number) => ({
  Name: `c${i}`,
  Image: `registry.example.com/app:${i}`,
  Cpu: 0.25,
  Memory: 0.5,
  Command: ["sh", "-c"],
  Arg: Array.from({ length: 12 }, (_, k) => `arg-${k + 1}`), // Arg.10 sorts before Arg.2 as text
  Port: [{ Port: 8080 + i, Protocol: "TCP" }],
  EnvironmentVar: [
    { Key: "POD_IP", FieldRef: { FieldPath: "status.podIP" } },
    { Key: "ODD", Value: "a=b&c+d e,f:g!*()~'%20日本" },
    { Key: "EMPTY", Value: "" }
  ],
  VolumeMount: [{ Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true, SubPath: "x" }],
  SecurityContext: { Capability: { Add: ["NET_ADMIN", "SYS_TIME"] }, ReadOnlyRootFilesystem: false, RunAsUser: 1000 },
  LivenessProbe: { HttpGet: { Path: "/healthz", Port: 8080, Scheme: "HTTP" }, PeriodSeconds: 10, FailureThreshold: 3 },
  ReadinessProbe: { Exec: { Command: ["cat", "/tmp/ready"] }, InitialDelaySeconds: 0 },
  Stdin: false,
  Tty: true
})

describe("query string → wire request", () => {
  it("a CreateContainerGroup with 12 containers and every kind of field round-trips through the real SDK", async () => {
    const request = {
      RegionId: "cn-hangzhou",
      ContainerGroupName: "ns-web-0",
      ClientToken: "uid-123",
      Cpu: 2,
      Memory: 4,
      RestartPolicy: "OnFailure",
      AutoMatchImageCache: true,
      TerminationGracePeriodSeconds: 30,
      VSwitchId: "vsw-1,vsw-2",
      SecurityGroupId: "sg-1",
      Container: Array.from({ length: 12 }, (_, i) => container(i + 1)),
      InitContainer: [{ Name: "init", Image: "busybox", Command: ["true"] }],
      Volume: [
        {
          Name: "cfg",
          Type: "ConfigFileVolume",
          ConfigFileVolume: { DefaultMode: 420, ConfigFileToPath: [{ Path: "a.conf", Content: "aGVsbG8=", Mode: 256 }] }
        },
        { Name: "tmp", Type: "EmptyDirVolume", EmptyDirVolume: { Medium: "Memory", SizeLimit: "1Gi" } }
      ],
      Tag: [{ Key: "k8s/namespace", Value: "default" }, { Key: "empty", Value: "" }],
      HostAliase: [{ Ip: "10.0.0.1", Hostname: ["a.example", "b.example"] }],
      DnsConfig: { NameServer: ["10.0.0.10"], Search: ["svc.cluster.local"], Option: [{ Name: "ndots", Value: "5" }] },
      ImageRegistryCredential: [{ Server: "registry.example.com", UserName: "u", Password: "p@ss/word+=" }]
    }
    assert.deepStrictEqual(await roundTrip("CreateContainerGroup", request), request)
  })

  it("JSON-string parameters stay strings", async () => {
    const describe = { RegionId: "r", ContainerGroupIds: JSON.stringify(["eci-a", "eci-b"]), Limit: 20 }
    assert.deepStrictEqual(await roundTrip("DescribeContainerGroups", describe), describe)
    const exec = {
      RegionId: "r",
      ContainerGroupId: "eci-a",
      ContainerName: "c",
      Command: JSON.stringify(["/bin/sh", "-c", "echo 'hi' && exit 3"]),
      TTY: false,
      Stdin: true,
      Sync: false
    }
    assert.deepStrictEqual(await roundTrip("ExecContainerCommand", exec), exec)
  })

  it("a 300 KB ConfigFileVolume content round-trips", async () => {
    const content = Buffer.from(Array.from({ length: 230_000 }, (_, i) => (i * 7919) % 256)).toString("base64")
    assert.isAbove(content.length, 300_000)
    const request = {
      RegionId: "r",
      ContainerGroupName: "big",
      Container: [{ Name: "c", Image: "nginx" }],
      Volume: [{ Name: "v", Type: "ConfigFileVolume", ConfigFileVolume: { ConfigFileToPath: [{ Path: "blob", Content: content }] } }]
    }
    assert.deepStrictEqual(await roundTrip("CreateContainerGroup", request), request)
  })

  it("orders list items by number, not as text", () => {
    const entries: Array<[string, string]> = [
      ["Container.10.Name", "ten"],
      ["Container.2.Name", "two"],
      ["Container.1.Name", "one"],
      ["Container.1.Command.11", "k"],
      ["Container.1.Command.9", "i"]
    ]
    assert.deepStrictEqual(Result.getOrThrow(unflatten(entries)), {
      Container: [{ Name: "one", Command: ["i", "k"] }, { Name: "two" }, { Name: "ten" }]
    })
  })

  it("types values by the SDK's model and keeps parameters it does not know", () => {
    const decoded = decodeRequest("CreateContainerGroup", [
      ["Cpu", "0.5"],
      ["AutoCreateEip", "false"],
      ["Container.1.Port.1.Port", "80"],
      ["ComputeCategory.1", "economy"], // newer API than 2.0.3: kept as sent
      ["VkClientVersion", "1.2"]
    ])
    assert.deepStrictEqual(Result.getOrThrow(decoded), {
      Cpu: 0.5,
      AutoCreateEip: false,
      Container: [{ Port: [{ Port: 80 }] }],
      ComputeCategory: ["economy"],
      VkClientVersion: "1.2"
    })
    // An action the SDK does not have decodes untyped.
    assert.deepStrictEqual(Result.getOrThrow(decodeRequest("NoSuchAction", [["A.1", "1"]])), { A: ["1"] })
  })

  it("names the parameter that cannot be read", () => {
    const problem = (entries: Array<[string, string]>) => {
      const r = decodeRequest("CreateContainerGroup", entries)
      return Result.isFailure(r) ? r.failure : undefined
    }
    assert.deepStrictEqual(problem([["Container.1.Cpu", "lots"]]), { param: "Container.1.Cpu", problem: "must be a number" })
    assert.deepStrictEqual(problem([["AutoMatchImageCache", "yes"]]), { param: "AutoMatchImageCache", problem: "must be true or false" })
    assert.deepStrictEqual(problem([["Container", "x"]]), { param: "Container", problem: "must be a list (name.1, name.2, …)" })
    assert.deepStrictEqual(problem([["Cpu.1", "2"]]), { param: "Cpu", problem: "must be a single number value" })
    assert.deepStrictEqual(problem([["DnsConfig", "x"]]), { param: "DnsConfig", problem: "must be a structure" })
    assert.deepStrictEqual(problem([["Tag.1", "x"], ["Tag.1.Key", "k"]]), {
      param: "Tag.1",
      problem: "is given both as a value and as a structure"
    })
  })
})
