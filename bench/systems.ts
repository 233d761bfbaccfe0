/**
 * The three kubelets under test, each started on a fresh node name against the shared control plane
 * and stopped (SIGTERM to its process group, then SIGKILL) when the enclosing scope closes:
 *  - ours: `node src/main.ts run` with production settings (the flags src/sandbox/sandbox.ts passes,
 *    log level info as deployed), node capacity raised, against the bench simulator on the wire, under
 *    the ServiceAccount and RBAC of k8s/;
 *  - vk-mock: virtual-kubelet v1.13.0 `--provider mock` with its defaults, pod capacity raised in its
 *    provider config (default 20) so capacity never limits it;
 *  - kwok: kwok v0.8.0 `--manage-single-node`, default stages, a Node object we create (kwok
 *    simulates nodes, it does not register them).
 * Each runs as its own ServiceAccount so the API server's audit log can count its requests.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Redacted, type Scope } from "effect"
import type { ControlPlaneInfo } from "../src/sandbox/controlPlane.ts"
import { applyProductRbac, applySandboxWebhookConfiguration, putCredentialsSecret } from "../src/sandbox/manifests.ts"
import { freePorts, pollUntil } from "../src/sandbox/probe.ts"
import { type Component, type ExitInfo, spawnComponent, tailFile } from "../src/sandbox/process.ts"
import { nodeBinary, repoPath } from "../src/sandbox/repo.ts"
import { generateAccessKey, PRODUCT_SERVICE_ACCOUNT } from "../src/sandbox/sandbox.ts"
import { makeVirtualNode } from "../src/sandbox/virtualNode.ts"
import type { BenchProfile } from "./eciSimulator.ts"

export type SystemName = "ours" | "vk-mock" | "kwok"
export const SYSTEMS: ReadonlyArray<SystemName> = ["ours", "vk-mock", "kwok"]

/** The user each system's requests carry (audit log `user.username`). */
export const PEER_ACCOUNTS: Record<SystemName, { readonly namespace: string; readonly name: string }> = {
  ours: PRODUCT_SERVICE_ACCOUNT,
  "vk-mock": { namespace: "kube-system", name: "bench-vk-mock" },
  kwok: { namespace: "kube-system", name: "bench-kwok" }
}
export const usernameOf = (s: SystemName) => `system:serviceaccount:${PEER_ACCOUNTS[s].namespace}:${PEER_ACCOUNTS[s].name}`

/** Capacity every node advertises: enough that it never limits a run (requests: 100m / 100Mi per pod). */
export const CAPACITY = { cpu: "1000", memory: "1Ti", pods: "20000" } as const

export interface RunningSystem {
  readonly system: SystemName
  readonly nodeName: string
  /** The kubelet process (what /proc is sampled for). */
  readonly pid: number
  readonly logPath: string
  /** ours: the bench simulator's base URL (call journal under /admin/bench/). */
  readonly simulatorUrl?: string
  readonly simulatorPid?: number
  /** ours: http://127.0.0.1:<metrics port> (/metrics). */
  readonly metricsUrl?: string
  /** How the kubelet exited if it already has (a crash mid-run), else undefined. */
  readonly exited: Effect.Effect<ExitInfo | undefined>
}

export interface SystemContext {
  readonly cp: ControlPlaneInfo
  readonly peerBin: string
  readonly workDir: string
  /** ours: NODE_OPTIONS for the product (e.g. `--cpu-prof --cpu-prof-dir=…`, `--max-old-space-size=…`). */
  readonly nodeOptions?: string
  /** ours: flags appended after the production ones (the last occurrence of a flag wins). */
  readonly oursArgs?: ReadonlyArray<string>
  /** ours: what Node runs, relative to the repository (default `src/main.ts`; `dist/eci-virtual-node.mjs` is the image's). */
  readonly oursEntry?: string
}

const fail = (what: string, message: string) => new Error(`${what}: ${message}`)
const orDie = <A, E extends { readonly message: string }, R>(e: Effect.Effect<A, E, R>) =>
  e.pipe(Effect.mapError((x) => fail("bench", x.message)), Effect.orDie)

/**
 * Grants the bench adds on top of k8s/rbac.yaml because the product needs them and the shipped RBAC
 * lacks them today (reported; remove each once k8s/rbac.yaml has it). Recorded in the results JSON.
 */
export const RBAC_WORKAROUNDS: ReadonlyArray<string> = []

/** One-time setup: the product's RBAC (plus RBAC_WORKAROUNDS), and the peers' ServiceAccounts with cluster-admin. */
export const prepareCluster = (cp: ControlPlaneInfo) =>
  orDie(Effect.gen(function*() {
    yield* applyProductRbac(cp)
    for (const s of ["vk-mock", "kwok"] as const) {
      const { namespace, name } = PEER_ACCOUNTS[s]
      yield* cp.kubectlOk(["-n", namespace, "create", "serviceaccount", name])
      yield* cp.kubectlOk(["create", "clusterrolebinding", name, "--clusterrole=cluster-admin", `--serviceaccount=${namespace}:${name}`])
    }
  }))

