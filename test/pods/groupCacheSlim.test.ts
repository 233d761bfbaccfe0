/**
 * The group cache keeps a slim copy of each group (`slimGroup`): what the pod controller reads, not
 * the environment, commands, volumes, DNS and tags DescribeContainerGroups also answers. Whatever the
 * controller computes from a group — the pod status, the write-back annotations, the failure, the
 * ECI events it records, the image updates — must come out the same from the slim copy.
 */
import { describe, expect, it } from "@effect/vitest"
import type { V1Pod } from "@kubernetes/client-node"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { DescribeContainerGroupsResponseBodyContainerGroupsContainers } from "../../src/eci/api.generated.ts"
import { Eci, type EciAction, type EciRequest, type EciResponse } from "../../src/eci/Eci.ts"
import type { ContainerGroup } from "../../src/eci/queries.ts"
import { eventKey } from "../../src/pods/decide.ts"
import { makeGroupCache, slimGroup } from "../../src/pods/groupCache.ts"
import { eciToStatus, groupFailure } from "../../src/translate/eciToStatus.ts"
import { writeBackAnnotations } from "../../src/translate/writeBack.ts"
import { create, createRequest, describe1, withSimulator } from "../eci/simulator/support.ts"
import { container, pod } from "../translate/fixtures.ts"

type EciContainer = DescribeContainerGroupsResponseBodyContainerGroupsContainers

const T0 = "2026-03-01T10:00:00Z"
const T1 = "2026-03-01T10:00:07Z"
const T2 = "2026-03-01T10:05:00Z"
const now = new Date("2026-03-01T10:06:00Z")

/** What DescribeContainerGroups says of a container besides its state: the bulk the cache drops. */
const bulk: Partial<EciContainer> = {
  Args: ["--port", "8080"],
  Commands: ["/bin/server"],
  Cpu: 0.5,
  Memory: 1,
  EnvironmentVars: Array.from({ length: 12 }, (_, i) => ({ Key: `VAR_${i}`, Value: `value-${i}-${"x".repeat(40)}` })),
  ImagePullPolicy: "IfNotPresent",
  Ports: [{ Port: 8080, Protocol: "TCP" }],
  VolumeMounts: [{ Name: "config", MountPath: "/etc/config", ReadOnly: true }],
  WorkingDir: "/srv",
  ReadinessProbe: { HttpGet: { Path: "/ready", Port: 8080 }, PeriodSeconds: 5 },
  SecurityContext: { RunAsUser: 1000 }
}

const c = (name: string, state: NonNullable<EciContainer["CurrentState"]>, extra: Partial<EciContainer> = {}): EciContainer => ({
  ...bulk,
  Name: name,
  Image: "nginx:1.27",
  Ready: state?.State === "Running",
  RestartCount: 0,
  CurrentState: state,
  ...extra
})

const full = (g: Partial<ContainerGroup> = {}): ContainerGroup => ({
  ContainerGroupId: "eci-bp1abc",
  ContainerGroupName: "web-7d9c-abcde",
  Status: "Running",
  CreationTime: T0,
  IntranetIp: "192.168.3.7",
  InternetIp: "",
  Ipv6Address: "2408:4005::1",
  Cpu: 2,
  Memory: 4,
  InstanceType: "",
  ZoneId: "cn-hangzhou-k",
  VSwitchId: "vsw-1",
  SecurityGroupId: "sg-1",
  VpcId: "vpc-1",
  EniInstanceId: "eni-1",
  RegionId: "cn-hangzhou",
  RestartPolicy: "Always",
  Discount: 1,
  EphemeralStorage: 30,
  DnsConfig: { NameServers: ["10.96.0.10"], Searches: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], Options: [{ Name: "ndots", Value: "5" }] },
  EciSecurityContext: { Sysctls: [{ Name: "net.core.somaxconn", Value: "1024" }] },
  HostAliases: [{ Ip: "10.0.0.1", Hostnames: ["db"] }],
  Volumes: [{ Name: "config", Type: "ConfigFileVolume" }],
  Tags: ["cluster-id", "node-name", "namespace", "pod-name", "pod-uid"].map((k) => ({ Key: `eci-virtual-node.io/${k}`, Value: `value-of-${k}` })),
  Containers: [c("app", { State: "Running", StartTime: T1 })],
  Events: [
    { Count: 1, Type: "Normal", Name: "Pulling", Reason: "Pulling", Message: "pulling image nginx:1.27", FirstTimestamp: T0, LastTimestamp: T0 },
    { Count: 1, Type: "Normal", Name: "SuccessfulHitImageCache", Reason: "SuccessfulHitImageCache", Message: "hit image cache imc-2ze1", FirstTimestamp: T0, LastTimestamp: T0 },
    { Count: 1, Type: "Normal", Name: "Started", Reason: "Started", Message: "Started container app", FirstTimestamp: T1, LastTimestamp: T1 }
  ],
  ...g
})

