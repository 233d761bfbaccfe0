/**
 * Resource usage of the pods on this node, from DescribeMultiContainerGroupMetric (eci-reference
 * §1.9: up to 20 container groups per call, the latest record of each, 2000 calls/min for the
 * account). One snapshot serves `/stats/summary` and `/metrics/resource`; it is cached for
 * `cacheTtl` (10 s by default) and fetched by one caller at a time, so metrics-server's scrape every
 * 15 s costs ⌈pods/20⌉ calls however many scrapers there are — 1000 pods cost about 200 calls/min.
 *
 * The node's CPU counter is the sum of what our pods used, kept monotonic across pods coming and
 * going (a vanished pod's CPU stays counted; a restarted pod's counter starting again from zero
 * adds its new value), because metrics-server rejects a cumulative counter that goes back.
 */
import type { V1Pod } from "@kubernetes/client-node"
import { Clock, Context, Duration, Effect, Layer } from "effect"
import type { DescribeMultiContainerGroupMetricResponseBodyMonitorDatasRecords as MetricRecord } from "../eci/api.generated.ts"
import { Eci } from "../eci/Eci.ts"
import { Kube } from "../kube/Kube.ts"
import { groupIdOf } from "./pods.ts"
import type { ContainerSample, NodeSample, PodSample, StatsSnapshot } from "./statsFormat.ts"

export const METRIC_BATCH = 20

export interface StatsOptions {
  readonly nodeName: string
  /** How long one snapshot is served (default 10 s). */
  readonly cacheTtl?: Duration.Input
}

export class KubeletStats extends Context.Service<KubeletStats, {
  /** The current snapshot (never fails: what could not be read is named in `error`). */
  readonly snapshot: Effect.Effect<StatsSnapshot>
}>()("eci-virtual-node/KubeletStats") {}

const toMs = (v: Date | string | undefined): number | undefined => {
  if (v === undefined) return undefined
  const ms = v instanceof Date ? v.getTime() : Date.parse(v)
  return Number.isFinite(ms) ? ms : undefined
}

const n = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 0 : v)

/** The sample of one pod from its group's latest record; undefined when the record has no CPU/memory. */
export const podSample = (pod: V1Pod, record: MetricRecord, fallbackMs: number): PodSample | undefined => {
  if (record.CPU === undefined || record.Memory === undefined) return undefined
  const timestampMs = toMs(record.Timestamp) ?? fallbackMs
  const started = new Map(
    [...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, toMs(s.state?.running?.startedAt)] as const)
  )
  const specNames = (pod.spec?.containers ?? []).map((c) => c.name)
  const fromRecord: Array<ContainerSample> = (record.Containers ?? [])
    .filter((c) => c.Name !== undefined && specNames.includes(c.Name))
    .map((c) => ({
      name: c.Name!,
      startTimeMs: started.get(c.Name!),
      cpuCoreNanoSeconds: n(c.CPU?.UsageCoreNanoSeconds),
      cpuNanoCores: n(c.CPU?.UsageNanoCores),
      memoryWorkingSetBytes: n(c.Memory?.WorkingSet),
      memoryUsageBytes: n(c.Memory?.UsageBytes),
      memoryRssBytes: n(c.Memory?.Rss)
    }))
  const pod_ = {
    cpuCoreNanoSeconds: n(record.CPU.UsageCoreNanoSeconds),
    cpuNanoCores: n(record.CPU.UsageNanoCores),
    memoryWorkingSetBytes: n(record.Memory.WorkingSet),
    memoryUsageBytes: n(record.Memory.UsageBytes),
    memoryRssBytes: n(record.Memory.Rss)
  }
  // Without per-container records, a single-container pod's totals are its container's; several
  // containers cannot be told apart, so they get no container samples (metrics-server then skips the pod).
  const containers = fromRecord.length > 0 || specNames.length !== 1
    ? fromRecord
    : [{ name: specNames[0]!, startTimeMs: started.get(specNames[0]!), ...pod_ }]
  return {
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
    startTimeMs: toMs(pod.status?.startTime),
    timestampMs,
    ...pod_,
    memoryAvailableBytes: record.Memory.AvailableBytes,
    network: (record.Network?.Interfaces ?? []).map((i) => ({
      name: i.Name ?? "eth0",
      rxBytes: n(i.RxBytes),
      rxErrors: n(i.RxErrors),
      txBytes: n(i.TxBytes),
      txErrors: n(i.TxErrors)
    })),
    containers
  }
}

export interface NodeCpuState {
  readonly total: number
  readonly last: ReadonlyMap<string, number>
}

