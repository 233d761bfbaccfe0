/**
 * The sandbox: a real control plane, the wire ECI simulator and the product running against them as
 * it would in a cluster — under the ServiceAccount and RBAC that `k8s/` ships, with the credentials
 * Secret it watches and the steering webhook registered — all on loopback, all stopped when the
 * scope closes. `npm start` (main.ts) holds one until Ctrl-C; end-to-end tests build one per suite:
 *
 *   layer(Sandbox.layer({ replicas: 1 }), { excludeTestServices: true, timeout: "10 minutes" })("…", (it) => {
 *     it.effect("…", () => Effect.gen(function*() { const sb = yield* Sandbox; … }))
 *   })
 *
 * Order: control plane → simulator (fresh key pair) → RBAC, Secret, webhook configuration → the
 * product's ServiceAccount kubeconfig and the kubelet serving certificate → the replicas (one after
 * the other, so the first is normally the leader; each until its /readyz) → by default, the webhook
 * serving and the Node Ready (a replica exiting meanwhile fails the start with its log).
 */
import * as path from "node:path"
import { Clock, Context, Effect, Layer, Random, Redacted, type Scope } from "effect"
import { acquireWorkDir, make as makeControlPlane, type ControlPlaneInfo } from "./controlPlane.ts"
import type { ControlPlaneError } from "./errors.ts"
import { type AccessKey, type EciSimulatorProcess, startEciSimulator } from "./eciSimulator.ts"
import {
  applyObject,
  applyProductRbac,
  sandboxWebhookConfiguration,
  deleteCredentialsSecret,
  putCredentialsSecret
} from "./manifests.ts"
import { freePorts, pollUntil, probe } from "./probe.ts"
import { type RunResult, tailFile } from "./process.ts"
import { SandboxError } from "./sandboxError.ts"
import { makeVirtualNode, type VirtualNode } from "./virtualNode.ts"
import { startWebhookService } from "./webhookService.ts"

/** kubeadm's `kube-apiserver-kubelet-api-admin` binding, for the API server's kubelet-client certificate. */
export const kubeletApiAdminBinding = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name: "kube-apiserver-kubelet-api-admin" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:kubelet-api-admin" },
  subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "kube-apiserver-kubelet-client" }]
}

/** The ServiceAccount the product runs as (k8s/serviceaccount.yaml). */
export const PRODUCT_SERVICE_ACCOUNT = { namespace: "kube-system", name: "eci-virtual-node" } as const

/** What the credentials Secret holds at start. */
export type InitialCredentials = "valid" | "wrong-secret" | "unknown-key" | "missing"

export interface SandboxOptions {
  /** Logs, PKI, etcd data and kubeconfigs. Default: a fresh temp dir, removed after a clean stop (kept, with logs, after a failure). */
  readonly workDir?: string
  /** Control-plane binaries (default: tools/control-plane/build.sh's cache, built on first use). */
  readonly binDir?: string
  readonly metricsServer?: boolean
  /** Simulator timing: fast (default; tests) or realistic (npm start). */
  readonly profile?: "fast" | "realistic"
  /** Seed of the simulator's random choices. Default "sandbox". */
  readonly seed?: string
  /** Default cn-hangzhou. */
  readonly region?: string
  /** `--cluster-id`. Default "sandbox". */
  readonly clusterId?: string
  /** `--node-name`. Default "virtual-kubelet-sandbox". */
  readonly nodeName?: string
  /** Product replicas to start: 0 (none), 1 (default) or more (HA; leader election among them). */
  readonly replicas?: number
  /** The credentials Secret at start (default valid: the simulator's pair). */
  readonly credentials?: InitialCredentials
  /**
   * Objects applied as cluster admin before the replicas start: what a test needs in place at the
   * product's start-up (an eci-profile ConfigMap, a labelled namespace). Not for granting the product
   * anything: its permissions are k8s/'s alone.
   */
  readonly manifests?: ReadonlyArray<unknown>
  /**
   * Wait until the steering webhook serves (the product patched its CA into the webhook
   * configuration and answers through the URL). Default: when replicas > 0.
   */
  readonly waitForWebhook?: boolean
  /** Wait until the Node is Ready=True before returning. Default: when replicas > 0 and credentials are valid. */
  readonly waitForNodeReady?: boolean
  readonly virtualNode?: {
    /** Extra flags for every replica, after the sandbox's own (a repeated flag: see the CLI's rule). */
    readonly args?: ReadonlyArray<string>
    readonly env?: Readonly<Record<string, string>>
    /** `--log-level`. Default debug (tests read the lines). */
    readonly logLevel?: "trace" | "debug" | "info" | "warn" | "error"
    readonly readyTimeoutSeconds?: number
    readonly stopGraceSeconds?: number
  }
}

