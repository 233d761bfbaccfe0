#!/usr/bin/env node
/**
 * `npm run bench -- [--quick] [--pods N] [--steady N] [--rate N] [--hold S] [--reps N]
 *                   [--systems ours,vk-mock,kwok] [--profile zero,quota] [--timeout S] [--concurrency N]`
 *
 * Builds the peers (tools/peers/build.sh, cached), starts one control plane, then runs each system in
 * turn on a fresh node — interleaved, the order rotated every repetition — and prints the table of
 * medians with ratios. Writes bench/results/<stamp>.json, -running.svg, -latency-cdf.svg. See
 * bench/README.md.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Logger } from "effect"
import { make as makeControlPlane } from "../src/sandbox/controlPlane.ts"
import { runCommand } from "../src/sandbox/process.ts"
import { repoPath } from "../src/sandbox/repo.ts"
import { cdf, lineChart } from "./charts.ts"
import { summariseCpuProfiles } from "./cpuProfile.ts"
import type { BenchProfile } from "./eciSimulator.ts"
import { makeKube } from "./kube.ts"
import { auditPolicy } from "./measure.ts"
import { PODS_NAMESPACE } from "./pods.ts"
import { checkTargets, columnsOf, renderTable, renderTargets } from "./report.ts"
import { type RunResult, runScenario, type ScenarioOptions } from "./scenario.ts"
import { median } from "./stats.ts"
import { prepareCluster, RBAC_WORKAROUNDS, SYSTEMS, type SystemName, usernameOf } from "./systems.ts"

const { values: a } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    pods: { type: "string" },
    steady: { type: "string" },
    rate: { type: "string" },
    hold: { type: "string" },
    reps: { type: "string" },
    systems: { type: "string" },
    profile: { type: "string" },
    timeout: { type: "string" },
    concurrency: { type: "string" },
    "keep-work-dir": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    "ours-node-options": { type: "string" },
    "ours-args": { type: "string" },
    "ours-entry": { type: "string" }
  },
  strict: true
})

const int = (v: string | undefined, d: number, name: string) => {
  if (v === undefined) return d
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${v}`)
  return n
}
const quick = a.quick === true
const opts: ScenarioOptions = {
  pods: int(a.pods, quick ? 100 : 1000, "pods"),
  steady: int(a.steady, quick ? 100 : 5000, "steady"),
  rate: int(a.rate, 100, "rate"),
  holdSeconds: int(a.hold, quick ? 30 : 180, "hold"),
  concurrency: int(a.concurrency, 50, "concurrency"),
  timeoutSeconds: int(a.timeout, quick ? 240 : 900, "timeout")
}
const reps = int(a.reps, quick ? 1 : 3, "reps")
const systems = (a.systems ?? SYSTEMS.join(",")).split(",").map((s) => s.trim()) as Array<SystemName>
for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`--systems: unknown system ${s} (one of ${SYSTEMS.join(", ")})`)
const profiles = (a.profile ?? (quick ? "zero" : "zero,quota")).split(",").map((s) => s.trim()) as Array<BenchProfile>
for (const p of profiles) if (p !== "zero" && p !== "quota") throw new Error(`--profile: zero or quota, not ${p}`)

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)
const resultsDir = repoPath("bench", "results")

/** tools/peers/build.sh: a no-op once cached; its progress goes to our stderr. */
const buildPeers = Effect.gen(function*() {
  const t0 = Date.now()
  const r = yield* runCommand("bash", [repoPath("tools", "peers", "build.sh")], { inheritStderr: true }).pipe(Effect.orDie)
  const bin = r.stdout.trim().split("\n").at(-1) ?? ""
  if (r.exitCode !== 0 || bin === "") return yield* Effect.die(new Error(`tools/peers/build.sh exited ${r.exitCode}`))
  return { bin, seconds: (Date.now() - t0) / 1000 }
})

