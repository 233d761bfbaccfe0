import type { V1Pod } from "@kubernetes/client-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { Eci } from "../../src/eci/Eci.ts"
import { layerInMemory } from "../../src/eci/simulator/inMemory.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import { accumulateNodeCpu, makeKubeletStats, podSample } from "../../src/kubelet/stats.ts"
import { formatFloat, type PodSample, resourceMetricsText, type StatsSnapshot, summaryDocument } from "../../src/kubelet/statsFormat.ts"

describe("formatFloat is Go's FormatFloat(v, 'g', -1, 64), as Prometheus' text format writes values", () => {
  it.each([
    [0, "0"],
    [1, "1"],
    [5.7, "5.7"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [123456, "123456"],
    [1234567, "1.234567e+06"],
    [15_000_000, "1.5e+07"],
    [1.5e21, "1.5e+21"],
    [-2.5, "-2.5"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"]
  ])("%s → %s", (v, text) => {
    expect(formatFloat(v)).toBe(text)
  })
})

const web: PodSample = {
  namespace: "default",
  name: "web",
  uid: "uid-web",
  startTimeMs: Date.parse("2024-05-01T11:00:00Z"),
  timestampMs: Date.parse("2024-05-01T12:00:00.250Z"),
  cpuCoreNanoSeconds: 12_500_000_000,
  cpuNanoCores: 250_000_000,
  memoryWorkingSetBytes: 15_000_000,
  memoryUsageBytes: 20_000_000,
  memoryRssBytes: 12_000_000,
  memoryAvailableBytes: 1_000_000_000,
  network: [{ name: "eth0", rxBytes: 2048, rxErrors: 0, txBytes: 1024, txErrors: 0 }],
  containers: [
    {
      name: "app",
      startTimeMs: Date.parse("2024-05-01T11:00:05Z"),
      cpuCoreNanoSeconds: 10_000_000_000,
      cpuNanoCores: 200_000_000,
      memoryWorkingSetBytes: 10_000_000,
      memoryUsageBytes: 14_000_000,
      memoryRssBytes: 8_000_000
    },
    {
      name: "side\"car",
      startTimeMs: undefined,
      cpuCoreNanoSeconds: 2_500_000_000,
      cpuNanoCores: 50_000_000,
      memoryWorkingSetBytes: 5_000_000,
      memoryUsageBytes: 6_000_000,
      memoryRssBytes: 4_000_000
    }
  ]
}

const snapshot: StatsSnapshot = {
  nodeName: "vk",
  nodeStartTimeMs: Date.parse("2024-05-01T10:00:00Z"),
  node: {
    timestampMs: web.timestampMs,
    cpuCoreNanoSeconds: 30_000_000_000,
    cpuNanoCores: 250_000_000,
    memoryWorkingSetBytes: 15_000_000,
    memoryUsageBytes: 20_000_000,
    memoryRssBytes: 12_000_000
  },
  pods: [web],
  error: undefined
}

describe("/metrics/resource", () => {
  it("is the kubelet's resource metrics text, line for line", () => {
    expect(resourceMetricsText(snapshot).split("\n")).toEqual([
      "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
      "# TYPE container_cpu_usage_seconds_total counter",
      "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"web\"} 10 1714564800250",
      "container_cpu_usage_seconds_total{container=\"side\\\"car\",namespace=\"default\",pod=\"web\"} 2.5 1714564800250",
      "# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes",
      "# TYPE container_memory_working_set_bytes gauge",
      "container_memory_working_set_bytes{container=\"app\",namespace=\"default\",pod=\"web\"} 1e+07 1714564800250",
      "container_memory_working_set_bytes{container=\"side\\\"car\",namespace=\"default\",pod=\"web\"} 5e+06 1714564800250",
      "# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds",
      "# TYPE container_start_time_seconds gauge",
      "container_start_time_seconds{container=\"app\",namespace=\"default\",pod=\"web\"} 1.714561205e+09",
      "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds",
      "# TYPE node_cpu_usage_seconds_total counter",
      "node_cpu_usage_seconds_total 30 1714564800250",
      "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes",
      "# TYPE node_memory_working_set_bytes gauge",
      "node_memory_working_set_bytes 1.5e+07 1714564800250",
      "# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds",
      "# TYPE pod_cpu_usage_seconds_total counter",
      "pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"web\"} 12.5 1714564800250",
      "# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes",
      "# TYPE pod_memory_working_set_bytes gauge",
      "pod_memory_working_set_bytes{namespace=\"default\",pod=\"web\"} 1.5e+07 1714564800250",
      "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
      "# TYPE resource_scrape_error gauge",
      "resource_scrape_error 0",
      "# HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
      "# TYPE scrape_error gauge",
      "scrape_error 0",
      ""
    ])
  })

  it("reports a failed scrape in the error gauges, and a node without pods", () => {
    const text = resourceMetricsText({ ...snapshot, pods: [], error: "DescribeMultiContainerGroupMetric failed: Throttling.User" })
    expect(text).toContain("\nresource_scrape_error 1\n")
    expect(text).toContain("\nscrape_error 1\n")
    expect(text).not.toContain("container_cpu_usage_seconds_total")
    expect(text).toContain("\nnode_cpu_usage_seconds_total 30 1714564800250\n")
  })
})

describe("/stats/summary", () => {
  it("is a stats/v1alpha1 Summary", () => {
    expect(summaryDocument(snapshot)).toEqual({
      node: {
        nodeName: "vk",
        startTime: "2024-05-01T10:00:00Z",
        cpu: { time: "2024-05-01T12:00:00Z", usageNanoCores: 250_000_000, usageCoreNanoSeconds: 30_000_000_000 },
        memory: { time: "2024-05-01T12:00:00Z", usageBytes: 20_000_000, workingSetBytes: 15_000_000, rssBytes: 12_000_000, pageFaults: 0, majorPageFaults: 0 }
      },
      pods: [{
        podRef: { name: "web", namespace: "default", uid: "uid-web" },
        startTime: "2024-05-01T11:00:00Z",
        containers: [
          {
            name: "app",
            startTime: "2024-05-01T11:00:05Z",
            cpu: { time: "2024-05-01T12:00:00Z", usageNanoCores: 200_000_000, usageCoreNanoSeconds: 10_000_000_000 },
            memory: { time: "2024-05-01T12:00:00Z", usageBytes: 14_000_000, workingSetBytes: 10_000_000, rssBytes: 8_000_000, pageFaults: 0, majorPageFaults: 0 }
          },
          {
            name: "side\"car",
            cpu: { time: "2024-05-01T12:00:00Z", usageNanoCores: 50_000_000, usageCoreNanoSeconds: 2_500_000_000 },
            memory: { time: "2024-05-01T12:00:00Z", usageBytes: 6_000_000, workingSetBytes: 5_000_000, rssBytes: 4_000_000, pageFaults: 0, majorPageFaults: 0 }
          }
        ],
        cpu: { time: "2024-05-01T12:00:00Z", usageNanoCores: 250_000_000, usageCoreNanoSeconds: 12_500_000_000 },
        memory: {
          time: "2024-05-01T12:00:00Z",
          availableBytes: 1_000_000_000,
          usageBytes: 20_000_000,
          workingSetBytes: 15_000_000,
          rssBytes: 12_000_000,
          pageFaults: 0,
          majorPageFaults: 0
        },
        network: {
          time: "2024-05-01T12:00:00Z",
          name: "eth0",
          rxBytes: 2048,
          rxErrors: 0,
          txBytes: 1024,
          txErrors: 0,
          interfaces: [{ name: "eth0", rxBytes: 2048, rxErrors: 0, txBytes: 1024, txErrors: 0 }]
        }
      }]
    })
  })
})

describe("the node's CPU counter", () => {
  const at = (uid: string, cpu: number): PodSample => ({ ...web, uid, cpuCoreNanoSeconds: cpu })
  it("adds what each pod used since the last round and never goes back", () => {
    let s = accumulateNodeCpu({ total: 0, last: new Map() }, [at("a", 100), at("b", 50)], new Set(["a", "b"]))
    expect(s.total).toBe(150)
    s = accumulateNodeCpu(s, [at("a", 130), at("b", 60)], new Set(["a", "b"]))
    expect(s.total).toBe(190)
    // b is gone from the node: its CPU stays counted; a restarted, its counter begins again.
    s = accumulateNodeCpu(s, [at("a", 20)], new Set(["a"]))
    expect(s.total).toBe(210)
    // c's batch failed this round; it keeps its last value and is not counted twice when it returns.
    s = accumulateNodeCpu(s, [at("c", 40)], new Set(["a", "c"]))
    s = accumulateNodeCpu(s, [], new Set(["a", "c"]))
    s = accumulateNodeCpu(s, [at("c", 45)], new Set(["a", "c"]))
    expect(s.total).toBe(255)
  })
})

describe("podSample", () => {
  const pod: V1Pod = {
    metadata: { name: "one", namespace: "ns", uid: "u1" },
    spec: { containers: [{ name: "only", image: "x" }] },
    status: { containerStatuses: [{ name: "only", image: "x", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: new Date(5_000) } } }] }
  }
  it("uses the group's totals for a single container when ECI gives no per-container records", () => {
    const s = podSample(pod, { Timestamp: "1970-01-01T00:00:10Z", CPU: { UsageCoreNanoSeconds: 7, UsageNanoCores: 3 }, Memory: { WorkingSet: 9, UsageBytes: 11, Rss: 5 } }, 0)
    expect(s?.containers).toEqual([{ name: "only", startTimeMs: 5_000, cpuCoreNanoSeconds: 7, cpuNanoCores: 3, memoryWorkingSetBytes: 9, memoryUsageBytes: 11, memoryRssBytes: 5 }])
    expect(s?.timestampMs).toBe(10_000)
    expect(podSample(pod, { Timestamp: "1970-01-01T00:00:10Z" }, 0)).toBeUndefined()
  })
})

