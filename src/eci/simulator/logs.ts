/**
 * DescribeContainerLog (reference §1.7): what a container printed, as a string. A run's lines are
 * those of its scripted command (commands.ts) at the times it printed them; an unscripted
 * long-running program (nginx, redis, an app) prints a start-up banner and then one line every
 * `logLineIntervalMs`, so that a `kubectl logs -f` emulation (polling with StartTime/SinceSeconds)
 * has something new to find. Everything is a function of the run and the clock: deterministic.
 */
import type { Timings } from "./config.ts"
import { Faults } from "./failures.ts"
import type { Fields } from "./fields.ts"
import type { ContainerRun, ContainerRuntime } from "./state.ts"

export interface LogQuery {
  readonly tail: number
  /** Only lines at or after this time (from SinceSeconds and/or StartTime). */
  readonly fromMs: number | undefined
  readonly timestamps: boolean
  readonly limitBytes: number
  readonly previous: boolean
}

export const logLimits = { defaultTail: 500, maxTail: 2000, maxBytes: 1_048_576 } as const

export const parseLogQuery = (f: Fields, now: number): LogQuery => {
  const tail = f.int("Tail")
  if (tail !== undefined && (tail < 0 || tail > logLimits.maxTail)) {
    throw Faults.invalidParameter("Tail", `0 to ${logLimits.maxTail}`)
  }
  const limitBytes = f.int("LimitBytes")
  if (limitBytes !== undefined && (limitBytes < 1 || limitBytes > logLimits.maxBytes)) {
    throw Faults.invalidParameter("LimitBytes", `1 to ${logLimits.maxBytes}`)
  }
  const since = f.int("SinceSeconds")
  if (since !== undefined && since < 0) throw Faults.invalidParameter("SinceSeconds", "must not be negative")
  const startTimeText = f.str("StartTime")
  let startTime: number | undefined
  if (startTimeText !== undefined && startTimeText !== "") {
    startTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(startTimeText) ? Date.parse(startTimeText) : Number.NaN
    if (!Number.isFinite(startTime)) throw Faults.invalidParameter("StartTime", "an RFC 3339 UTC time such as 2018-08-02T15:00:00Z is expected")
  }
  const bounds = [since === undefined ? undefined : now - since * 1000, startTime].filter((x): x is number => x !== undefined)
  return {
    tail: tail ?? logLimits.defaultTail,
    fromMs: bounds.length === 0 ? undefined : Math.max(...bounds),
    timestamps: f.bool("Timestamps") ?? false,
    limitBytes: limitBytes ?? logLimits.maxBytes,
    previous: f.bool("LastTime") ?? false
  }
}

interface Line {
  readonly at: number
  readonly text: string
}

/** Kubernetes' `--timestamps` format: RFC 3339 with nanoseconds. */
export const rfc3339Nano = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z")

const family = (image: string) => {
  const repo = image.split("@")[0]!.split(":")[0]!.split("/").at(-1) ?? image
  return repo.includes("nginx") ? "nginx" : repo.includes("redis") ? "redis" : "app"
}

const banner = (c: ContainerRuntime): ReadonlyArray<string> => {
  switch (family(c.spec.image)) {
    case "nginx":
      return [
        "/docker-entrypoint.sh: Configuration complete; ready for start up",
        "nginx: [notice] start worker processes"
      ]
    case "redis":
      return ["1:M * Server initialized", "1:M * Ready to accept connections tcp"]
    default:
      return [`${c.spec.name}: started (image ${c.spec.image})`]
  }
}

const heartbeat = (c: ContainerRuntime, k: number): string => {
  switch (family(c.spec.image)) {
    case "nginx":
      return `10.0.0.1 - - "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.30" request=${k}`
    case "redis":
      return `1:M * ${k} clients connected, DB saved on disk`
    default:
      return `${c.spec.name}: serving, tick ${k}`
  }
}

/** The last `tail` lines of one run at or after `fromMs`, up to `now`. */
const runLines = (c: ContainerRuntime, run: ContainerRun, now: number, query: LogQuery, timings: Timings): Array<Line> => {
  const upTo = Math.min(now, run.endedAt ?? Number.POSITIVE_INFINITY)
  const from = query.fromMs ?? Number.NEGATIVE_INFINITY
  const scripted: Array<Line> = run.timeline.lines
    .map((l) => ({ at: run.startedAt + l.atMs, text: l.text }))
    .filter((l) => l.at <= upTo && l.at >= from)
  const end = run.timeline.end
  if (end.kind === "forever" && end.service) {
    const serviceStart = run.startedAt + end.atMs
    if (serviceStart <= upTo && serviceStart >= from) scripted.push(...banner(c).map((text) => ({ at: serviceStart, text })))
    // Heartbeat k is printed at serviceStart + k * interval, k ≥ 1; only the needed ones are built.
    const interval = timings.logLineIntervalMs
    const kMax = Math.floor((upTo - serviceStart) / interval)
    const kMin = Math.max(1, Math.ceil((from - serviceStart) / interval))
    const count = Math.max(0, kMax - kMin + 1)
    const beats: Array<Line> = []
    for (let k = Math.max(kMin, kMax - query.tail + 1); k <= kMax; k++) {
      beats.push({ at: serviceStart + k * interval, text: heartbeat(c, k) })
    }
    if (count >= query.tail) return beats
    return [...scripted.slice(Math.max(0, scripted.length - (query.tail - beats.length))), ...beats]
  }
  return scripted.slice(Math.max(0, scripted.length - query.tail))
}

const truncateBytes = (text: string, limit: number) => {
  const bytes = Buffer.from(text, "utf8")
  return bytes.length <= limit ? text : bytes.subarray(0, limit).toString("utf8")
}

/**
 * The log of the current run, or of the previous one with LastTime (`kubectl logs -p`). A container
 * that has not started yet, or has no previous run, has an empty log (assumption: ECI's answer is
 * UNCONFIRMED; an empty log is what a poller handles without special cases).
 */
export const renderLog = (c: ContainerRuntime, now: number, query: LogQuery, timings: Timings): string => {
  const run = query.previous ? c.runs.at(-2) : c.runs.at(-1)
  if (run === undefined || query.tail === 0) return ""
  const lines = runLines(c, run, now, query, timings)
  const text = lines.map((l) => `${query.timestamps ? `${rfc3339Nano(l.at)} ` : ""}${l.text}\n`).join("")
  return truncateBytes(text, query.limitBytes)
}