const program = Effect.gen(function*() {
  const tStart = Date.now()
  const peers = systems.some((s) => s !== "ours") ? yield* buildPeers : { bin: "", seconds: 0 }
  if (peers.seconds > 5) log(`peers ready in ${peers.seconds.toFixed(0)}s (first build)`)
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "eci-bench-"))
  fs.mkdirSync(path.join(workDir, "logs"), { recursive: true })
  const auditLog = path.join(workDir, "logs", "audit.log")
  const policy = path.join(workDir, "audit-policy.json")
  fs.writeFileSync(policy, auditPolicy(SYSTEMS.map(usernameOf)))
  log(`work dir ${workDir} (control-plane and kubelet logs, audit log)`)

  const tCp = Date.now()
  const cp = yield* makeControlPlane({
    workDir,
    extraArgs: {
      // kwok's --disable-qps-limits: no in-flight caps and no APF queueing, so the server is not
      // what limits any system; the audit log counts each system's requests.
      apiserver: [
        "--max-requests-inflight=0", "--max-mutating-requests-inflight=0", "--enable-priority-and-fairness=false",
        `--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, "--audit-log-format=json", "--audit-log-maxsize=0"
      ],
      // The scheduler binds every pod: at its default 50 QPS it would cap every system at ~50 pods/s.
      scheduler: ["--kube-api-qps=5000", "--kube-api-burst=10000"],
      controllerManager: ["--kube-api-qps=5000", "--kube-api-burst=10000"]
    }
  }).pipe(Effect.orDie)
  const controlPlaneSeconds = (Date.now() - tCp) / 1000
  yield* prepareCluster(cp)
  yield* cp.ensureNamespace(PODS_NAMESPACE).pipe(Effect.orDie)
  const kube = makeKube(cp.kubeconfigPath)
  yield* Effect.addFinalizer(() => Effect.sync(() => kube.close()))

  const cpuProfDir = a["cpu-prof"] === true ? path.join(resultsDir, `${stamp}-cpuprof`) : undefined
  const nodeOptions = [a["ours-node-options"], cpuProfDir === undefined ? undefined : `--cpu-prof --cpu-prof-dir=${cpuProfDir}`]
    .filter((x): x is string => x !== undefined).join(" ")
  const oursArgs = (a["ours-args"] ?? "").split(/\s+/).filter((x) => x !== "")
  if (oursArgs.length > 0) log(`ours runs with extra flags: ${oursArgs.join(" ")} (not the production defaults)`)
  const oursEntry = a["ours-entry"]
  if (oursEntry !== undefined && !fs.existsSync(repoPath(oursEntry))) throw new Error(`--ours-entry: ${oursEntry} does not exist (npm run bundle builds dist/eci-virtual-node.mjs)`)
  const runs: Array<RunResult> = []
  for (let rep = 1; rep <= reps; rep++) {
    // Interleaved: every system once per repetition, the order rotated so none always goes first.
    const order = systems.map((_, i) => systems[(i + rep - 1) % systems.length] as SystemName)
    for (const system of order) {
      for (const profile of system === "ours" ? profiles : (["zero"] as const)) {
        runs.push(yield* runScenario({ cp, peerBin: peers.bin, workDir, kube, auditLog, ...(nodeOptions === "" ? {} : { nodeOptions }), oursArgs, ...(oursEntry === undefined ? {} : { oursEntry }) }, system, profile, rep, opts))
        writeOutputs(stamp, runs, { peers, controlPlaneSeconds, workDir, tStart }) // partial results survive a crash
      }
    }
  }
  const table = renderTable(runs)
  const targets = renderTargets(checkTargets(runs, opts.rate))
  const files = writeOutputs(stamp, runs, { peers, controlPlaneSeconds, workDir, tStart })
  process.stdout.write(`\n${table}\n\n${targets}\n\n`)
  process.stdout.write(`workload: burst ${opts.pods} pods (${opts.concurrency} concurrent creates), steady ${opts.steady} pods at ${opts.rate}/s held ${opts.holdSeconds}s; ` +
    `profiles ${profiles.join(",")}; ${reps} rep(s); total ${((Date.now() - tStart) / 1000).toFixed(0)}s ` +
    `(peer build ${peers.seconds.toFixed(0)}s, control plane start ${controlPlaneSeconds.toFixed(0)}s)\n`)
  process.stdout.write(`results: ${files.join(", ")}\n`)
  if (cpuProfDir !== undefined) {
    const top = summariseCpuProfiles(cpuProfDir)
    const total = top.reduce((s, [, ms]) => s + ms, 0)
    process.stdout.write(`\nours: CPU self time by package/file (${cpuProfDir}; open the .cpuprofile in Chrome DevTools):\n` +
      top.map(([k, ms]) => `  ${(ms / 1000).toFixed(2).padStart(8)} s  ${k}`).join("\n") + `\n  (top ${top.length}: ${(total / 1000).toFixed(1)} s)\n`)
  }
  if (a["keep-work-dir"] !== true) {
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(workDir, { recursive: true, force: true })))
  } else log(`kept ${workDir}`)
}).pipe(Effect.scoped)

const writeOutputs = (
  stamp: string,
  runs: ReadonlyArray<RunResult>,
  meta: { readonly peers: { readonly bin: string; readonly seconds: number }; readonly controlPlaneSeconds: number; readonly workDir: string; readonly tStart: number }
): Array<string> => {
  fs.mkdirSync(resultsDir, { recursive: true })
  const base = path.join(resultsDir, stamp)
  const json = `${base}.json`
  fs.writeFileSync(json, JSON.stringify({
    stamp,
    options: { ...opts, reps, systems, profiles, quick, oursNodeOptions: a["ours-node-options"] ?? null, oursArgs: a["ours-args"] ?? null, oursEntry: a["ours-entry"] ?? null, cpuProf: a["cpu-prof"] === true },
    machine: { cpus: os.cpus().length, memoryBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}` },
    peers: { bin: meta.peers.bin, buildSeconds: meta.peers.seconds, vk: "v1.13.0", kwok: "v0.8.0" },
    controlPlaneStartSeconds: meta.controlPlaneSeconds,
    rbacWorkaroundsForOurs: RBAC_WORKAROUNDS,
    elapsedSeconds: (Date.now() - meta.tStart) / 1000,
    table: renderTable(runs),
    targets: checkTargets(runs, opts.rate),
    runs
  }, null, 1))
  // Charts: per column, the repetition with the median burst pods/s.
  const representative = columnsOf(runs).map((c) => {
    const m = median(c.runs.map((r) => r.burst.podsPerSecond))
    const r = [...c.runs].sort((x, y) => Math.abs(x.burst.podsPerSecond - (m ?? 0)) - Math.abs(y.burst.podsPerSecond - (m ?? 0)))[0] as RunResult
    return { key: c.key, r }
  })
  const running = `${base}-running.svg`
  fs.writeFileSync(running, lineChart({
    title: `Burst of ${opts.pods} pods: pods Running over time`,
    xLabel: "seconds since the first create (log scale)",
    yLabel: "pods Running",
    step: true,
    yMax: opts.pods * 1.05,
    series: representative.map(({ key, r }) => ({ name: key, points: r.burst.timeline.map(([t, n]) => [Math.max(t, 0.01), n] as const) }))
  }))
  const latency = `${base}-latency-cdf.svg`
  fs.writeFileSync(latency, lineChart({
    title: `Burst of ${opts.pods} pods: create→Running latency CDF`,
    xLabel: "ms (log scale)",
    yLabel: "fraction of pods",
    yMax: 1,
    series: representative.map(({ key, r }) => ({ name: key, points: cdf(r.burst.latencyCdf) }))
  }))
  return [json, running, latency]
}

program.pipe(
  Effect.provide(Logger.layer([Logger.consolePretty()])),
  NodeRuntime.runMain
)