const warning = (reason: string, message: string) => ({ Count: 2, Type: "Warning", Name: reason, Reason: reason, Message: message, FirstTimestamp: T1, LastTimestamp: T2 })

/** Groups in every state the controller tells apart, with every field DescribeContainerGroups fills. */
const groups: ReadonlyArray<readonly [string, ContainerGroup]> = [
  ["scheduling", full({ Status: "Scheduling", IntranetIp: "", Containers: [], Events: [] })],
  ["pending, container being created", full({ Status: "Pending", Containers: [c("app", { State: "Waiting", Reason: "ContainerCreating" })] })],
  ["running", full()],
  ["running, crash-looping", full({ Containers: [c("app", { State: "Waiting", Reason: "CrashLoopBackOff" }, { RestartCount: 3, PreviousState: { State: "Terminated", ExitCode: 1, StartTime: T1, FinishTime: T2 } })] })],
  ["running, another image", full({ Containers: [c("app", { State: "Running", StartTime: T1 }, { Image: "nginx:1.25" })] })],
  ["succeeded", full({ Status: "Succeeded", SucceededTime: T2, Containers: [c("app", { State: "Terminated", ExitCode: 0, Reason: "Completed", StartTime: T1, FinishTime: T2 })] })],
  ["failed, OOM", full({
    Status: "Failed",
    FailedTime: T2,
    Containers: [c("app", { State: "Terminated", ExitCode: 137, Reason: "Error", StartTime: T1, FinishTime: T2 })],
    Events: [warning("OOMKilled", "out of memory")]
  })],
  ["schedule failed, no stock", full({ Status: "ScheduleFailed", IntranetIp: "", Containers: [], Events: [warning("NoStock", "the instance type is out of stock")] })],
  ["starting failed", full({ Status: "StartingFailed", Events: [warning("FailedPullImage", "pull access denied")] })],
  ["spot, about to be released", full({ SpotStrategy: "SpotAsPriceGo", Events: [warning("SpotToBeReleased", "released in 5 minutes")] })],
  ["spot, expired", full({ Status: "Expired", SpotStrategy: "SpotWithPriceLimit", ExpiredTime: T2 })],
  ["ECS instance type, no addresses", full({ InstanceType: "ecs.c6.large", IntranetIp: "", Ipv6Address: "", InternetIp: "47.1.2.3" })],
  ["with init containers", full({
    Status: "Pending",
    InitContainers: [
      { ...bulk, Name: "init-db", Image: "busybox", Ready: false, RestartCount: 0, CurrentState: { State: "Terminated", ExitCode: 0, Reason: "Completed", StartTime: T0, FinishTime: T1 } },
      { ...bulk, Name: "init-cache", Image: "busybox", Ready: false, RestartCount: 1, CurrentState: { State: "Running", StartTime: T1 }, PreviousState: { State: "Terminated", ExitCode: 1, FinishTime: T1 } }
    ],
    Containers: [c("app", { State: "Waiting", Reason: "PodInitializing" })]
  })]
]

const pods: ReadonlyArray<readonly [string, V1Pod]> = [
  ["restartPolicy Always", pod({ containers: [container({ image: "nginx:1.27" })] }, { name: "web", namespace: "default", uid: "uid-1" })],
  ["restartPolicy Never, deadline", pod({ restartPolicy: "Never", activeDeadlineSeconds: 60, containers: [container({ image: "nginx:1.27" })] })],
  ["with init containers", pod({
    initContainers: [container({ name: "init-db", image: "busybox" }), container({ name: "init-cache", image: "busybox" })],
    containers: [container({ image: "nginx:1.27" })]
  })]
]

/** What the controller derives from a group (decide.ts, eciToStatus.ts, writeBack.ts). */
const derived = (p: V1Pod, g: ContainerGroup) => ({
  status: eciToStatus(p, g, now),
  annotations: writeBackAnnotations(g),
  failure: groupFailure(g),
  events: (g.Events ?? []).map((e) => ({ key: eventKey(e), type: e.Type, reason: e.Reason ?? e.Name, message: e.Message })),
  images: (g.Containers ?? []).map((x) => [x.Name, x.Image])
})

