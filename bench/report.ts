/**
 * The summary: one column per system (ours once per simulator profile), medians over repetitions,
 * ratios of ours against each peer, and the targets with what was measured.
 */
import type { RunResult } from "./scenario.ts"
import { median } from "./stats.ts"

export interface Column {
  readonly key: string
  readonly runs: ReadonlyArray<RunResult>
}

export const columnsOf = (runs: ReadonlyArray<RunResult>): Array<Column> => {
  const keys: Array<string> = []
  for (const r of runs) {
    const k = keyOf(r)
    if (!keys.includes(k)) keys.push(k)
  }
  const order = (k: string) => ["ours/zero", "ours/quota", "vk-mock", "kwok"].indexOf(k)
  return keys.sort((a, b) => order(a) - order(b)).map((key) => ({ key, runs: runs.filter((r) => keyOf(r) === key) }))
}

export const keyOf = (r: RunResult) => (r.system === "ours" ? `ours/${r.profile}` : r.system)

type Getter = (r: RunResult) => number | undefined

const m = (c: Column, g: Getter) => median(c.runs.map(g))

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0)
const throttles = (r: RunResult) =>
  [r.burst.eciErrors, r.steady.eciErrors, r.hold.eciErrors].reduce((a, e) => a + sum(Object.fromEntries(Object.entries(e).filter(([k]) => k.endsWith("Throttling.User")))), 0)
const perPod = (calls: Record<string, number>, action: string, pods: number) => (pods > 0 ? (calls[action] ?? 0) / pods : 0)

interface Row {
  readonly label: string
  readonly get: Getter
  readonly fmt: (v: number) => string
  readonly oursOnly?: boolean
  /** For ratios: which direction is better. */
  readonly better?: "higher" | "lower"
}

const f0 = (v: number) => v.toFixed(0)
const f1 = (v: number) => v.toFixed(1)
const f2 = (v: number) => v.toFixed(2)
const mb = (v: number) => (v / 1048576).toFixed(0)
const pct = (v: number) => `${(v * 100).toFixed(0)}%`

