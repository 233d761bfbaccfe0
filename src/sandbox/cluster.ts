/**
 * `npm run cluster -- up [--metrics-server]`: starts the local control plane in `.sandbox/` of the
 *   repo (admin kubeconfig at `.sandbox/kubeconfig`) and stays in the foreground until Ctrl-C.
 * `npm run cluster -- down`: stops one started earlier, via `.sandbox/control-plane.pid`.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Console, Effect } from "effect"
import { make } from "./controlPlane.ts"
import { ControlPlaneError } from "./errors.ts"
import { pollUntil } from "./probe.ts"

const sandboxDir = fileURLToPath(new URL("../../.sandbox/", import.meta.url))
const pidFile = path.join(sandboxDir, "control-plane.pid")

/** The pid from the pid file if that process is alive and is one of ours (guards against pid reuse). */
const runningPid = (): number | undefined => {
  const pid = Number.parseInt(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, "utf8") : "", 10)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch {
    return undefined
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cluster.ts") ? pid : undefined
  } catch {
    return pid // no /proc (macOS): trust the pid file
  }
}

const up = (metricsServer: boolean) =>
  Effect.gen(function*() {
    const existing = runningPid()
    if (existing !== undefined) {
      return yield* new ControlPlaneError({ component: "cluster", message: `already running (pid ${existing}); run: npm run cluster -- down` })
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        fs.mkdirSync(sandboxDir, { recursive: true })
        fs.writeFileSync(pidFile, `${process.pid}\n`)
      }),
      () => Effect.sync(() => fs.rmSync(pidFile, { force: true }))
    )
    const cp = yield* make({ workDir: sandboxDir, metricsServer })
    const kubeconfig = path.relative(process.cwd(), cp.kubeconfigPath)
    yield* Console.log(
      [
        `control plane ready: ${cp.server} (apiserver ready in ${cp.startup.apiserverReadySeconds}s, scheduler in ${cp.startup.schedulerReadySeconds}s)`,
        `  kubectl: ${path.join(cp.binDir, "kubectl")}`,
        `  export KUBECONFIG=${cp.kubeconfigPath}`,
        `  kubectl --kubeconfig ${kubeconfig} get --raw /readyz`,
        `  logs: ${path.join(cp.workDir, "logs")}`,
        "Ctrl-C (or npm run cluster -- down) stops it."
      ].join("\n")
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)

const down = Effect.gen(function*() {
  const pid = runningPid()
  if (pid === undefined) {
    fs.rmSync(pidFile, { force: true })
    return yield* Console.log("no control plane running")
  }
  process.kill(pid, "SIGTERM") // its runtime interrupts, and the scope stops every component
  yield* pollUntil(Effect.sync(() => runningPid() === undefined), "250 millis").pipe(
    Effect.timeoutOrElse({
      duration: "60 seconds",
      orElse: () => Effect.fail(new ControlPlaneError({ component: "cluster", message: `pid ${pid} still running after 60s` }))
    })
  )
  yield* Console.log(`stopped control plane (pid ${pid})`)
})

const [command, ...flags] = process.argv.slice(2)
const program = command === "up"
  ? up(flags.includes("--metrics-server"))
  : command === "down"
  ? down
  : Console.error("usage: npm run cluster -- up [--metrics-server] | down").pipe(
    Effect.andThen(Effect.sync(() => (process.exitCode = 2)))
  )

NodeRuntime.runMain(program)
