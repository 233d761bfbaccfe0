import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { beforeAll } from "vitest"
import { ensureBinaries } from "../../src/sandbox/binaries.ts"
import { type ControlPlaneInfo, make } from "../../src/sandbox/controlPlane.ts"
import { pollUntil } from "../../src/sandbox/probe.ts"
import { groupAlive, runCommand } from "../../src/sandbox/process.ts"

// Built (or found in the cache / KUBE_BINARIES_DIR) once, under the long hook timeout: a cold build takes minutes.
let binDir = ""
beforeAll(async () => {
  binDir = await Effect.runPromise(ensureBinaries({ metricsServer: true }))
})

const alive = (pids: ReadonlyArray<number>) => pids.filter(groupAlive)

/** Pids of live processes whose command line mentions `dir` (every component gets paths in its work dir). */
const processesUsing = (dir: string) =>
  fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)
    } catch {
      return false // exited while we looked
    }
  })

/** Polls a jsonpath of an object until it equals `want`; returns the last value seen on timeout (for the assertion). */
const waitForJsonPath = (cp: ControlPlaneInfo, args: ReadonlyArray<string>, jsonPath: string, want: string) =>
  Effect.gen(function*() {
    let last = ""
    yield* pollUntil(
      cp.kubectlOk([...args, "-o", `jsonpath=${jsonPath}`]).pipe(
        Effect.map((out) => {
          last = out
          return out === want
        })
      ),
      "250 millis"
    ).pipe(Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.void }))
    return last
  })

const FIXTURE = fileURLToPath(new URL("./fixtures/holdControlPlane.ts", import.meta.url))

/**
 * Runs the fixture host (another Node process holding a control plane) until it prints READY;
 * the host is SIGKILLed when the scope closes, whatever happened.
 */
const startHost = (workDir: string) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly host: ReturnType<typeof spawn>; readonly pids: ReadonlyArray<number>; readonly exited: Promise<number | null> }, Error>((resume) => {
      const host = spawn(process.execPath, [FIXTURE, binDir, workDir], { stdio: ["ignore", "pipe", "inherit"] })
      const exited = new Promise<number | null>((resolve) => host.on("exit", (code) => resolve(code)))
      let out = ""
      host.stdout.setEncoding("utf8")
      host.stdout.on("data", (chunk: string) => {
        out += chunk
        const line = out.split("\n").find((l) => l.startsWith("READY "))
        if (line !== undefined) resume(Effect.succeed({ host, pids: JSON.parse(line.slice(6)).pids, exited }))
      })
      host.on("exit", (code) => resume(Effect.fail(new Error(`host exited (${code}) before READY:\n${out}`))))
    }),
    ({ host }) => Effect.sync(() => host.kill("SIGKILL"))
  )