export interface SandboxCredentials {
  /** The pair the simulator currently accepts as valid (the Secret's, unless broken). */
  readonly valid: Effect.Effect<AccessKey>
  /** Writes the Secret with this pair. */
  readonly put: (key: AccessKey) => Effect.Effect<void, SandboxError>
  /** The Secret back to the valid pair. */
  readonly restore: Effect.Effect<void, SandboxError>
  /**
   * The Secret to a pair the simulator rejects: `wrong-secret` (known id, wrong secret →
   * SignatureDoesNotMatch) or `unknown-key` (InvalidAccessKeyId.NotFound). Returns the pair written.
   */
  readonly break: (how?: "wrong-secret" | "unknown-key") => Effect.Effect<AccessKey, SandboxError>
  /** Deletes the Secret (credentials missing). */
  readonly remove: Effect.Effect<void, SandboxError>
  /**
   * Key rotation as an operator does it: a new pair is accepted by the simulator (alongside the old,
   * or instead of it with `revokeOld`), then written to the Secret. Returns the new pair.
   */
  readonly rotate: (options?: { readonly revokeOld?: boolean }) => Effect.Effect<AccessKey, SandboxError>
}

export interface SandboxInfo {
  readonly workDir: string
  /** Logs of the simulator and the replicas (the control plane's are in `controlPlane.workDir/logs`, the same dir). */
  readonly logDir: string
  readonly controlPlane: ControlPlaneInfo
  /** kubectl as cluster admin (a non-zero exit is a result). */
  readonly kubectl: ControlPlaneInfo["kubectl"]
  /** kubectl as cluster admin; stdout, or a failure with stderr. */
  readonly kubectlOk: ControlPlaneInfo["kubectlOk"]
  /** kubectl as the product's ServiceAccount (what the shipped RBAC allows). */
  readonly kubectlAsProduct: (args: ReadonlyArray<string>) => Effect.Effect<RunResult, ControlPlaneError>
  /** Kubeconfig of the product's ServiceAccount (TokenRequest token), what the replicas run with. */
  readonly productKubeconfig: string
  readonly eci: EciSimulatorProcess & { readonly accessKey: AccessKey }
  readonly credentials: SandboxCredentials
  /** The kubelet API's serving certificate (cluster CA, SAN 127.0.0.1) and the client CA it trusts. */
  readonly kubeletTls: { readonly certPath: string; readonly keyPath: string; readonly clientCaPath: string }
  /** The URL the MutatingWebhookConfiguration calls (the webhook "Service" forwarding to a live replica). */
  readonly webhookUrl: string
  readonly nodeName: string
  readonly clusterId: string
  readonly region: string
  readonly replicas: ReadonlyArray<VirtualNode>
  /** Every process the sandbox runs right now (control plane, simulator, live replicas): for teardown checks. */
  readonly processes: Effect.Effect<ReadonlyArray<{ readonly name: string; readonly pid: number }>>
  /** Waits until the Node's Ready condition has `status` (default "True"); returns the condition. */
  readonly awaitNodeReady: (
    status?: "True" | "False" | "Unknown",
    options?: { readonly timeoutSeconds?: number }
  ) => Effect.Effect<NodeCondition, SandboxError>
  /**
   * Waits until the steering webhook serves as kube-apiserver will call it: every entry of the
   * webhook configuration has the product's caBundle, and /healthz answers through the URL with a
   * certificate from that CA.
   */
  readonly awaitWebhook: (options?: { readonly timeoutSeconds?: number }) => Effect.Effect<void, SandboxError>
}

export interface NodeCondition {
  readonly type: string
  readonly status: string
  readonly reason?: string
  readonly message?: string
}