describe("slimGroup (what the group cache keeps of a group)", () => {
  for (const [groupCase, g] of groups) {
    for (const [podCase, p] of pods) {
      it(`${groupCase} / ${podCase}: the controller derives the same from the slim copy`, () => {
        expect(derived(p, slimGroup(g))).toEqual(derived(p, g))
      })
    }
  }

  it("drops the bulk: environment, commands, probes, volumes, DNS, tags", () => {
    const g = full()
    const slim = slimGroup(g)
    for (const key of ["Tags", "Volumes", "DnsConfig", "EciSecurityContext", "HostAliases", "ContainerGroupName", "RegionId"]) expect(slim).not.toHaveProperty(key)
    expect(Object.keys(slim.Containers?.[0] ?? {}).sort()).toEqual(["CurrentState", "Image", "Name", "Ready", "RestartCount"])
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(g).length / 2)
    // Idempotent, and no keys for absent values.
    expect(slimGroup(slim)).toEqual(slim)
    expect(slimGroup({ ContainerGroupId: "eci-1", Status: "Pending" })).toStrictEqual({ ContainerGroupId: "eci-1", Status: "Pending" })
  })

  it.effect("a group as the simulator describes it: the same from the slim copy at every stage", () =>
    Effect.gen(function*() {
      const id = yield* create(createRequest({
        RestartPolicy: "Always",
        Tag: [{ Key: "eci-virtual-node.io/pod-uid", Value: "uid-1" }],
        Volume: [{ Name: "config", Type: "EmptyDirVolume" }]
      }, {
        Name: "app",
        Image: "nginx:1.27",
        Arg: ["--port", "8080"],
        EnvironmentVar: Array.from({ length: 8 }, (_, i) => ({ Key: `VAR_${i}`, Value: `value-${i}` })),
        VolumeMount: [{ Name: "config", MountPath: "/etc/config" }]
      }))
      const p = pod({ containers: [container({ image: "nginx:1.27" })] }, { name: "web", namespace: "default", uid: "uid-1" })
      const seen = new Set<string>()
      for (let step = 0; step < 20; step++) {
        const g = yield* describe1(id)
        if (g === undefined) break
        seen.add(g.Status ?? "")
        expect(derived(p, slimGroup(g))).toEqual(derived(p, g))
        yield* TestClock.adjust("1 second")
      }
      expect(seen.has("Running")).toBe(true)
    }).pipe(withSimulator()))

  it.effect("the full list takes groups in page by page: a pod with groups on two pages keeps the live one; groups are kept slim", () =>
    Effect.gen(function*() {
      const tag = (uid: string) => [{ Key: "pod-uid", Value: uid }]
      // 45 groups, 20 a page: pod "dup" has its live group on page 1 and an older failed one on page 3,
      // which must not replace it.
      const groups: Array<ContainerGroup> = [
        full({ ContainerGroupId: "eci-dup-new", Status: "Running", CreationTime: T2, Tags: tag("dup") }),
        ...Array.from({ length: 43 }, (_, i) => full({ ContainerGroupId: `eci-${i}`, Tags: tag(`uid-${i}`) })),
        full({ ContainerGroupId: "eci-dup-old", Status: "Failed", CreationTime: T0, Tags: tag("dup") })
      ]
      const pagesServed: Array<number> = []
      const fake = Layer.succeed(Eci, Eci.of({
        call: <A extends EciAction>(_action: A, request: EciRequest<A>) => {
          const r = request as EciRequest<"DescribeContainerGroups">
          const from = Number(r.NextToken ?? "0")
          pagesServed.push(from)
          const to = Math.min(groups.length, from + 20)
          return Effect.succeed({ ContainerGroups: groups.slice(from, to), ...(to < groups.length ? { NextToken: String(to) } : {}) } as EciResponse<A>)
        }
      }))
      const cache = yield* makeGroupCache({ listTags: { cluster: "c1" }, podUidOf: (g) => g.Tags?.[0]?.Value, resyncInterval: "30 seconds" })
      yield* cache.run.pipe(Effect.provide(fake), Effect.forkChild)
      yield* TestClock.adjust("1 second")
      expect(pagesServed).toEqual([0, 20, 40])
      expect(cache.lastFullList()).toBeDefined()
      expect(cache.all().length).toBe(44)
      expect(cache.get("dup")?.ContainerGroupId).toBe("eci-dup-new")
      expect(cache.get("uid-7")).toEqual(slimGroup(groups[8]!))
      expect(cache.get("uid-7")).not.toHaveProperty("Tags")
    }))
})