const waitNodeReady = (cp: ControlPlaneInfo, nodeName: string, logPath: string, timeoutSeconds = 120) =>
  pollUntil(
    cp.kubectl(["get", "node", nodeName, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]).pipe(
      Effect.map((r) => r.exitCode === 0 && r.stdout.trim() === "True"),
      Effect.orElseSucceed(() => false)
    ),
    "250 millis"
  ).pipe(
    Effect.timeoutOrElse({
      duration: `${timeoutSeconds} seconds`,
      orElse: () => Effect.die(fail(nodeName, `Node not Ready after ${timeoutSeconds}s\n${tailFile(logPath)}`))
    })
  )

const exitOf = (c: Component): Effect.Effect<ExitInfo | undefined> =>
  Effect.flatMap(c.hasExited, (done) => (done ? Effect.map(c.awaitExit, (x): ExitInfo | undefined => x) : Effect.succeed(undefined)))

const LISTENING = /eci-simulator listening on (http:\/\/[^\s]+)/

/** The bench simulator (bench/eciSimulator.ts) as a child process with a fresh key pair. */
const startSimulator = (ctx: SystemContext, profile: BenchProfile, tag: string) =>
  Effect.gen(function*() {
    const key = yield* generateAccessKey
    const logPath = path.join(ctx.workDir, "logs", `eci-simulator-${tag}.log`)
    const c = yield* orDie(spawnComponent({
      name: "eci-simulator",
      command: nodeBinary(),
      args: [repoPath("bench", "eciSimulator.ts"), "--profile", profile],
      logPath,
      env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: Redacted.value(key.accessKeySecret) }
    }))
    let url: string | undefined
    yield* pollUntil(Effect.sync(() => (url = LISTENING.exec(fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8") : "")?.[1]) !== undefined), "100 millis")
      .pipe(Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.die(fail("eci-simulator", tailFile(logPath))) }))
    return { url: url ?? "", pid: c.pid, key }
  })

const startOurs = (ctx: SystemContext, nodeName: string, profile: BenchProfile): Effect.Effect<RunningSystem, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { cp } = ctx
    const sim = yield* startSimulator(ctx, profile, nodeName)
    yield* orDie(putCredentialsSecret(cp, sim.key))
    const ports = yield* orDie(freePorts(["kubelet", "webhook", "metrics"]))
    yield* orDie(applySandboxWebhookConfiguration(cp, ports.webhook))
    const kubeconfig = yield* orDie(cp.serviceAccountKubeconfig(PRODUCT_SERVICE_ACCOUNT.namespace, PRODUCT_SERVICE_ACCOUNT.name))
    const serving = yield* orDie(cp.issueCertificate({
      name: `serving-${nodeName}`, commonName: `system:node:${nodeName}`, organizations: ["system:nodes"],
      usage: "server", ipAddresses: ["127.0.0.1"], dnsNames: ["localhost", nodeName]
    }))
    const endpoint = sim.url.replace(/^http:\/\//, "")
    const vn = yield* makeVirtualNode({
      id: nodeName,
      metricsPort: ports.metrics,
      logDir: path.join(ctx.workDir, "logs"),
      stopGraceSeconds: 10,
      ...(ctx.nodeOptions === undefined ? {} : { env: { NODE_OPTIONS: ctx.nodeOptions } }),
      ...(ctx.oursEntry === undefined ? {} : { entry: ctx.oursEntry }),
      args: [
        "--cluster-id", "bench",
        "--region", "cn-hangzhou",
        "--eci-endpoint", endpoint,
        "--eci-protocol", "http",
        "--kubeconfig", kubeconfig,
        "--node-name", nodeName,
        "--pod-ip", "127.0.0.1",
        "--kubelet-port", String(ports.kubelet),
        "--webhook-port", String(ports.webhook),
        "--metrics-port", String(ports.metrics),
        "--tls-cert-file", serving.certPath,
        "--tls-key-file", serving.keyPath,
        "--client-ca-file", cp.caCertPath,
        "--pod-namespace", PRODUCT_SERVICE_ACCOUNT.namespace,
        "--pod-name", `${nodeName}-0`,
        // Capacity only (as for the peers); everything else at its production default.
        "--node-cpu", CAPACITY.cpu, "--node-memory", CAPACITY.memory, "--node-pods", CAPACITY.pods,
        "--log-format", "json", "--log-level", "info",
        // The zero profile's account has no ECI quotas, and ours is told so, as an operator with
        // raised quotas would configure it; otherwise its client-side buckets at the documented
        // quotas (Create 1000/min) would be measured instead of the kubelet. The quota profile keeps them.
        ...(profile === "zero" ? ["--eci-quota-multiplier", "1000"] : []),
        ...(ctx.oursArgs ?? [])
      ]
    })
    yield* orDie(vn.start())
    const pid = (yield* vn.pid) ?? 0
    const logPath = (yield* vn.logPath) ?? ""
    yield* waitNodeReady(cp, nodeName, logPath)
    return { system: "ours", nodeName, pid, logPath, simulatorUrl: sim.url, simulatorPid: sim.pid, metricsUrl: vn.metricsUrl, exited: vn.lastExit } satisfies RunningSystem
  })