export const rows: ReadonlyArray<Row> = [
  { label: "burst: pods Running / pods", get: (r) => r.burst.running, fmt: f0 },
  { label: "burst: pods/s (create→all Running)", get: (r) => r.burst.podsPerSecond, fmt: f1, better: "higher" },
  { label: "burst: p50 create→Running (ms)", get: (r) => r.burst.latency.p50, fmt: f0, better: "lower" },
  { label: "burst: p99 create→Running (ms)", get: (r) => r.burst.latency.p99, fmt: f0, better: "lower" },
  { label: "burst: p50 watch→cloud call (ms)", get: (r) => r.burst.watchToCloud?.p50, fmt: f0, oursOnly: true },
  { label: "burst: p99 watch→cloud call (ms)", get: (r) => r.burst.watchToCloud?.p99, fmt: f0, oursOnly: true },
  { label: "burst: ECI Create per pod", get: (r) => perPod(r.burst.eciCalls, "CreateContainerGroup", r.burst.pods), fmt: f2, oursOnly: true },
  { label: "burst: ECI Describe per pod", get: (r) => perPod(r.burst.eciCalls, "DescribeContainerGroups", r.burst.pods), fmt: f2, oursOnly: true },
  { label: "burst: Create quota used", get: (r) => r.burst.createQuotaUse, fmt: pct, oursOnly: true },
  { label: "burst: API requests per pod", get: (r) => (r.burst.pods > 0 ? r.burst.apiRequests / r.burst.pods : undefined), fmt: f2, better: "lower" },
  { label: "burst: kubelet CPU-s", get: (r) => r.burst.cpuSeconds, fmt: f1, better: "lower" },
  { label: "deletion: seconds for the burst", get: (r) => r.burstDelete.seconds, fmt: f1, better: "lower" },
  { label: "deletion: p99 delete→gone (ms)", get: (r) => r.burstDelete.latency.p99, fmt: f0, better: "lower" },
  { label: "deletion: pods stuck (never deleted)", get: (r) => (r.burstDelete.stuck ?? 0) + (r.steadyDelete.stuck ?? 0), fmt: f0 },
  { label: "steady: pods/s at the paced rate", get: (r) => r.steady.podsPerSecond, fmt: f1, better: "higher" },
  { label: "steady: p99 create→Running (ms)", get: (r) => r.steady.latency.p99, fmt: f0, better: "lower" },
  { label: "steady: p50 watch→cloud call (ms)", get: (r) => r.steady.watchToCloud?.p50, fmt: f0, oursOnly: true },
  { label: "steady: p99 watch→cloud call (ms)", get: (r) => r.steady.watchToCloud?.p99, fmt: f0, oursOnly: true },
  { label: "hold: population", get: (r) => r.hold.population, fmt: f0 },
  { label: "hold: ECI Describe per pod-hour", get: (r) => r.hold.eciCallsPerPodHour["DescribeContainerGroups"] ?? 0, fmt: f2, oursOnly: true },
  { label: "hold: ECI calls per pod-hour (all)", get: (r) => sum(r.hold.eciCallsPerPodHour), fmt: f2, oursOnly: true },
  { label: "hold: API requests per pod-hour", get: (r) => r.hold.apiRequestsPerPodHour, fmt: f2, better: "lower" },
  { label: "hold: kubelet CPU-s per minute", get: (r) => (r.hold.seconds > 0 ? (r.hold.cpuSeconds * 60) / r.hold.seconds : undefined), fmt: f2, better: "lower" },
  { label: "steady deletion: seconds", get: (r) => r.steadyDelete.seconds, fmt: f1, better: "lower" },
  { label: "throttling errors received", get: throttles, fmt: f0, oursOnly: true },
  { label: "peak RSS (MB)", get: (r) => r.peakRssBytes, fmt: mb, better: "lower" },
  { label: "RSS at end of hold (MB)", get: (r) => r.hold.rssBytesAtEnd, fmt: mb, better: "lower" },
  { label: "kubelet CPU-s (whole run)", get: (r) => r.cpuSecondsTotal, fmt: f1, better: "lower" },
  { label: "API requests (whole run)", get: (r) => r.apiRequestsTotal, fmt: f0, better: "lower" },
  { label: "kubelet died mid-run (0 or 1)", get: (r) => (r.exitedDuringRun === undefined ? 0 : 1), fmt: f0 },
  { label: "startup to Node Ready (s)", get: (r) => r.startupSeconds, fmt: f1, better: "lower" }
]

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))
const lpad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s)

export const renderTable = (runs: ReadonlyArray<RunResult>): string => {
  const cols = columnsOf(runs)
  const ours = cols.filter((c) => c.key.startsWith("ours"))
  const peers = cols.filter((c) => !c.key.startsWith("ours"))
  const ratioCols = ours.flatMap((o) => peers.map((p) => ({ o, p, key: `${o.key} ÷ ${p.key}` })))
  const w0 = Math.max(...rows.map((r) => r.label.length)) + 2
  const wc = Math.max(12, ...cols.map((c) => c.key.length + 2))
  const wr = Math.max(12, ...ratioCols.map((c) => c.key.length + 2))
  const header = pad("metric (median of reps)", w0) + cols.map((c) => lpad(c.key, wc)).join("") + ratioCols.map((c) => lpad(c.key, wr)).join("")
  const lines = [header, "-".repeat(header.length)]
  for (const row of rows) {
    const cells = cols.map((c) => {
      if (row.oursOnly === true && !c.key.startsWith("ours")) return lpad("·", wc)
      const v = m(c, row.get)
      const incomplete = c.runs.some((r) => !r.burst.complete) && row.label.startsWith("burst") ? "*" : ""
      return lpad(v === undefined ? "-" : row.fmt(v) + incomplete, wc)
    })
    const ratios = ratioCols.map(({ o, p }) => {
      if (row.better === undefined) return lpad("", wr)
      const a = m(o, row.get)
      const b = m(p, row.get)
      if (a === undefined || b === undefined || b === 0) return lpad("-", wr)
      return lpad(`${(a / b).toFixed(2)}×`, wr)
    })
    lines.push(pad(row.label, w0) + cells.join("") + ratios.join(""))
  }
  const reps = cols.map((c) => `${c.key}: ${c.runs.length}`).join(", ")
  lines.push("", `repetitions: ${reps}. ratio = ours ÷ peer (pods/s: higher is better for us; times, RSS, CPU, requests: lower).`,
    "'*' = a burst did not finish within the timeout: pods/s counts the pods that made it. '·' = not applicable.")
  return lines.join("\n")
}

