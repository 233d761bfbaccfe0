/**
 * One system, one repetition: start it on a fresh node, then
 *  1. burst — N pods created at once (harness POSTs, `concurrency` in flight), wait until all Running;
 *  2. mass deletion of the burst — N DELETEs at once, wait until every pod is gone;
 *  3. steady — S pods created at `rate` pods/s (the "at 100 pods/s" of the watch→cloud target), wait
 *     until Running, hold `holdSeconds` (ECI calls, API requests, CPU counted over the hold only), then
 *     delete them all (timed as well);
 * then stop it and read its API requests from the audit log. Waits are bounded: a phase that times
 * out is reported with what it reached (`complete: false`) and its leftovers are force-deleted so the
 * next system starts clean.
 */
import * as fs from "node:fs"
import { Effect } from "effect"
import type { ControlPlaneInfo } from "../src/sandbox/controlPlane.ts"
import type { BenchProfile, CallRecord } from "./eciSimulator.ts"
import type { Kube } from "./kube.ts"
import { sleep } from "./kube.ts"
import { type AuditRequest, fetchCalls, fetchProductMetrics, peakRssBytes, readAudit, sampleProc } from "./measure.ts"
import { createPods, deletePods, type PodTimes, trackPods, type Tracker } from "./pods.ts"
import { countBy, downsample, percentile, sorted } from "./stats.ts"
import { removeNode, type RunningSystem, startSystem, type SystemContext, type SystemName, usernameOf } from "./systems.ts"

export interface ScenarioOptions {
  readonly pods: number
  readonly steady: number
  readonly rate: number
  readonly holdSeconds: number
  readonly concurrency: number
  readonly timeoutSeconds: number
}

export interface Window {
  readonly start: number
  readonly end: number
}

export interface Latency {
  readonly p50?: number
  readonly p99?: number
  readonly max?: number
  readonly n: number
}

export interface CreatePhase {
  readonly pods: number
  readonly created: number
  readonly running: number
  readonly complete: boolean
  /** First create sent → last pod Running, seconds. */
  readonly seconds: number
  /** Pods Running / seconds. */
  readonly podsPerSecond: number
  /** Create sent → Running, ms. */
  readonly latency: Latency
  /** The latency CDF (ms, ascending, ≤ 200 points). */
  readonly latencyCdf: ReadonlyArray<number>
  /** ours: pod bound (watch) → its CreateContainerGroup at the simulator, ms. */
  readonly watchToCloud?: Latency
  /** [seconds since the first create, pods Running]. */
  readonly timeline: ReadonlyArray<readonly [number, number]>
  readonly eciCalls: Record<string, number>
  readonly eciErrors: Record<string, number>
  /** quota profile: seconds the Create quota needed at least / seconds creates took (1 = every token used). */
  readonly createQuotaUse?: number
  readonly apiRequests: number
  readonly apiByKind: Record<string, number>
  readonly cpuSeconds: number
  readonly window: Window
}

export interface DeletePhase {
  readonly pods: number
  readonly gone: number
  readonly complete: boolean
  /** Pods the kubelet had not finished when the wait timed out (then force-deleted by the harness). */
  readonly stuck: number
  /** First delete sent → last pod gone, seconds. */
  readonly seconds: number
  readonly latency: Latency
  readonly eciCalls: Record<string, number>
  readonly apiRequests: number
  readonly cpuSeconds: number
}

export interface HoldPhase {
  readonly population: number
  readonly seconds: number
  readonly eciCalls: Record<string, number>
  readonly eciCallsPerPodHour: Record<string, number>
  readonly eciErrors: Record<string, number>
  readonly apiRequests: number
  readonly apiRequestsPerPodHour: number
  readonly apiByKind: Record<string, number>
  readonly cpuSeconds: number
  readonly rssBytesAtEnd?: number
}

