/**
 * DescribeContainerGroupMetric / DescribeMultiContainerGroupMetric (reference §1.9). The numbers are
 * made up but plausible and deterministic: each container gets a CPU and memory level fixed by its
 * instance id and name, a slow wave on top, and zero while it is not running. Cumulative counters
 * (UsageCoreNanoSeconds, network bytes) grow with running time, so rates computed from two samples
 * are positive, as a `/stats/summary` emulation expects.
 */
import type {
  DescribeContainerGroupMetricResponseBodyRecords as RecordView,
  DescribeMultiContainerGroupMetricResponseBodyMonitorDatasRecords as MultiRecordView
} from "../api.generated.ts"
import { Faults } from "./failures.ts"
import type { Fields } from "./fields.ts"
import { unitFrom } from "./prng.ts"
import type { ContainerRuntime, Instance } from "./state.ts"
import { rfc3339 } from "./views.ts"

const GiB = 1024 ** 3
const wavePeriodMs = 300_000

/** Assumption: the Period values ECI accepts, seconds. */
export const metricPeriods = [15, 30, 60, 600] as const
export const maxRecords = 50

const runningMsUpTo = (c: ContainerRuntime, t: number) =>
  c.runs.reduce((sum, r) => sum + Math.max(0, Math.min(t, r.endedAt ?? t) - r.startedAt), 0)

const isRunningAt = (c: ContainerRuntime, t: number) => c.runs.some((r) => r.startedAt <= t && t < (r.endedAt ?? Number.POSITIVE_INFINITY))

const containerSample = (i: Instance, c: ContainerRuntime, t: number) => {
  const share = c.spec.cpu !== undefined && c.spec.cpu > 0 ? c.spec.cpu : i.cpu / i.containers.length
  const memLimit = Math.round((c.spec.memory !== undefined && c.spec.memory > 0 ? c.spec.memory : i.memory / i.containers.length) * GiB)
  const key = `${i.id}/${c.spec.name}`
  const cpuLevel = 0.05 + 0.45 * unitFrom(`${key}/cpu`)
  const memLevel = 0.1 + 0.4 * unitFrom(`${key}/memory`)
  const phase = 2 * Math.PI * unitFrom(`${key}/phase`)
  const wave = 1 + 0.2 * Math.sin((2 * Math.PI * t) / wavePeriodMs + phase)
  const running = isRunningAt(c, t)
  const nanoCores = running ? Math.round(cpuLevel * wave * share * 1e9) : 0
  const workingSet = running ? Math.round(memLimit * memLevel * (1 + 0.05 * Math.sin((2 * Math.PI * t) / wavePeriodMs))) : 0
  const cache = Math.round(workingSet * 0.15)
  return {
    name: c.spec.name,
    cpu: {
      // Assumption: Limit in millicores, Load as a percentage of the limit.
      Limit: Math.round(share * 1000),
      Load: Math.round((nanoCores / (share * 1e9)) * 100),
      UsageNanoCores: nanoCores,
      UsageCoreNanoSeconds: Math.round(cpuLevel * share * 1e9 * (runningMsUpTo(c, t) / 1000))
    },
    memory: {
      WorkingSet: workingSet,
      Rss: Math.round(workingSet * 0.85),
      Cache: cache,
      UsageBytes: workingSet + cache,
      AvailableBytes: memLimit - workingSet
    },
    runningMs: runningMsUpTo(c, t)
  }
}

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