export interface TargetCheck {
  readonly target: string
  readonly measured: string
  readonly met: boolean | undefined
}

/** The targets against the medians (undefined: not measured in this run). */
export const checkTargets = (runs: ReadonlyArray<RunResult>, rate = 100): Array<TargetCheck> => {
  const cols = columnsOf(runs)
  const col = (k: string) => cols.find((c) => c.key === k)
  const oursZero = col("ours/zero")
  const oursQuota = col("ours/quota")
  const vk = col("vk-mock")
  const kwok = col("kwok")
  const pps = (c: Column | undefined) => (c === undefined ? undefined : m(c, (r) => r.burst.podsPerSecond))
  const out: Array<TargetCheck> = []
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : a / b)
  const rv = ratio(pps(oursZero), pps(vk))
  out.push({ target: "zero-latency burst pods/s ≥ 50× vk-mock", measured: rv === undefined ? "not measured" : `${rv.toFixed(1)}×`, met: rv === undefined ? undefined : rv >= 50 })
  const rk = ratio(pps(oursZero), pps(kwok))
  out.push({ target: "zero-latency burst pods/s ≥ 0.9× kwok", measured: rk === undefined ? "not measured" : `${rk.toFixed(2)}×`, met: rk === undefined ? undefined : rk >= 0.9 })
  const w2c = oursZero === undefined ? undefined : m(oursZero, (r) => r.steady.watchToCloud?.p99)
  out.push({
    target: "p99 watch→cloud call ≤ 50 ms at 100 pods/s (steady ramp)",
    measured: w2c === undefined ? "not measured" : `${w2c.toFixed(0)} ms at ${rate} pods/s`,
    met: w2c === undefined ? undefined : w2c > 50 ? false : rate >= 100 ? true : undefined
  })
  const qu = oursQuota === undefined ? undefined : m(oursQuota, (r) => r.burst.createQuotaUse)
  const qt = oursQuota === undefined ? undefined : m(oursQuota, throttles)
  out.push({
    target: "quota profile: ≥ 95 % of the Create quota used, 0 throttling errors",
    measured: qu === undefined ? "not measured (needs --profile quota and > 100 pods)" : `${(qu * 100).toFixed(0)} %, ${qt ?? "?"} throttled`,
    met: qu === undefined ? undefined : qu >= 0.95 && qt === 0
  })
  const steadyCol = oursQuota ?? oursZero
  const d = steadyCol === undefined ? undefined : m(steadyCol, (r) => r.hold.eciCallsPerPodHour["DescribeContainerGroups"] ?? 0)
  const pop = steadyCol === undefined ? undefined : m(steadyCol, (r) => r.hold.population)
  out.push({
    target: "≤ 6 Describe calls per pod-hour at 5,000 steady pods",
    measured: d === undefined ? "not measured" : `${d.toFixed(2)} at ${pop ?? "?"} pods`,
    met: d === undefined ? undefined : d <= 6 && (pop ?? 0) >= 5000 ? true : d <= 6 ? undefined : false
  })
  const rssCol = oursZero ?? oursQuota
  const rss = rssCol === undefined ? undefined : m(rssCol, (r) => r.peakRssBytes)
  const popZ = rssCol === undefined ? undefined : m(rssCol, (r) => r.hold.population)
  out.push({
    target: "RSS ≤ 256 MB at 10,000 pods",
    measured: rss === undefined ? "not measured" : `${(rss / 1048576).toFixed(0)} MB peak (steady population ${popZ ?? "?"})`,
    met: rss === undefined ? undefined : rss > 256 * 1048576 ? false : (popZ ?? 0) >= 10000 ? true : undefined
  })
  return out
}

export const renderTargets = (checks: ReadonlyArray<TargetCheck>) =>
  ["targets (issue 9):", ...checks.map((c) => `  [${c.met === undefined ? " ?" : c.met ? "ok" : "NO"}] ${c.target}: ${c.measured}`)].join("\n")