const startVkMock = (ctx: SystemContext, nodeName: string): Effect.Effect<RunningSystem, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { cp } = ctx
    const dir = path.join(ctx.workDir, nodeName)
    fs.mkdirSync(dir, { recursive: true })
    const providerConfig = path.join(dir, "mock.json")
    fs.writeFileSync(providerConfig, JSON.stringify({ [nodeName]: CAPACITY }))
    const { namespace, name } = PEER_ACCOUNTS["vk-mock"]
    const kubeconfig = yield* orDie(cp.serviceAccountKubeconfig(namespace, name))
    // The key pair is mandatory (VK loads it unconditionally); no client CA → VK's NoAuth (loopback only).
    const serving = yield* orDie(cp.issueCertificate({
      name: `serving-${nodeName}`, commonName: `system:node:${nodeName}`, usage: "server", ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"]
    }))
    const ports = yield* orDie(freePorts(["kubelet", "metrics"]))
    const logPath = path.join(ctx.workDir, "logs", `${nodeName}.log`)
    const c = yield* orDie(spawnComponent({
      name: nodeName,
      command: path.join(ctx.peerBin, "virtual-kubelet"),
      args: [
        "--provider", "mock", "--provider-config", providerConfig, "--nodename", nodeName, "--kubeconfig", kubeconfig,
        "--metrics-addr", `127.0.0.1:${ports.metrics}` // the default :10255 would bind every interface
      ],
      logPath,
      env: {
        ...process.env,
        KUBELET_PORT: String(ports.kubelet),
        VKUBELET_POD_IP: "127.0.0.1",
        APISERVER_CERT_LOCATION: serving.certPath,
        APISERVER_KEY_LOCATION: serving.keyPath
      }
    }))
    yield* waitNodeReady(cp, nodeName, logPath)
    return { system: "vk-mock", nodeName, pid: c.pid, logPath, exited: exitOf(c) } satisfies RunningSystem
  })

const startKwok = (ctx: SystemContext, nodeName: string): Effect.Effect<RunningSystem, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { cp } = ctx
    const dir = path.join(ctx.workDir, nodeName)
    fs.mkdirSync(dir, { recursive: true })
    // kwokctl's default Stage set (fast pod stages, Lease heartbeat), written by tools/peers/build.sh;
    // never a ~/.kwok of the machine.
    const config = path.join(ctx.peerBin, "kwok-stages.yaml")
    const { namespace, name } = PEER_ACCOUNTS.kwok
    const kubeconfig = yield* orDie(cp.serviceAccountKubeconfig(namespace, name))
    // kwok simulates a node; it does not register one. The object kwokctl's docs show, minus the taint
    // (the bench pods tolerate everything anyway).
    yield* orDie(cp.kubectlOk(["apply", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: nodeName,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { type: "kwok", "kubernetes.io/hostname": nodeName, "kubernetes.io/role": "agent", "kubernetes.io/os": "linux" }
        },
        spec: { taints: [{ key: "kwok.x-k8s.io/node", value: "fake", effect: "NoSchedule" }] }
      })
    }))
    const ports = yield* orDie(freePorts(["server"]))
    const logPath = path.join(ctx.workDir, "logs", `${nodeName}.log`)
    const c = yield* orDie(spawnComponent({
      name: nodeName,
      command: path.join(ctx.peerBin, "kwok"),
      args: [
        "--kubeconfig", kubeconfig, "--config", config, "--manage-single-node", nodeName,
        "--node-lease-duration-seconds", "40", // heartbeats through a Lease, as a kubelet (and VK, and ours) does
        "--server-address", `127.0.0.1:${ports.server}`, "--node-ip", "127.0.0.1"
      ],
      logPath
    }))
    yield* waitNodeReady(cp, nodeName, logPath)
    return { system: "kwok", nodeName, pid: c.pid, logPath, exited: exitOf(c) } satisfies RunningSystem
  })

export const startSystem = (ctx: SystemContext, system: SystemName, nodeName: string, profile: BenchProfile) =>
  system === "ours" ? startOurs(ctx, nodeName, profile) : system === "vk-mock" ? startVkMock(ctx, nodeName) : startKwok(ctx, nodeName)

/** After a system stopped: its Node (and its Lease) go, so the next one starts on a clean slate. */
export const removeNode = (cp: ControlPlaneInfo, nodeName: string) =>
  Effect.gen(function*() {
    yield* cp.kubectl(["delete", "node", nodeName, "--ignore-not-found", "--wait=false"])
    yield* cp.kubectl(["-n", "kube-node-lease", "delete", "lease", nodeName, "--ignore-not-found", "--wait=false"])
  }).pipe(Effect.ignore)
