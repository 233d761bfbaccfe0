/**
 * What the harness reads besides the pods: the kubelet process from /proc, the API server's audit log
 * (requests per user: `apiserver_request_total` has no user or user-agent label, so the audit log is
 * the only per-client count kube-apiserver offers), and the bench simulator's call journal.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import type { CallRecord } from "./eciSimulator.ts"

// ---------------------------------------------------------------- /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

export interface ProcSample {
  readonly at: number
  readonly rssBytes: number
  readonly cpuSeconds: number
}

const readProc = (pid: number): ProcSample | undefined => {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
    // Fields after the ")" that closes the command name: utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    return { at: Date.now(), rssBytes: rssKb * 1024, cpuSeconds: ticks / CLK_TCK }
  } catch {
    return undefined // the process is gone
  }
}

/** VmHWM: the kernel's own peak-RSS mark for the process's lifetime (fresh process per run). */
export const peakRssBytes = (pid: number): number | undefined => {
  try {
    const kb = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

export interface ProcSampler {
  readonly samples: Array<ProcSample>
  readonly now: () => ProcSample | undefined
  readonly stop: () => void
}

/** Samples RSS and CPU time every `intervalMs` until stopped. */
export const sampleProc = (pid: number, intervalMs = 1000): ProcSampler => {
  const samples: Array<ProcSample> = []
  const take = () => {
    const s = readProc(pid)
    if (s !== undefined) samples.push(s)
    return s
  }
  take()
  const timer = setInterval(take, intervalMs)
  return { samples, now: take, stop: () => clearInterval(timer) }
}

// ---------------------------------------------------------------- audit log

/** Logs request metadata of the systems under test only; everything else (scheduler, harness, …) is not logged. */
export const auditPolicy = (usernames: ReadonlyArray<string>) =>
  JSON.stringify({
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      { level: "Metadata", users: usernames },
      { level: "None" }
    ]
  })

export interface AuditRequest {
  readonly at: number
  readonly user: string
  readonly verb: string
  /** resource[/subresource] */
  readonly resource: string
  readonly code: number
}

/** Reads the audit log from `offset`; one entry per request (auditID), stamped with its receive time. */
export const readAudit = (path: string, offset: number): { readonly requests: Array<AuditRequest>; readonly end: number } => {
  if (!fs.existsSync(path)) return { requests: [], end: offset }
  const fd = fs.openSync(path, "r")
  try {
    const size = fs.fstatSync(fd).size
    const buf = Buffer.alloc(Math.max(0, size - offset))
    fs.readSync(fd, buf, 0, buf.length, offset)
    const text = buf.toString("utf8")
    const lastNewline = text.lastIndexOf("\n")
    const seen = new Set<string>()
    const requests: Array<AuditRequest> = []
    for (const line of text.slice(0, lastNewline + 1).split("\n")) {
      if (line === "") continue
      const e = JSON.parse(line) as {
        auditID: string
        verb: string
        user?: { username?: string }
        objectRef?: { resource?: string; subresource?: string }
        responseStatus?: { code?: number }
        requestReceivedTimestamp: string
      }
      if (seen.has(e.auditID)) continue // a watch logs ResponseStarted and ResponseComplete
      seen.add(e.auditID)
      const r = e.objectRef?.resource ?? "nonResource"
      requests.push({
        at: Date.parse(e.requestReceivedTimestamp),
        user: e.user?.username ?? "",
        verb: e.verb,
        resource: e.objectRef?.subresource === undefined ? r : `${r}/${e.objectRef.subresource}`,
        code: e.responseStatus?.code ?? 0
      })
    }
    return { requests, end: offset + Buffer.byteLength(text.slice(0, lastNewline + 1)) }
  } finally {
    fs.closeSync(fd)
  }
}

// ---------------------------------------------------------------- simulator journal

export const fetchCalls = async (simulatorUrl: string): Promise<Array<CallRecord>> => {
  const res = await fetch(`${simulatorUrl}/admin/bench/calls`)
  const body = (await res.json()) as { calls: Array<CallRecord> }
  return body.calls
}

/** Selected series of the product's /metrics (Prometheus text), for the JSON report. */
export const fetchProductMetrics = async (metricsUrl: string): Promise<Record<string, number>> => {
  try {
    const text = await (await fetch(`${metricsUrl}/metrics`)).text()
    const out: Record<string, number> = {}
    for (const line of text.split("\n")) {
      if (line.startsWith("#") || line.trim() === "") continue
      if (!/^(eci_|process_|nodejs_heap)/.test(line)) continue
      const i = line.lastIndexOf(" ")
      const v = Number(line.slice(i + 1))
      if (!Number.isNaN(v)) out[line.slice(0, i)] = v
    }
    return out
  } catch {
    return {}
  }
}