describe("local control plane", () => {
  it.live("serves kubectl; a pod without a node stays Pending, reported Unschedulable; no process survives", () =>
    Effect.gen(function*() {
      const { pids, workDir } = yield* Effect.scoped(Effect.gen(function*() {
        const cp = yield* make({ binDir })
        assert.strictEqual(cp.processes.length, 4)
        assert.strictEqual(processesUsing(cp.workDir).length, 4)

        assert.strictEqual(yield* cp.kubectlOk(["get", "--raw", "/readyz"]), "ok")

        yield* cp.ensureNamespace("e2e")
        yield* cp.kubectlOk(["-n", "e2e", "run", "web", "--image=nginx", "--restart=Never"])
        const pod = ["-n", "e2e", "get", "pod", "web"]
        // The scheduler saw the pod and found no node for it (rather than never looking at it).
        const scheduled = yield* waitForJsonPath(
          cp, pod, `{.status.conditions[?(@.type=="PodScheduled")].status}/{.status.conditions[?(@.type=="PodScheduled")].reason}`,
          "False/Unschedulable"
        )
        assert.strictEqual(scheduled, "False/Unschedulable")
        assert.strictEqual(yield* cp.kubectlOk([...pod, "-o", "jsonpath={.status.phase}/{.spec.nodeName}"]), "Pending/")

        // A ServiceAccount kubeconfig carries exactly that account's RBAC: nothing, then what a Role grants.
        yield* cp.kubectlOk(["-n", "e2e", "create", "serviceaccount", "robot"])
        const saConfig = yield* cp.serviceAccountKubeconfig("e2e", "robot")
        const asRobot = (args: ReadonlyArray<string>) => cp.kubectl([`--kubeconfig=${saConfig}`, ...args])
        const whoami = yield* asRobot(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
        assert.strictEqual(whoami.stdout, "system:serviceaccount:e2e:robot")
        const denied = yield* asRobot(["-n", "e2e", "get", "pods"])
        assert.notStrictEqual(denied.exitCode, 0)
        assert.include(denied.stderr, "forbidden")
        yield* cp.kubectlOk(["-n", "e2e", "create", "role", "pod-reader", "--verb=get,list", "--resource=pods"])
        yield* cp.kubectlOk(["-n", "e2e", "create", "rolebinding", "robot-reads", "--role=pod-reader", "--serviceaccount=e2e:robot"])
        const allowed = yield* asRobot(["-n", "e2e", "get", "pods", "-o", "name"])
        assert.strictEqual(allowed.stdout.trim(), "pod/web")

        // The sandbox can mint the virtual kubelet's serving cert from the cluster CA.
        const serving = yield* cp.issueCertificate({ name: "vk-serving", commonName: "vk", usage: "server", ipAddresses: ["127.0.0.1"] })
        const verify = yield* runCommand("openssl", ["verify", "-CAfile", cp.caCertPath, "-purpose", "sslserver", serving.certPath])
        assert.strictEqual(verify.stdout.trim(), `${serving.certPath}: OK`)
        assert.strictEqual(fs.readFileSync(cp.caCertPath, "utf8"), cp.caPem)

        const running = cp.processes.map((p) => p.pid)
        assert.deepStrictEqual(alive(running), running)
        return { pids: running, workDir: cp.workDir }
      }))
      assert.deepStrictEqual(alive(pids), [], "every component's process group is gone after the scope closed")
      assert.deepStrictEqual(processesUsing(workDir), [])
      assert.isFalse(fs.existsSync(workDir), "the temp work dir is removed after a clean stop")
    }))

  it.live("two control planes run side by side, isolated; metrics-server serves the metrics API through aggregation", () =>
    Effect.gen(function*() {
      const { pids, workDirs } = yield* Effect.scoped(Effect.gen(function*() {
        const [a, b] = yield* Effect.all([make({ binDir }), make({ binDir, metricsServer: true })], { concurrency: 2 })
        assert.notStrictEqual(a.server, b.server)
        assert.strictEqual(b.processes.length, 5)
        assert.strictEqual(yield* a.kubectlOk(["get", "--raw", "/readyz"]), "ok")
        assert.strictEqual(yield* b.kubectlOk(["get", "--raw", "/readyz"]), "ok")

        // Separate etcds: a namespace made in one does not exist in the other.
        yield* a.kubectlOk(["create", "namespace", "only-in-a"])
        assert.strictEqual((yield* b.kubectl(["get", "namespace", "only-in-a"])).exitCode, 1)

        // The aggregator proxies to metrics-server (front-proxy auth, CA-verified APIService).
        const available = yield* waitForJsonPath(
          b, ["get", "apiservice", "v1beta1.metrics.k8s.io"], `{.status.conditions[?(@.type=="Available")].status}`, "True"
        )
        assert.strictEqual(available, "True")
        const resources = yield* b.kubectlOk(["get", "--raw", "/apis/metrics.k8s.io/v1beta1"])
        assert.include(resources, '"name":"pods"')
        assert.include(resources, '"name":"nodes"')
        return { pids: [...a.processes, ...b.processes].map((p) => p.pid), workDirs: [a.workDir, b.workDir] }
      }))
      assert.strictEqual(pids.length, 9)
      assert.deepStrictEqual(alive(pids), [])
      assert.deepStrictEqual(workDirs.flatMap(processesUsing), [])
    }))

  it.live("a component that fails to start is reported with its log, and nothing is left running", () =>
    Effect.gen(function*() {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "eci-cp-fail-"))
      const exit = yield* Effect.exit(Effect.scoped(make({ binDir, workDir, extraArgs: { apiserver: ["--no-such-flag"] } })))
      assert.isTrue(Exit.isFailure(exit))
      const message = Exit.isFailure(exit) ? String(exit.cause) : ""
      assert.include(message, "kube-apiserver")
      assert.include(message, "unknown flag: --no-such-flag") // the tail of kube-apiserver.log
      // etcd had started (its log shows it serving) and was stopped with the failed scope.
      assert.include(fs.readFileSync(path.join(workDir, "logs", "etcd.log"), "utf8"), "serving client traffic")
      assert.deepStrictEqual(processesUsing(workDir), [])
      fs.rmSync(workDir, { recursive: true, force: true })
    }))

  it.live("a host killed with SIGKILL leaves no component behind (the reaper stops them)", () =>
    Effect.gen(function*() {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "eci-cp-kill-"))
      yield* Effect.scoped(Effect.gen(function*() {
        const { host, pids, exited } = yield* startHost(workDir)
        assert.strictEqual(pids.length, 4)
        assert.deepStrictEqual(alive(pids), pids)
        host.kill("SIGKILL") // no finalizer, no exit handler runs in the host
        yield* Effect.promise(() => exited)
        yield* pollUntil(Effect.sync(() => alive(pids).length === 0)).pipe(
          Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.void })
        )
        assert.deepStrictEqual(alive(pids), [])
        assert.deepStrictEqual(processesUsing(workDir), [])
      }))
      fs.rmSync(workDir, { recursive: true, force: true })
    }))

  it.live("Ctrl-C (SIGINT) on the host stops every component gracefully before it exits", () =>
    Effect.gen(function*() {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "eci-cp-int-"))
      yield* Effect.scoped(Effect.gen(function*() {
        const { host, pids, exited } = yield* startHost(workDir)
        host.kill("SIGINT")
        assert.strictEqual(yield* Effect.promise(() => exited), 130) // runMain: interrupted, finalizers done
        assert.deepStrictEqual(alive(pids), []) // already gone when the host exits: no polling needed
        // Graceful, not the reaper's SIGKILL: etcd logged that it got a signal and shut down.
        assert.include(fs.readFileSync(path.join(workDir, "logs", "etcd.log"), "utf8"), "received signal; shutting down")
      }))
      fs.rmSync(workDir, { recursive: true, force: true })
    }))
})
