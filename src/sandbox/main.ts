#!/usr/bin/env node
/**
 * `npm start [-- [--replicas <n>] [--metrics-server=false] [--profile realistic|fast] [--seed <s>] [-- <product flags>]]`
 *
 * The product working with no cloud account: a local control plane, the ECI simulator and the
 * virtual node (sandbox.ts) in `.sandbox/` of the checkout, until Ctrl-C. Writes the admin kubeconfig
 * to `.sandbox/kubeconfig` and the simulator's endpoint, region and key pair to `.sandbox/eci.env`
 * (shell KEY=value lines), prints `sandbox ready` and commands to try. Anything after a second `--`
 * is passed to every replica (e.g. `-- --log-level info`).
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import * as fs from "node:fs"
import * as path from "node:path"
import { Console, Effect, Redacted } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { version } from "../version.ts"
import { make } from "./sandbox.ts"
import { tailFile } from "./process.ts"
import { REPO_ROOT, repoPath } from "./repo.ts"
import { SandboxError } from "./sandboxError.ts"

const sandboxDir = repoPath(".sandbox")
const pidFile = path.join(sandboxDir, "sandbox.pid")
// `npm run cluster -- up` uses the same directory; one of the two at a time.
const clusterPidFile = path.join(sandboxDir, "control-plane.pid")

/** The pid in `file` if that process is alive and its command line mentions `marker` (guards against pid reuse). */
const livePid = (file: string, marker: string): number | undefined => {
  const pid = Number.parseInt(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "", 10)
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined
  try {
    process.kill(pid, 0)
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) ? pid : undefined
  } catch {
    return undefined
  }
}

const rel = (p: string) => path.relative(process.cwd(), p) || "."

/** Shell-safe `KEY=value` (single-quoted when needed). */
const envLine = (key: string, value: string) => `${key}=${/^[\w.:/@-]*$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`}`

const command = Command.make(
  "sandbox",
  {
    replicas: Flag.Int("replicas").pipe(Flag.withDescription("virtual-node replicas (0: control plane and simulator only; 2: HA)"), Flag.withDefault(1)),
    metricsServer: Flag.Boolean("metrics-server").pipe(Flag.withDescription("run metrics-server, for kubectl top (default on; --metrics-server=false to skip)"), Flag.withDefault(true)),
    profile: Flag.Literals("profile", ["realistic", "fast"]).pipe(
      Flag.withDescription("simulator timing: realistic (ECI's seconds) or fast (~100 ms)"),
      Flag.withDefault("realistic" as const)
    ),
    seed: Flag.String("seed").pipe(Flag.withDescription("seed of the simulator's random choices"), Flag.withDefault("sandbox")),
    productFlags: Argument.String("product-flags").pipe(
      Argument.withDescription("flags for every replica, after `--`"),
      Argument.variadic()
    )
  },
  (flags) =>
    Effect.gen(function*() {
      for (const [file, marker, what] of [[pidFile, "sandbox/main.ts", "a sandbox"], [clusterPidFile, "cluster.ts", "npm run cluster"]] as const) {
        const pid = livePid(file, marker)
        if (pid !== undefined) {
          return yield* new SandboxError({ part: "sandbox", message: `${what} is already running in ${rel(sandboxDir)} (pid ${pid}); stop it first` })
        }
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          fs.mkdirSync(sandboxDir, { recursive: true })
          fs.writeFileSync(pidFile, `${process.pid}\n`)
        }),
        () => Effect.sync(() => fs.rmSync(pidFile, { force: true }))
      )

      const sb = yield* make({
        workDir: sandboxDir,
        replicas: flags.replicas,
        metricsServer: flags.metricsServer,
        profile: flags.profile,
        seed: flags.seed,
        virtualNode: { args: flags.productFlags, logLevel: "info" }
      })

      // The simulated cloud for people and tools; removed on stop, when it would point at nothing.
      const eciEnv = path.join(sandboxDir, "eci.env")
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const key = sb.eci.accessKey
          const text = [
            envLine("ECI_ENDPOINT", sb.eci.url),
            envLine("ECI_REGION", sb.region),
            envLine("ECI_ACCESS_KEY", key.accessKeyId),
            envLine("ECI_SECRET_KEY", Redacted.value(key.accessKeySecret))
          ].join("\n") + "\n"
          fs.writeFileSync(`${eciEnv}.tmp`, text, { mode: 0o600 })
          fs.renameSync(`${eciEnv}.tmp`, eciEnv)
        }),
        () => Effect.sync(() => fs.rmSync(eciEnv, { force: true }))
      )
      yield* Effect.addFinalizer(() => Console.log("sandbox stopping…"))
      // A replica that dies on its own is said at once, with why (these fibers end before the scope stops the replicas).
      for (const vn of sb.replicas) {
        yield* vn.awaitExit.pipe(
          Effect.flatMap((exit) =>
            Effect.flatMap(vn.logPath, (log) =>
              Console.error(
                `\n${vn.id} exited on its own (code ${exit?.code ?? "?"}, signal ${exit?.signal ?? "none"}); the sandbox keeps running without it.\n` +
                  `--- last lines of ${rel(log ?? "")} ---\n${log === undefined ? "" : tailFile(log, 20)}`
              ))
          ),
          Effect.forkScoped
        )
      }

      const kubeconfig = rel(sb.controlPlane.kubeconfigPath)
      const k = `kubectl --kubeconfig ${kubeconfig}`
      const kubectlBin = path.join(sb.controlPlane.binDir, "kubectl")
      const replicaLogs = sb.replicas.map((r) => rel(path.join(sb.logDir, `${r.id}.log`)))
      yield* Console.log([
        "",
        "sandbox ready",
        `  control plane  ${sb.controlPlane.server}   admin kubeconfig: ${kubeconfig}`,
        `  ECI simulator  ${sb.eci.url}   region ${sb.region}; endpoint and key pair: ${rel(eciEnv)}`,
        sb.replicas.length === 0
          ? "  virtual node   not started (--replicas 0)"
          : `  virtual node   ${sb.nodeName}   ${sb.replicas.length} replica(s) as ServiceAccount kube-system/eci-virtual-node; logs: ${replicaLogs.join(", ")}`,
        `  all logs       ${rel(sb.logDir)}/`,
        "",
        "Try (kubectl of the same version: " + kubectlBin + "):",
        `  ${k} get nodes -l type=virtual-kubelet`,
        `  ${k} run web --image nginx -l eci=true`,
        `  ${k} get pods -o wide`,
        `  ${k} logs web`,
        `  ${k} exec web -- echo hi`,
        ...(flags.metricsServer ? [`  ${k} top pod web                      # once metrics-server has scraped (about a minute)`] : []),
        `  ${k} delete pod web`,
        `  curl -s ${sb.eci.url}/admin/instances            # the simulated cloud's container groups`,
        `  curl -s -X PUT ${sb.eci.url}/admin/faults/CreateContainerGroup -d '{"errorRate":0.3,"errorCode":"ServiceUnavailable"}'`,
        "",
        "Ctrl-C stops everything."
      ].join("\n"))
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.ensuring(Console.log("sandbox stopped")))
).pipe(Command.withDescription("A local Kubernetes control plane, the ECI simulator and the virtual node, until Ctrl-C"))

process.chdir(REPO_ROOT) // relative paths in what we print are relative to the checkout (npm runs us there anyway)

Command.run(command, { version }).pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