export interface RunResult {
  readonly system: SystemName
  readonly profile: BenchProfile | "n/a"
  readonly rep: number
  readonly nodeName: string
  readonly startedAt: string
  readonly startupSeconds: number
  readonly burst: CreatePhase
  readonly burstDelete: DeletePhase
  readonly steady: CreatePhase
  readonly hold: HoldPhase
  readonly steadyDelete: DeletePhase
  readonly peakRssBytes?: number
  readonly cpuSecondsTotal: number
  readonly rssSeries: ReadonlyArray<readonly [number, number]>
  readonly apiRequestsTotal: number
  readonly productMetrics?: Record<string, number>
  readonly logPath: string
  /** Set when the kubelet process died before the run ended (its figures are then partial). */
  readonly exitedDuringRun?: { readonly code: number | null; readonly signal: string | null }
}

const lat = (xs: ReadonlyArray<number>): Latency => {
  const s = sorted(xs)
  const p50 = percentile(s, 50)
  const p99 = percentile(s, 99)
  const max = s.at(-1)
  return { n: s.length, ...(p50 === undefined ? {} : { p50 }), ...(p99 === undefined ? {} : { p99 }), ...(max === undefined ? {} : { max }) }
}

const inWindow = (t: number, w: Window) => t >= w.start && t <= w.end
const callsIn = (calls: ReadonlyArray<CallRecord>, w: Window) => calls.filter((c) => inWindow(c[0], w))
const okByAction = (calls: ReadonlyArray<CallRecord>) => countBy(calls.filter((c) => c[2] === "ok"), (c) => c[1])
const errorsByCode = (calls: ReadonlyArray<CallRecord>) => countBy(calls.filter((c) => c[2] !== "ok"), (c) => `${c[1]}:${c[2]}`)
const apiIn = (reqs: ReadonlyArray<AuditRequest>, w: Window) => reqs.filter((r) => inWindow(r.at, w))
const apiKinds = (reqs: ReadonlyArray<AuditRequest>) => countBy(reqs, (r) => `${r.verb} ${r.resource}`)

const timeline = (pods: ReadonlyArray<PodTimes>, t0: number): Array<readonly [number, number]> => {
  const ts = sorted(pods.flatMap((p) => (p.running === undefined ? [] : [p.running - t0])))
  const out: Array<readonly [number, number]> = [[0, 0]]
  ts.forEach((t, i) => out.push([t / 1000, i + 1]))
  // At most ~400 points: every k-th plus the last.
  const k = Math.max(1, Math.ceil(out.length / 400))
  return out.filter((_, i) => i % k === 0 || i === out.length - 1)
}

/** Quota the Create bucket (1000/min, burst 100) allowed vs. what the creates took. */
const quotaUse = (creates: ReadonlyArray<CallRecord>): number | undefined => {
  const ok = sorted(creates.filter((c) => c[1] === "CreateContainerGroup" && c[2] === "ok").map((c) => c[0]))
  if (ok.length <= 100) return undefined
  const took = ((ok.at(-1) as number) - (ok[0] as number)) / 1000
  const needed = (ok.length - 100) / (1000 / 60)
  return took > 0 ? needed / took : undefined
}

interface Collected {
  calls: ReadonlyArray<CallRecord>
  api: ReadonlyArray<AuditRequest>
  cpuAt: (t: number) => number
}

const createPhase = (tracker: Tracker, names: ReadonlyArray<string>, w: Window, c: Collected, complete: boolean): CreatePhase => {
  const pods = names.map((n) => tracker.pods.get(n) ?? { name: n })
  const t0 = Math.min(...pods.map((p) => p.createSent ?? Infinity))
  const runningAt = pods.flatMap((p) => (p.running === undefined ? [] : [p.running]))
  const last = runningAt.length === 0 ? t0 : Math.max(...runningAt)
  const seconds = Math.max(0.001, (last - t0) / 1000)
  const latencies = pods.flatMap((p) => (p.running === undefined || p.createSent === undefined ? [] : [p.running - p.createSent]))
  const calls = callsIn(c.calls, w)
  const firstCreateByUid = new Map<string, number>()
  for (const call of calls) {
    const uid = call[3]
    if (uid !== undefined && !firstCreateByUid.has(uid)) firstCreateByUid.set(uid, call[0])
  }
  const w2c = pods.flatMap((p) => {
    const at = p.uid === undefined ? undefined : firstCreateByUid.get(p.uid)
    return at === undefined || p.bound === undefined ? [] : [at - p.bound]
  })
  const api = apiIn(c.api, w)
  const q = quotaUse(calls)
  return {
    pods: names.length,
    created: pods.filter((p) => p.created !== undefined).length,
    running: runningAt.length,
    complete,
    seconds,
    podsPerSecond: runningAt.length / seconds,
    latency: lat(latencies),
    latencyCdf: downsample(sorted(latencies)),
    ...(firstCreateByUid.size === 0 ? {} : { watchToCloud: lat(w2c) }),
    timeline: timeline(pods, t0),
    eciCalls: okByAction(calls),
    eciErrors: errorsByCode(calls),
    ...(q === undefined ? {} : { createQuotaUse: q }),
    apiRequests: api.length,
    apiByKind: apiKinds(api),
    cpuSeconds: c.cpuAt(w.end) - c.cpuAt(w.start),
    window: w
  }
}