const NODE = "vk-test"

const podsLayer = Layer.mergeAll(KubeInMemory(), layerInMemory({ profile: "fast" }))

/** `count` pods on the node, each with a running container group in the simulator. */
const podsWithGroups = (count: number) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const eci = yield* Eci
    for (let i = 0; i < count; i++) {
      const g = yield* eci.call("CreateContainerGroup", {
        ContainerGroupName: `p${i}`,
        VSwitchId: "vsw-test1",
        SecurityGroupId: "sg-test1",
        Container: [{ Name: "app", Image: "nginx:1.25", Cpu: 1, Memory: 2 }]
      })
      yield* kube.createPod({
        metadata: { name: `p${i}`, namespace: "default", annotations: { "k8s.aliyun.com/eci-instance-id": g.ContainerGroupId! } },
        spec: { nodeName: NODE, containers: [{ name: "app", image: "nginx:1.25" }] }
      })
    }
  })

describe("the stats snapshot over the in-memory Kubernetes API and ECI", () => {
  it.effect("asks ECI for at most 20 groups per call, caches for 10 s, and every pod gets CPU and memory", () =>
    Effect.gen(function*() {
      yield* podsWithGroups(25)
      yield* TestClock.adjust("5 seconds")
      const calls = yield* Ref.make<ReadonlyArray<number>>([])
      const eci = yield* Eci
      const counting = Eci.of({
        call: (action, request) =>
          (action === "DescribeMultiContainerGroupMetric"
            ? Ref.update(calls, (c) => [...c, JSON.parse((request as { ContainerGroupIds: string }).ContainerGroupIds).length])
            : Effect.void).pipe(Effect.andThen(eci.call(action, request)))
      })
      const stats = yield* makeKubeletStats({ nodeName: NODE }).pipe(Effect.provideService(Eci, counting))
      const first = yield* stats.snapshot
      expect(yield* Ref.get(calls)).toEqual([20, 5])
      expect(first.pods).toHaveLength(25)
      expect(first.error).toBeUndefined()
      for (const p of first.pods) {
        expect(p.cpuCoreNanoSeconds).toBeGreaterThan(0)
        expect(p.memoryWorkingSetBytes).toBeGreaterThan(0)
        expect(p.containers.map((c) => c.name)).toEqual(["app"])
      }
      yield* TestClock.adjust("5 seconds")
      expect(yield* stats.snapshot).toBe(first)
      expect(yield* Ref.get(calls)).toHaveLength(2)
      yield* TestClock.adjust("6 seconds")
      const later = yield* stats.snapshot
      expect(yield* Ref.get(calls)).toHaveLength(4)
      expect(later.node.cpuCoreNanoSeconds).toBeGreaterThan(first.node.cpuCoreNanoSeconds)
      expect(later.node.timestampMs).toBeGreaterThan(first.node.timestampMs)
      // metrics-server's rate: CPU delta over time delta, positive.
      const rate = (later.pods[0]!.cpuCoreNanoSeconds - first.pods[0]!.cpuCoreNanoSeconds) / (later.pods[0]!.timestampMs - first.pods[0]!.timestampMs)
      expect(rate).toBeGreaterThan(0)
    }).pipe(Effect.provide(podsLayer)))

  it.effect("an ECI failure becomes the scrape error, not a failed scrape", () =>
    Effect.gen(function*() {
      yield* podsWithGroups(2)
      yield* TestClock.adjust("1 second")
      const eci = yield* Eci
      const failing = Eci.of({
        call: (action, request) =>
          // A malformed id list: the simulator answers InvalidParameter, as ECI would.
          eci.call(action, action === "DescribeMultiContainerGroupMetric" ? { ...request, ContainerGroupIds: "not json" } : request)
      })
      const stats = yield* makeKubeletStats({ nodeName: NODE }).pipe(Effect.provideService(Eci, failing))
      const s = yield* stats.snapshot
      expect(s.pods).toEqual([])
      expect(s.error).toMatch(/^DescribeMultiContainerGroupMetric failed: InvalidParameter/)
      expect(resourceMetricsText(s)).toContain("resource_scrape_error 1")
    }).pipe(Effect.provide(podsLayer)))
})