const sample = (i: Instance, t: number) => {
  const containers = i.containers.map((c) => containerSample(i, c, t))
  const seconds = Math.max(0, ...containers.map((c) => c.runningMs)) / 1000
  const cpu = {
    Limit: Math.round(i.cpu * 1000),
    Load: Math.round((sum(containers.map((c) => c.cpu.UsageNanoCores)) / (i.cpu * 1e9)) * 100),
    UsageNanoCores: sum(containers.map((c) => c.cpu.UsageNanoCores)),
    UsageCoreNanoSeconds: sum(containers.map((c) => c.cpu.UsageCoreNanoSeconds))
  }
  const memory = {
    WorkingSet: sum(containers.map((c) => c.memory.WorkingSet)),
    Rss: sum(containers.map((c) => c.memory.Rss)),
    Cache: sum(containers.map((c) => c.memory.Cache)),
    UsageBytes: sum(containers.map((c) => c.memory.UsageBytes)),
    AvailableBytes: Math.round(i.memory * GiB) - sum(containers.map((c) => c.memory.WorkingSet))
  }
  const rx = Math.round(2048 * seconds)
  const tx = Math.round(1024 * seconds)
  const network = {
    Interfaces: [{
      Name: "eth0",
      RxBytes: rx,
      RxPackets: Math.round(rx / 512),
      RxErrors: 0,
      RxDrops: 0,
      TxBytes: tx,
      TxPackets: Math.round(tx / 512),
      TxErrors: 0,
      TxDrops: 0
    }]
  }
  const read = Math.round(4096 * seconds)
  const written = Math.round(8192 * seconds)
  const capacity = 30 * GiB
  const used = Math.min(capacity, 2 * GiB + written)
  return { containers, cpu, memory, network, read, written, capacity, used }
}

/** The fields both metric actions share; they differ only in the spelling of Disk and Filesystem. */
const commonRecord = (i: Instance, t: number) => {
  const s = sample(i, t)
  const diskIo = { read: Math.round(s.read / 4096), written: Math.round(s.written / 4096) }
  const record = {
    Timestamp: rfc3339(t),
    CPU: s.cpu,
    Memory: s.memory,
    Network: s.network,
    Containers: s.containers.map((c) => ({ Name: c.name, CPU: c.cpu, Memory: c.memory }))
  }
  return { s, diskIo, record }
}

export const recordAt = (i: Instance, t: number): RecordView => {
  const { s, diskIo, record } = commonRecord(i, t)
  return {
    ...record,
    Disk: [{ Device: "/dev/vda", ReadBytes: s.read, ReadIO: diskIo.read, WriteBytes: s.written, WriteIO: diskIo.written }],
    Filesystem: [{ FsName: "/dev/vda1", Category: "system", Capacity: s.capacity, Usage: s.used, Available: s.capacity - s.used }]
  }
}

/** DescribeMultiContainerGroupMetric spells the disk counters `ReadIo`/`WriteIo` and has no Category. */
export const multiRecordAt = (i: Instance, t: number): MultiRecordView => {
  const { s, diskIo, record } = commonRecord(i, t)
  return {
    ...record,
    Disk: [{ Device: "/dev/vda", ReadBytes: s.read, ReadIo: diskIo.read, WriteBytes: s.written, WriteIo: diskIo.written }],
    Filesystem: [{ FsName: "/dev/vda1", Capacity: s.capacity, Usage: s.used, Available: s.capacity - s.used }]
  }
}

const parseTime = (f: Fields, name: string): number | undefined => {
  const text = f.str(name)
  if (text === undefined || text === "") return undefined
  const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(text) ? Date.parse(text) : Number.NaN
  if (!Number.isFinite(t)) throw Faults.invalidParameter(name, "an RFC 3339 UTC time such as 2018-08-02T15:00:00Z is expected")
  return t
}

/** Records of one instance between StartTime and EndTime (default: the last 5 minutes), every Period seconds. */
export const metricRecords = (i: Instance, f: Fields, now: number): ReadonlyArray<RecordView> => {
  const periodText = f.str("Period")
  const period = periodText === undefined || periodText === "" ? 60 : Number(periodText)
  if (!(metricPeriods as ReadonlyArray<number>).includes(period)) {
    throw Faults.invalidParameter("Period", `one of ${metricPeriods.join(", ")}`)
  }
  const end = Math.min(parseTime(f, "EndTime") ?? now, now)
  const start = parseTime(f, "StartTime") ?? end - 5 * 60_000
  if (start > end) throw Faults.invalidParameter("StartTime", "must not be after EndTime")
  const periodMs = period * 1000
  const first = Math.ceil(Math.max(start, i.createdAt) / periodMs) * periodMs
  const count = first > end ? 0 : Math.floor((end - first) / periodMs) + 1
  if (count > maxRecords) throw Faults.invalidParameter("StartTime", `the range holds ${count} records, more than ${maxRecords}`)
  return Array.from({ length: count }, (_, k) => recordAt(i, first + k * periodMs))
}