export class Sandbox extends Context.Service<Sandbox, SandboxInfo>()("vk/Sandbox") {
  static readonly layer = (options: SandboxOptions = {}) => Layer.effect(Sandbox, make(options))
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const randomString = (length: number) =>
  Effect.gen(function*() {
    let s = ""
    for (let i = 0; i < length; i++) s += ALNUM[yield* Random.nextIntBetween(0, ALNUM.length, { halfOpen: true })]
    return s
  })

/** A key pair shaped like Alibaba Cloud's (LTAI + 20 characters; a 30-character secret). */
export const generateAccessKey: Effect.Effect<AccessKey> = Effect.gen(function*() {
  return { accessKeyId: `LTAI${yield* randomString(20)}`, accessKeySecret: Redacted.make(yield* randomString(30)) }
})



const readyCondition = (cp: ControlPlaneInfo, nodeName: string) =>
  cp.kubectl(["get", "node", nodeName, "-o", "json"]).pipe(
    Effect.map((r): NodeCondition | undefined => {
      if (r.exitCode !== 0) return undefined
      const node = JSON.parse(r.stdout) as { readonly status?: { readonly conditions?: ReadonlyArray<NodeCondition> } }
      return node.status?.conditions?.find((c) => c.type === "Ready")
    }),
    Effect.orElseSucceed((): NodeCondition | undefined => undefined)
  )

/** Acquires a running sandbox; everything stops, replicas first, when the scope closes. */
export const make = (options: SandboxOptions = {}): Effect.Effect<SandboxInfo, SandboxError | ControlPlaneError, Scope.Scope> =>
  Effect.gen(function*() {
    const t0 = yield* Clock.currentTimeMillis
    const elapsed = Effect.map(Clock.currentTimeMillis, (t) => `${((t - t0) / 1000).toFixed(1)}s`)
    const workDir = yield* acquireWorkDir(options.workDir, "eci-sandbox-")
    const logDir = path.join(workDir, "logs")
    const region = options.region ?? "cn-hangzhou"
    const clusterId = options.clusterId ?? "sandbox"
    const nodeName = options.nodeName ?? "virtual-kubelet-sandbox"
    const replicaCount = options.replicas ?? 1
    const initialCredentials = options.credentials ?? "valid"

    // 1. Control plane (its temp dir is ours: one dir to keep or remove).
    const cp = yield* makeControlPlane({
      workDir,
      ...(options.binDir === undefined ? {} : { binDir: options.binDir }),
      ...(options.metricsServer === undefined ? {} : { metricsServer: options.metricsServer })
    })

    // 2. The simulated cloud, with a key pair of its own.
    let valid = yield* generateAccessKey
    const sim = yield* startEciSimulator({
      accessKey: valid,
      profile: options.profile ?? "fast",
      seed: options.seed ?? "sandbox",
      region,
      logPath: path.join(logDir, "eci-simulator.log")
    })
    yield* Effect.logInfo(`ECI simulator at ${sim.url} (${yield* elapsed})`)

    // 3. What k8s/ ships (minus the Deployment), the credentials Secret, the webhook configuration.
    yield* applyProductRbac(cp)
    const credentials: SandboxCredentials = {
      valid: Effect.sync(() => valid),
      put: (key) => putCredentialsSecret(cp, key),
      restore: Effect.suspend(() => putCredentialsSecret(cp, valid)),
      break: (how = "wrong-secret") =>
        Effect.gen(function*() {
          const bad: AccessKey = how === "wrong-secret"
            ? { accessKeyId: valid.accessKeyId, accessKeySecret: (yield* generateAccessKey).accessKeySecret }
            : yield* generateAccessKey
          yield* putCredentialsSecret(cp, bad)
          return bad
        }),
      remove: deleteCredentialsSecret(cp),
      rotate: (opts = {}) =>
        Effect.gen(function*() {
          const next = yield* generateAccessKey
          yield* sim.setAccessKeys(opts.revokeOld === true ? [next] : [valid, next])
          valid = next
          yield* putCredentialsSecret(cp, next)
          return next
        })
    }
    if (initialCredentials === "valid") yield* credentials.restore
    else if (initialCredentials !== "missing") yield* credentials.break(initialCredentials)

    const ports = yield* freePorts(Array.from({ length: replicaCount * 3 }, (_, i) => `p${i}`))
      .pipe(Effect.mapError((e) => new SandboxError({ part: "ports", message: e.message })))
    const portOf = (i: number) => ports[`p${i}`] ?? 0
    const replicaPorts = Array.from({ length: replicaCount }, (_, r) => ({
      kubelet: portOf(3 * r), webhook: portOf(3 * r + 1), metrics: portOf(3 * r + 2)
    }))
    const webhookService = yield* startWebhookService(replicaPorts.map((p) => p.webhook))
    const webhookUrl = `https://127.0.0.1:${webhookService.port}/mutate`
    const webhookConfig = yield* sandboxWebhookConfiguration(cp, webhookService.port)
    yield* applyObject(cp, webhookConfig)

    // 4. The product's identity: its ServiceAccount's token, not admin — this is what proves the RBAC.
    const productKubeconfig = yield* cp.serviceAccountKubeconfig(PRODUCT_SERVICE_ACCOUNT.namespace, PRODUCT_SERVICE_ACCOUNT.name, {
      expirationSeconds: 7 * 24 * 3600 // a sandbox left running over a weekend keeps working
    })

    // 5. The kubelet API's serving certificate, which kube-apiserver verifies with the cluster CA.
    const serving = yield* cp.issueCertificate({
      name: "virtual-kubelet-serving",
      commonName: `system:node:${nodeName}`,
      organizations: ["system:nodes"],
      usage: "server",
      ipAddresses: ["127.0.0.1"],
      dnsNames: ["localhost", nodeName]
    })
    const kubeletTls = { certPath: serving.certPath, keyPath: serving.keyPath, clientCaPath: cp.caCertPath }
    // As kubeadm binds it at bootstrap: the API server's kubelet client may use the whole kubelet
    // API (logs, exec, stats), which our kubelet API authorises through SubjectAccessReview.
    yield* applyObject(cp, kubeletApiAdminBinding)
    for (const object of options.manifests ?? []) yield* applyObject(cp, object)
    yield* Effect.logInfo(`sandbox manifests applied (${yield* elapsed})`)

    // 6. The replicas.
    const replicas: Array<VirtualNode> = []
    for (const [r, p] of replicaPorts.entries()) {
      const id = `virtual-node-${r}`
      const args = [
        "--cluster-id", clusterId,
        "--region", region,
        "--eci-endpoint", sim.endpoint,
        "--eci-protocol", "http",
        "--kubeconfig", productKubeconfig,
        "--node-name", nodeName,
        "--pod-ip", "127.0.0.1",
        "--kubelet-port", String(p.kubelet),
        "--webhook-port", String(p.webhook),
        "--metrics-port", String(p.metrics),
        "--tls-cert-file", kubeletTls.certPath,
        "--tls-key-file", kubeletTls.keyPath,
        "--client-ca-file", kubeletTls.clientCaPath,
        "--pod-namespace", PRODUCT_SERVICE_ACCOUNT.namespace,
        "--pod-name", id,
        "--log-format", "json",
        "--log-level", options.virtualNode?.logLevel ?? "debug",
        ...(options.virtualNode?.args ?? [])
      ]
      const vn = yield* makeVirtualNode({
        id,
        args,
        metricsPort: p.metrics,
        logDir,
        ...(options.virtualNode?.env === undefined ? {} : { env: options.virtualNode.env }),
        ...(options.virtualNode?.readyTimeoutSeconds === undefined ? {} : { readyTimeoutSeconds: options.virtualNode.readyTimeoutSeconds }),
        ...(options.virtualNode?.stopGraceSeconds === undefined ? {} : { stopGraceSeconds: options.virtualNode.stopGraceSeconds })
      })
      yield* vn.start()
      replicas.push(vn)
      yield* Effect.logInfo(`${id} ready (${yield* elapsed})`)
    }

    // For timeouts: a wait that fails because a replica died should say so.
    const replicaReport = Effect.gen(function*() {
      const lines: Array<string> = []
      for (const vn of replicas) {
        if (yield* vn.isRunning) continue
        const exit = yield* vn.lastExit
        const log = yield* vn.logPath
        lines.push(`${vn.id} is not running (exit code ${exit?.code ?? "?"}, signal ${exit?.signal ?? "none"}); last lines of ${log}:\n${log === undefined ? "" : tailFile(log, 15)}`)
      }
      return lines.length === 0 ? "" : `\n${lines.join("\n")}`
    })

    const awaitNodeReady = (status: "True" | "False" | "Unknown" = "True", opts: { readonly timeoutSeconds?: number } = {}) =>
      Effect.gen(function*() {
        let last: NodeCondition | undefined
        const timeout = opts.timeoutSeconds ?? 90
        yield* pollUntil(Effect.map(readyCondition(cp, nodeName), (c) => (last = c)?.status === status), "250 millis").pipe(
          Effect.timeoutOrElse({
            duration: `${timeout} seconds`,
            orElse: () =>
              Effect.flatMap(replicaReport, (report) =>
                Effect.fail(new SandboxError({
                  part: "node",
                  message: `Node ${nodeName} not Ready=${status} after ${timeout}s; last Ready condition: ${JSON.stringify(last ?? "none (no Node)")}${report}`
                })))
          })
        )
        return last as NodeCondition
      })

    // At start-up a replica that exits is the answer to any wait: say so, with its log, at once.
    const unlessAReplicaExits = <A>(wait: Effect.Effect<A, SandboxError>): Effect.Effect<A, SandboxError> =>
      replicas.length === 0 ? wait : Effect.raceFirst(
        wait,
        Effect.raceAll(replicas.map((vn) => Effect.map(vn.awaitExit, (exit) => ({ vn, exit })))).pipe(
          Effect.flatMap(({ vn, exit }) =>
            Effect.flatMap(vn.logPath, (log) =>
              Effect.fail(new SandboxError({
                part: vn.id,
                message: `${vn.id} exited during start-up (code ${exit?.code ?? "?"}, signal ${exit?.signal ?? "none"})\n--- last lines of ${log} ---\n${log === undefined ? "" : tailFile(log)}`
              }))))
        )
      )

    // The steering webhook serves, as kube-apiserver will call it: the CA patched into every entry
    // by the product, and /healthz answering through the URL with a certificate from that CA.
    const webhookReady = Effect.gen(function*() {
      const r = yield* cp.kubectl(["get", "mutatingwebhookconfiguration", webhookConfig.metadata.name, "-o", "json"])
      if (r.exitCode !== 0) return false
      const config = JSON.parse(r.stdout) as { readonly webhooks?: ReadonlyArray<{ readonly clientConfig?: { readonly caBundle?: string } }> }
      const bundles = (config.webhooks ?? []).map((w) => w.clientConfig?.caBundle ?? "")
      if (bundles.length === 0 || bundles.some((b) => b === "")) return false
      const ca = Buffer.from(bundles[0] ?? "", "base64").toString("utf8")
      return (yield* probe(`https://127.0.0.1:${webhookService.port}/healthz`, ca)).status === 200
    }).pipe(Effect.orElseSucceed(() => false))
    const awaitWebhook = (opts: { readonly timeoutSeconds?: number } = {}) => {
      const timeout = opts.timeoutSeconds ?? 60
      return pollUntil(webhookReady, "250 millis").pipe(
        Effect.timeoutOrElse({
          duration: `${timeout} seconds`,
          orElse: () =>
            Effect.flatMap(replicaReport, (report) =>
              Effect.fail(new SandboxError({
                part: "webhook",
                message: `the steering webhook is not serving after ${timeout}s (no caBundle in MutatingWebhookConfiguration ${webhookConfig.metadata.name}, or ${webhookUrl} not answering /healthz); see ${logDir}/virtual-node-*.log${report}`
              })))
        })
      )
    }
    if (options.waitForWebhook ?? replicaCount > 0) {
      yield* unlessAReplicaExits(awaitWebhook())
      yield* Effect.logInfo(`steering webhook serving (${yield* elapsed})`)
    }

    const waitForNode = options.waitForNodeReady ?? (replicaCount > 0 && initialCredentials === "valid")
    if (waitForNode) {
      yield* unlessAReplicaExits(awaitNodeReady("True"))
      yield* Effect.logInfo(`Node ${nodeName} Ready (${yield* elapsed})`)
    }

    const processes = Effect.gen(function*() {
      const out: Array<{ readonly name: string; readonly pid: number }> = cp.processes.map((p) => ({ name: p.name, pid: p.pid }))
      out.push({ name: "eci-simulator", pid: sim.pid })
      for (const vn of replicas) {
        const pid = yield* vn.pid
        if (pid !== undefined) out.push({ name: vn.id, pid })
      }
      return out as ReadonlyArray<{ readonly name: string; readonly pid: number }>
    })

    return {
      workDir,
      logDir,
      controlPlane: cp,
      kubectl: cp.kubectl,
      kubectlOk: cp.kubectlOk,
      kubectlAsProduct: (args) => cp.kubectl([`--kubeconfig=${productKubeconfig}`, ...args]),
      productKubeconfig,
      eci: { ...sim, get accessKey() { return valid } },
      credentials,
      kubeletTls,
      webhookUrl,
      nodeName,
      clusterId,
      region,
      replicas,
      processes,
      awaitNodeReady,
      awaitWebhook
    } satisfies SandboxInfo
  }).pipe(Effect.withSpan("Sandbox.make"))