/**
 * The node's monotonic CPU counter after a new set of pod samples. `present` are the pods still on
 * the node: one without a sample this round (a failed batch) keeps its last value, so it is not
 * counted twice when it comes back; pods that left are forgotten.
 */
export const accumulateNodeCpu = (state: NodeCpuState, samples: ReadonlyArray<PodSample>, present: ReadonlySet<string>): NodeCpuState => {
  let total = state.total
  const last = new Map<string, number>()
  for (const p of samples) {
    const before = state.last.get(p.uid)
    total += before === undefined || p.cpuCoreNanoSeconds < before ? p.cpuCoreNanoSeconds : p.cpuCoreNanoSeconds - before
    last.set(p.uid, p.cpuCoreNanoSeconds)
  }
  for (const [uid, v] of state.last) if (!last.has(uid) && present.has(uid)) last.set(uid, v)
  return { total, last }
}

export const nodeSample = (pods: ReadonlyArray<PodSample>, cpuTotal: number, nowMs: number): NodeSample => {
  const sum = (f: (p: PodSample) => number) => pods.reduce((a, p) => a + f(p), 0)
  return {
    timestampMs: pods.length === 0 ? nowMs : Math.max(...pods.map((p) => p.timestampMs)),
    cpuCoreNanoSeconds: cpuTotal,
    cpuNanoCores: sum((p) => p.cpuNanoCores),
    memoryWorkingSetBytes: sum((p) => p.memoryWorkingSetBytes),
    memoryUsageBytes: sum((p) => p.memoryUsageBytes),
    memoryRssBytes: sum((p) => p.memoryRssBytes)
  }
}

const isActive = (pod: V1Pod) => pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed" && groupIdOf(pod) !== undefined

export const makeKubeletStats = (options: StatsOptions): Effect.Effect<typeof KubeletStats.Service, never, Kube | Eci> =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const eci = yield* Eci
    const startedAt = yield* Clock.currentTimeMillis
    let cpu: NodeCpuState = { total: 0, last: new Map() }

    const fetch = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const listed = yield* kube.listPods({ nodeName: options.nodeName }).pipe(Effect.result)
      if (listed._tag === "Failure") {
        return {
          nodeName: options.nodeName,
          nodeStartTimeMs: startedAt,
          node: nodeSample([], cpu.total, now),
          pods: [],
          error: `listing the pods of node ${options.nodeName}: ${listed.failure.message}`
        } satisfies StatsSnapshot
      }
      const pods = listed.success.filter(isActive)
      const byGroup = new Map(pods.map((p) => [groupIdOf(p)!, p]))
      const ids = [...byGroup.keys()]
      const batches = Array.from({ length: Math.ceil(ids.length / METRIC_BATCH) }, (_, i) => ids.slice(i * METRIC_BATCH, (i + 1) * METRIC_BATCH))
      const answers = yield* Effect.forEach(
        batches,
        (batch) =>
          eci.call("DescribeMultiContainerGroupMetric", { ContainerGroupIds: JSON.stringify(batch), MetricType: "summary" }).pipe(Effect.result),
        { concurrency: 4 }
      )
      const errors: Array<string> = []
      const samples: Array<PodSample> = []
      for (const answer of answers) {
        if (answer._tag === "Failure") {
          errors.push(`${answer.failure.code}${answer.failure.requestId === "" ? "" : ` (request id ${answer.failure.requestId})`}`)
          continue
        }
        for (const data of answer.success.MonitorDatas ?? []) {
          const pod = data.ContainerGroupId === undefined ? undefined : byGroup.get(data.ContainerGroupId)
          const record = data.Records?.at(-1)
          if (pod === undefined || record === undefined) continue
          const s = podSample(pod, record, now)
          if (s !== undefined) samples.push(s)
        }
      }
      samples.sort((a, b) => (a.namespace + "/" + a.name).localeCompare(b.namespace + "/" + b.name))
      cpu = accumulateNodeCpu(cpu, samples, new Set(pods.map((p) => p.metadata?.uid ?? "")))
      return {
        nodeName: options.nodeName,
        nodeStartTimeMs: startedAt,
        node: nodeSample(samples, cpu.total, now),
        pods: samples,
        error: errors.length === 0 ? undefined : `DescribeMultiContainerGroupMetric failed: ${errors.join(", ")}`
      } satisfies StatsSnapshot
    })

    const snapshot = yield* Effect.cachedWithTTL(fetch, options.cacheTtl ?? Duration.seconds(10))
    return KubeletStats.of({ snapshot })
  })

export const KubeletStatsLive = (options: StatsOptions): Layer.Layer<KubeletStats, never, Kube | Eci> =>
  Layer.effect(KubeletStats, makeKubeletStats(options))