const deletePhase = (tracker: Tracker, names: ReadonlyArray<string>, w: Window, c: Collected, complete: boolean): DeletePhase => {
  const pods = names.map((n) => tracker.pods.get(n) ?? { name: n })
  const sent = pods.flatMap((p) => (p.deleteSent === undefined ? [] : [p.deleteSent]))
  const goneAt = pods.flatMap((p) => (p.gone === undefined ? [] : [p.gone]))
  const t0 = sent.length === 0 ? w.start : Math.min(...sent)
  const last = goneAt.length === 0 ? t0 : Math.max(...goneAt)
  return {
    pods: names.length,
    gone: goneAt.length,
    complete,
    stuck: pods.filter((p) => p.gone === undefined || p.gone > w.end).length,
    seconds: (last - t0) / 1000,
    latency: lat(pods.flatMap((p) => (p.gone === undefined || p.deleteSent === undefined ? [] : [p.gone - p.deleteSent]))),
    eciCalls: okByAction(callsIn(c.calls, w)),
    apiRequests: apiIn(c.api, w).length,
    cpuSeconds: c.cpuAt(w.end) - c.cpuAt(w.start)
  }
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, "0")}`)

/** Deletes the workload; bounded wait; leftovers force-deleted (grace 0) so the next phase starts clean. */
const deleteAll = async (kube: Kube, tracker: Tracker, list: ReadonlyArray<string>, o: ScenarioOptions, alive: () => boolean) => {
  const start = Date.now()
  await deletePods(kube, tracker, list, o.concurrency)
  const allGone = () => list.every((n) => tracker.pods.get(n)?.gone !== undefined)
  await tracker.waitFor(() => allGone() || !alive(), o.timeoutSeconds * 1000)
  const complete = allGone()
  const end = Date.now()
  if (!complete) {
    const left = list.filter((n) => tracker.pods.get(n)?.gone === undefined)
    process.stderr.write(`[bench]   deletion timed out with ${left.length} pods left; force-deleting them\n`)
    await deletePods(kube, tracker, left, o.concurrency, 0)
    await tracker.waitFor(() => left.every((n) => tracker.pods.get(n)?.gone !== undefined), 60_000)
  }
  return { window: { start, end }, complete }
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)

export const runScenario = (
  ctx: SystemContext & { readonly kube: Kube; readonly auditLog: string },
  system: SystemName,
  profile: BenchProfile,
  rep: number,
  o: ScenarioOptions
): Effect.Effect<RunResult> =>
  Effect.gen(function*() {
    const cp: ControlPlaneInfo = ctx.cp
    const tag = `${system === "vk-mock" ? "vk" : system}-${system === "ours" ? profile.slice(0, 1) : "x"}${rep}-${Date.now().toString(36).slice(-5)}`
    const nodeName = `bench-${tag}`
    const auditStart = readAudit(ctx.auditLog, 0).end
    const startedAt = new Date().toISOString()
    const t0 = Date.now()
    log(`${system}${system === "ours" ? ` (${profile})` : ""} rep ${rep}: starting on node ${nodeName}`)

    const inner = Effect.scoped(Effect.gen(function*() {
      const sys: RunningSystem = yield* startSystem(ctx, system, nodeName, profile)
      const startupSeconds = (Date.now() - t0) / 1000
      const sampler = sampleProc(sys.pid)
      const phases = yield* Effect.promise(() => workloads(ctx.kube, sys, tag, o))
      sampler.now()
      const exited = yield* sys.exited
      if (exited !== undefined) log(`  WARNING: ${system} exited during the run (code ${exited.code}, signal ${exited.signal}); see ${sys.logPath}`)
      // VmHWM while it lives; if it died, the highest sampled RSS.
      const peak = peakRssBytes(sys.pid) ?? Math.max(0, ...sampler.samples.map((x) => x.rssBytes))
      const calls = sys.simulatorUrl === undefined ? [] : yield* Effect.promise(() => fetchCalls(sys.simulatorUrl as string))
      const productMetrics = sys.metricsUrl === undefined ? undefined : yield* Effect.promise(() => fetchProductMetrics(sys.metricsUrl as string))
      sampler.stop()
      return { sys, startupSeconds, phases, samples: sampler.samples, peak, calls, productMetrics, exited }
    }))
    const r = yield* inner
    yield* removeNode(cp, nodeName)
    yield* Effect.sleep("1 second") // the audit log's last entries (the watches ended by the stop)
    const api = readAudit(ctx.auditLog, auditStart).requests.filter((q) => q.user === usernameOf(system))

    const cpuAt = (t: number) => {
      // CPU time at the last sample taken at or before t (samples every second).
      let v = r.samples[0]?.cpuSeconds ?? 0
      for (const s of r.samples) {
        if (s.at <= t) v = s.cpuSeconds
        else break
      }
      return v
    }
    const c: Collected = { calls: r.calls, api, cpuAt }
    const p = r.phases
    const burst = createPhase(p.burst.tracker, p.burst.names, p.burst.window, c, p.burst.complete)
    const steady = createPhase(p.steady.tracker, p.steady.names, p.steady.window, c, p.steady.complete)
    const holdCalls = callsIn(r.calls, p.hold.window)
    const holdApi = apiIn(api, p.hold.window)
    const podHours = (p.hold.population * (p.hold.window.end - p.hold.window.start)) / 3_600_000
    const perPodHour = (n: number) => (podHours > 0 ? n / podHours : 0)
    const holdOk = okByAction(holdCalls)
    const rssEnd = r.samples.filter((s) => s.at <= p.hold.window.end).at(-1)?.rssBytes
    const result: RunResult = {
      system,
      profile: system === "ours" ? profile : "n/a",
      rep,
      nodeName,
      startedAt,
      startupSeconds: r.startupSeconds,
      burst,
      burstDelete: deletePhase(p.burst.tracker, p.burst.names, p.burstDelete.window, c, p.burstDelete.complete),
      steady,
      hold: {
        population: p.hold.population,
        seconds: (p.hold.window.end - p.hold.window.start) / 1000,
        eciCalls: holdOk,
        eciCallsPerPodHour: Object.fromEntries(Object.entries(holdOk).map(([k, v]) => [k, perPodHour(v)])),
        eciErrors: errorsByCode(holdCalls),
        apiRequests: holdApi.length,
        apiRequestsPerPodHour: perPodHour(holdApi.length),
        apiByKind: apiKinds(holdApi),
        cpuSeconds: cpuAt(p.hold.window.end) - cpuAt(p.hold.window.start),
        ...(rssEnd === undefined ? {} : { rssBytesAtEnd: rssEnd })
      },
      steadyDelete: deletePhase(p.steady.tracker, p.steady.names, p.steadyDelete.window, c, p.steadyDelete.complete),
      ...(r.peak === undefined ? {} : { peakRssBytes: r.peak }),
      cpuSecondsTotal: r.samples.at(-1)?.cpuSeconds ?? 0,
      rssSeries: r.samples.map((s) => [(s.at - t0) / 1000, s.rssBytes] as const).filter((_, i, a) => i % Math.max(1, Math.ceil(a.length / 300)) === 0),
      apiRequestsTotal: api.length,
      ...(r.productMetrics === undefined ? {} : { productMetrics: r.productMetrics }),
      logPath: r.sys.logPath,
      ...(r.exited === undefined ? {} : { exitedDuringRun: { code: r.exited.code, signal: r.exited.signal } })
    }
    log(`${system} rep ${rep}: burst ${burst.running}/${burst.pods} Running in ${burst.seconds.toFixed(1)}s ` +
      `(${burst.podsPerSecond.toFixed(1)} pods/s, p50 ${burst.latency.p50 ?? "-"} ms, p99 ${burst.latency.p99 ?? "-"} ms); ` +
      `deletion ${result.burstDelete.seconds.toFixed(1)}s; steady ${steady.running}/${steady.pods}`)
    return result
  })

interface Workloads {
  burst: { tracker: Tracker; names: ReadonlyArray<string>; window: Window; complete: boolean }
  burstDelete: { window: Window; complete: boolean }
  steady: { tracker: Tracker; names: ReadonlyArray<string>; window: Window; complete: boolean }
  hold: { population: number; window: Window }
  steadyDelete: { window: Window; complete: boolean }
}

const workloads = async (kube: Kube, sys: RunningSystem, tag: string, o: ScenarioOptions): Promise<Workloads> => {
  const base = { nodeName: sys.nodeName }
  // A kubelet that died will not finish anything: stop waiting (the run is reported as incomplete).
  const alive = () => fs.existsSync(`/proc/${sys.pid}`)
  const allRunning = (t: Tracker, list: ReadonlyArray<string>) => () =>
    list.every((n) => t.pods.get(n)?.running !== undefined || t.pods.get(n)?.createError !== undefined)
  const runningOrDead = (t: Tracker, list: ReadonlyArray<string>) => () => allRunning(t, list)() || !alive()

  // 1. burst
  const burstRun = `${tag}-b`
  const burstNames = names(burstRun, o.pods)
  const bt = await trackPods(kube, burstRun)
  const bStart = Date.now()
  await createPods(kube, bt, burstNames, { ...base, run: burstRun, concurrency: o.concurrency })
  await bt.waitFor(runningOrDead(bt, burstNames), o.timeoutSeconds * 1000)
  const bComplete = allRunning(bt, burstNames)()
  const bEnd = Date.now()
  log(`  burst: ${bt.count((t) => t.running !== undefined)}/${o.pods} Running after ${((bEnd - bStart) / 1000).toFixed(1)}s`)
  await sleep(2000) // let status writes settle before deleting
  // 2. mass deletion
  const bd = await deleteAll(kube, bt, burstNames, o, alive)
  await bt.stop()
  log(`  burst deletion: ${((bd.window.end - bd.window.start) / 1000).toFixed(1)}s`)

  // 3. steady population, paced
  const steadyRun = `${tag}-s`
  const steadyNames = names(steadyRun, o.steady)
  const st = await trackPods(kube, steadyRun)
  const sStart = Date.now()
  await createPods(kube, st, steadyNames, { ...base, run: steadyRun, concurrency: o.concurrency, perSecond: o.rate })
  await st.waitFor(runningOrDead(st, steadyNames), o.timeoutSeconds * 1000)
  const sComplete = allRunning(st, steadyNames)()
  const sEnd = Date.now()
  const population = st.count((t) => t.running !== undefined && t.gone === undefined)
  log(`  steady: ${population}/${o.steady} Running after ${((sEnd - sStart) / 1000).toFixed(1)}s; holding ${o.holdSeconds}s`)
  const hStart = Date.now()
  const holdEnd = Date.now() + o.holdSeconds * 1000
  while (Date.now() < holdEnd && alive()) await sleep(Math.min(1000, holdEnd - Date.now()))
  const hEnd = Date.now()
  const sd = await deleteAll(kube, st, steadyNames, o, alive)
  await st.stop()
  log(`  steady deletion: ${((sd.window.end - sd.window.start) / 1000).toFixed(1)}s`)
  return {
    burst: { tracker: bt, names: burstNames, window: { start: bStart, end: bEnd }, complete: bComplete },
    burstDelete: bd,
    steady: { tracker: st, names: steadyNames, window: { start: sStart, end: sEnd }, complete: sComplete },
    hold: { population, window: { start: hStart, end: hEnd } },
    steadyDelete: sd
  }
}
