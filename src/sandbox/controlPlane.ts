/**
 * A real Kubernetes control plane on loopback: etcd → kube-apiserver → kube-scheduler +
 * kube-controller-manager (→ metrics-server), each a child process with its log in the work dir,
 * all stopped when the scope closes. The shape of envtest / `kwokctl --runtime binary`; flags and
 * their reasons: /work/shared/control-plane-notes.md §3.
 *
 *   const cp = yield* ControlPlane          // with ControlPlane.layer({}) provided
 *   yield* cp.kubectl(["get", "--raw", "/readyz"])
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Clock, Context, Effect, Exit, Layer, type Scope } from "effect"
import { ensureBinaries } from "./binaries.ts"
import { ControlPlaneError } from "./errors.ts"
import { writeKubeconfig } from "./kubeconfig.ts"
import { type CertificateSpec, type CertKey, generatePki, issueCertificate, type Pki } from "./pki.ts"
import { freePorts, pollUntil, probe } from "./probe.ts"
import { type Component, runCommand, type RunResult, spawnComponent, tailFile } from "./process.ts"

export interface ControlPlaneOptions {
  /** Where PKI, etcd data, logs and kubeconfigs go. Default: a fresh temp dir, removed after a clean stop. */
  readonly workDir?: string
  /** Use binaries from here instead of running build.sh. */
  readonly binDir?: string
  /** Also start metrics-server, registered as the v1beta1.metrics.k8s.io APIService. */
  readonly metricsServer?: boolean
  /** Extra flags per component, appended last (later flags win). */
  readonly extraArgs?: {
    readonly apiserver?: ReadonlyArray<string>
    readonly controllerManager?: ReadonlyArray<string>
    readonly scheduler?: ReadonlyArray<string>
  }
  /** Seconds each component may take to become healthy. Default 90. */
  readonly startTimeoutSeconds?: number
}

export interface ProcessInfo {
  readonly name: string
  readonly pid: number
  readonly logPath: string
}

export interface ControlPlaneInfo {
  /** Admin kubeconfig (user `admin`, group system:masters). */
  readonly kubeconfigPath: string
  /** https://127.0.0.1:<port> */
  readonly server: string
  readonly caPem: string
  readonly caCertPath: string
  /** The cluster CA key: lets the sandbox sign the virtual kubelet's serving certificate. */
  readonly caKeyPath: string
  readonly workDir: string
  readonly binDir: string
  readonly processes: ReadonlyArray<ProcessInfo>
  /** Seconds from launch (binaries present) to apiserver /readyz, and to scheduler /readyz. */
  readonly startup: { readonly apiserverReadySeconds: number; readonly schedulerReadySeconds: number }
  /** Runs kubectl as admin. A non-zero exit is a result, not a failure. */
  readonly kubectl: (args: ReadonlyArray<string>, options?: { readonly stdin?: string }) => Effect.Effect<RunResult, ControlPlaneError>
  /** Runs kubectl as admin and returns stdout; a non-zero exit fails with its stderr. */
  readonly kubectlOk: (args: ReadonlyArray<string>, options?: { readonly stdin?: string }) => Effect.Effect<string, ControlPlaneError>
  /** Creates a namespace (if missing) and waits until pods can be created in it (its `default` ServiceAccount exists). */
  readonly ensureNamespace: (name: string) => Effect.Effect<void, ControlPlaneError>
  /**
   * Writes a kubeconfig that authenticates as an existing ServiceAccount with a TokenRequest token,
   * so a process runs under exactly that account's RBAC. Returns the file path.
   */
  readonly serviceAccountKubeconfig: (
    namespace: string,
    name: string,
    options?: { readonly expirationSeconds?: number; readonly path?: string }
  ) => Effect.Effect<string, ControlPlaneError>
  /** Signs a certificate with the cluster CA into `<workDir>/pki` (e.g. the virtual kubelet's serving cert). */
  readonly issueCertificate: (spec: CertificateSpec) => Effect.Effect<CertKey, ControlPlaneError>
}

export class ControlPlane extends Context.Service<ControlPlane, ControlPlaneInfo>()("vk/ControlPlane") {
  static readonly layer = (options: ControlPlaneOptions = {}) => Layer.effect(ControlPlane, make(options))
}

const fail = (component: string, message: string) => new ControlPlaneError({ component, message })

const logTail = (c: Component) => `--- last lines of ${c.logPath} ---\n${tailFile(c.logPath)}`

/**
 * Waits until `check` passes; fails early (with the log tail) if the process exits, or after `timeoutSeconds`.
 */
const waitHealthy = (c: Component, check: Effect.Effect<boolean>, timeoutSeconds: number) =>
  Effect.raceFirst(
    pollUntil(check),
    c.awaitExit.pipe(
      Effect.flatMap((x) => Effect.fail(fail(c.name, `exited (code ${x.code}, signal ${x.signal}) before becoming ready\n${logTail(c)}`)))
    )
  ).pipe(
    Effect.timeoutOrElse({
      duration: `${timeoutSeconds} seconds`,
      orElse: () => Effect.fail(fail(c.name, `not ready after ${timeoutSeconds}s\n${logTail(c)}`))
    })
  )

const isOk = (url: string, ca?: string) => probe(url, ca).pipe(Effect.map((r) => r.status === 200))

/** Acquires a running control plane; everything is stopped (in reverse order) when the scope closes. */
export const make = (options: ControlPlaneOptions = {}): Effect.Effect<ControlPlaneInfo, ControlPlaneError, Scope.Scope> =>
  Effect.gen(function*() {
    const binDir = options.binDir ?? (yield* ensureBinaries({ metricsServer: options.metricsServer === true }))
    const workDir = yield* acquireWorkDir(options.workDir)
    const t0 = yield* Clock.currentTimeMillis
    const timeout = options.startTimeoutSeconds ?? 90
    const bin = (name: string) => path.join(binDir, name)
    const logs = path.join(workDir, "logs")
    const pki = yield* generatePki(path.join(workDir, "pki"))
    const caPem = yield* Effect.sync(() => fs.readFileSync(pki.ca.certPath, "utf8"))

    const { etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, msPort } = yield* freePorts(
      ["etcdPort", "etcdPeerPort", "apiPort", "kcmPort", "schedPort", "msPort"]
    ).pipe(Effect.mapError((e) => fail("ports", e.message)))
    const server = `https://127.0.0.1:${apiPort}`
    const etcdUrl = `http://127.0.0.1:${etcdPort}`
    const processes: Array<ProcessInfo> = []
    const run = (name: string, args: ReadonlyArray<string>) =>
      spawnComponent({ name, command: bin(name), args, logPath: path.join(logs, `${name}.log`) }).pipe(
        Effect.tap((c) => Effect.sync(() => processes.push({ name: c.name, pid: c.pid, logPath: c.logPath })))
      )

    // --- etcd: plain HTTP on loopback; explicit peer URL so parallel clusters do not collide on :2380.
    const etcdData = path.join(workDir, "etcd")
    yield* Effect.sync(() => fs.rmSync(etcdData, { recursive: true, force: true })) // a fresh cluster every start
    const etcd = yield* run("etcd", [
      "--name=node0", `--data-dir=${etcdData}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=node0=http://127.0.0.1:${etcdPeerPort}`,
      "--auto-compaction-retention=1", "--quota-backend-bytes=8589934592",
      "--unsafe-no-fsync=true" // throwaway data: durability buys nothing, fsync costs seconds
    ])
    yield* waitHealthy(etcd, probe(`${etcdUrl}/health`).pipe(Effect.map((r) => r.status === 200 && r.body.includes('"health":"true"'))), timeout)

    // --- kube-apiserver
    const apiserver = yield* run("kube-apiserver", [...apiserverArgs(pki, etcdUrl, apiPort), ...(options.extraArgs?.apiserver ?? [])])
    yield* waitHealthy(apiserver, isOk(`${server}/readyz`, caPem), timeout) // 200 only after RBAC bootstrap roles exist
    const apiserverReady = yield* Clock.currentTimeMillis

    const kubeconfigPath = path.join(workDir, "kubeconfig")
    const kubeconfigFor = (name: string, cert: CertKey) => {
      const p = path.join(workDir, `${name}.kubeconfig`)
      return writeKubeconfig({ path: p, server, caCertPath: pki.ca.certPath, userName: name, user: { clientCertPath: cert.certPath, clientKeyPath: cert.keyPath } }).pipe(Effect.as(p))
    }
    yield* writeKubeconfig({
      path: kubeconfigPath, server, caCertPath: pki.ca.certPath, userName: "admin",
      user: { clientCertPath: pki.admin.certPath, clientKeyPath: pki.admin.keyPath }
    })
    const schedKubeconfig = yield* kubeconfigFor("kube-scheduler", pki.scheduler)
    const kcmKubeconfig = yield* kubeconfigFor("kube-controller-manager", pki.controllerManager)

    // --- scheduler and controller-manager, started together. Health endpoints are allowed without
    // authentication so the probe needs no credentials.
    const healthPaths = "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics"
    const scheduler = yield* run("kube-scheduler", [
      `--kubeconfig=${schedKubeconfig}`, "--leader-elect=false", // one instance: no 15 s lease wait
      "--bind-address=127.0.0.1", `--secure-port=${schedPort}`, healthPaths,
      ...(options.extraArgs?.scheduler ?? [])
    ])
    const controllerManager = yield* run("kube-controller-manager", [
      `--kubeconfig=${kcmKubeconfig}`, "--leader-elect=false",
      "--bind-address=127.0.0.1", `--secure-port=${kcmPort}`, healthPaths,
      // root-ca-file feeds the kube-root-ca.crt ConfigMap every projected SA token volume mounts;
      // the SA key signs legacy token Secrets.
      `--root-ca-file=${pki.ca.certPath}`, `--service-account-private-key-file=${pki.serviceAccountKey}`,
      "--use-service-account-credentials=true", // each controller under its own system:controller:* RBAC
      // CSR signer: approved CertificateSigningRequests get certificates from the cluster CA.
      `--cluster-signing-cert-file=${pki.ca.certPath}`, `--cluster-signing-key-file=${pki.ca.keyPath}`,
      "--controllers=*",
      ...(options.extraArgs?.controllerManager ?? [])
    ])
    // kube-scheduler's /readyz includes informer sync (sched-handler-sync): it can schedule after this.
    yield* Effect.all([
      waitHealthy(scheduler, isOk(`https://127.0.0.1:${schedPort}/readyz`), timeout),
      waitHealthy(controllerManager, isOk(`https://127.0.0.1:${kcmPort}/healthz`), timeout)
    ], { concurrency: "unbounded" })
    const schedulerReady = yield* Clock.currentTimeMillis

    const kubectl = (args: ReadonlyArray<string>, opts: { readonly stdin?: string } = {}) =>
      runCommand(bin("kubectl"), [`--kubeconfig=${kubeconfigPath}`, ...args], opts.stdin === undefined ? {} : { stdin: opts.stdin })
    const kubectlOk = (args: ReadonlyArray<string>, opts: { readonly stdin?: string } = {}) =>
      kubectl(args, opts).pipe(
        Effect.flatMap((r) =>
          r.exitCode === 0 ? Effect.succeed(r.stdout) : Effect.fail(fail("kubectl", `kubectl ${args.join(" ")}: exit ${r.exitCode}: ${r.stderr.trim()}`))
        )
      )

    if (options.metricsServer === true) {
      const admin = kubeconfigPath
      // Register first: the aggregator reaches it through an ExternalName Service pointing at loopback.
      yield* kubectlOk(["apply", "-f", "-"], { stdin: metricsServerManifest(msPort, caPem) })
      const ms = yield* run("metrics-server", [
        "--bind-address=127.0.0.1", `--secure-port=${msPort}`,
        // Admin credentials keep the sandbox simple (no metrics-server RBAC to install); local only.
        `--kubeconfig=${admin}`, `--authentication-kubeconfig=${admin}`, `--authorization-kubeconfig=${admin}`,
        `--tls-cert-file=${pki.metricsServer.certPath}`, `--tls-private-key-file=${pki.metricsServer.keyPath}`,
        // The virtual kubelet serves a certificate from the cluster CA, so verify it (no --kubelet-insecure-tls).
        `--kubelet-certificate-authority=${pki.ca.certPath}`,
        "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port", "--metric-resolution=15s"
      ])
      // /livez, not /readyz: readiness needs one successful node scrape, and there may be no node yet.
      yield* waitHealthy(ms, isOk(`https://127.0.0.1:${msPort}/livez`, caPem), timeout)
    }

    const startup = {
      apiserverReadySeconds: (apiserverReady - t0) / 1000,
      schedulerReadySeconds: (schedulerReady - t0) / 1000
    }
    yield* Effect.logInfo(`control plane ready at ${server} (apiserver ${startup.apiserverReadySeconds}s, scheduler ${startup.schedulerReadySeconds}s)`)

    return {
      kubeconfigPath, server, caPem, caCertPath: pki.ca.certPath, caKeyPath: pki.ca.keyPath, workDir, binDir,
      processes, startup, kubectl, kubectlOk,
      ensureNamespace: (name) => ensureNamespace(kubectl, kubectlOk, name),
      serviceAccountKubeconfig: (namespace, name, opts = {}) =>
        Effect.gen(function*() {
          const seconds = opts.expirationSeconds ?? 24 * 3600
          // TokenRequest API; the token only goes into the 0600 file, never into a log or error.
          const token = (yield* kubectlOk(["create", "token", name, "-n", namespace, `--duration=${seconds}s`])).trim()
          const p = opts.path ?? path.join(workDir, `sa-${namespace}-${name}.kubeconfig`)
          yield* writeKubeconfig({ path: p, server, caCertPath: pki.ca.certPath, userName: `${namespace}-${name}`, user: { token } })
          return p
        }),
      issueCertificate: (spec) => issueCertificate(pki.ca, pki.dir, spec)
    } satisfies ControlPlaneInfo
  }).pipe(Effect.withSpan("ControlPlane.make"))

const apiserverArgs = (pki: Pki, etcdUrl: string, port: number) => {
  const issuer = "https://kubernetes.default.svc.cluster.local"
  return [
    `--etcd-servers=${etcdUrl}`, "--etcd-prefix=/registry",
    "--bind-address=127.0.0.1", `--secure-port=${port}`,
    "--advertise-address=127.0.0.1", // else it looks for a default route's address
    "--endpoint-reconciler-type=none", // a loopback address is not a valid Endpoints address
    `--tls-cert-file=${pki.apiserver.certPath}`, `--tls-private-key-file=${pki.apiserver.keyPath}`,
    `--client-ca-file=${pki.ca.certPath}`,
    "--authorization-mode=Node,RBAC",
    // Most are on by default; naming them documents what the product relies on.
    "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
    "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
    `--service-account-issuer=${issuer}`, `--api-audiences=${issuer}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`, `--service-account-key-file=${pki.serviceAccountPub}`,
    // apiserver → kubelet (logs/exec/attach): a dedicated client identity, and the kubelet's serving
    // certificate must chain to the cluster CA (the sandbox signs it with caKeyPath).
    `--kubelet-client-certificate=${pki.kubeletClient.certPath}`, `--kubelet-client-key=${pki.kubeletClient.keyPath}`,
    `--kubelet-certificate-authority=${pki.ca.certPath}`,
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    // Aggregation (metrics-server). The request-header CA is the cluster CA, so pin the one name
    // allowed to assert X-Remote-User; an empty list would let any client cert from the CA do it.
    `--proxy-client-cert-file=${pki.frontProxyClient.certPath}`, `--proxy-client-key-file=${pki.frontProxyClient.keyPath}`,
    `--requestheader-client-ca-file=${pki.ca.certPath}`, "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-"
  ]
}

const ensureNamespace = (
  kubectl: ControlPlaneInfo["kubectl"],
  kubectlOk: ControlPlaneInfo["kubectlOk"],
  name: string
) =>
  Effect.gen(function*() {
    const exists = yield* kubectl(["get", "namespace", name])
    if (exists.exitCode !== 0) yield* kubectlOk(["create", "namespace", name])
    // ServiceAccount admission rejects pods until kube-controller-manager has created `default`.
    yield* pollUntil(kubectl(["get", "serviceaccount", "default", "-n", name]).pipe(Effect.map((r) => r.exitCode === 0)))
      .pipe(Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.fail(fail("kube-controller-manager", `no default ServiceAccount in ${name} after 60s`)) }))
  })

const metricsServerManifest = (port: number, caPem: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "metrics-server", namespace: "kube-system" },
        // The aggregator resolves an ExternalName Service to https://<externalName>:<port>.
        spec: { type: "ExternalName", externalName: "127.0.0.1", ports: [{ name: "https", port, protocol: "TCP" }] }
      },
      {
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name: "v1beta1.metrics.k8s.io" },
        spec: {
          group: "metrics.k8s.io", version: "v1beta1", groupPriorityMinimum: 100, versionPriority: 100,
          service: { name: "metrics-server", namespace: "kube-system", port },
          caBundle: Buffer.from(caPem).toString("base64") // its serving cert is signed by the cluster CA
        }
      }
    ]
  })

/**
 * The work dir: the caller's (kept), or a temp dir named `<prefix>…` that is removed when the scope
 * closes cleanly and kept (with its logs) when it closes with a failure. Shared with the sandbox.
 */
export const acquireWorkDir = (dir: string | undefined, prefix = "eci-control-plane-"): Effect.Effect<string, never, Scope.Scope> =>
  dir !== undefined
    ? Effect.sync(() => {
      fs.mkdirSync(path.join(dir, "logs"), { recursive: true })
      return path.resolve(dir)
    })
    : Effect.acquireRelease(
      Effect.sync(() => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
        fs.mkdirSync(path.join(d, "logs"))
        return d
      }),
      (d, exit) =>
        Exit.isSuccess(exit)
          ? Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
          : Effect.logWarning(`${prefix.replace(/-$/, "")} stopped after a failure; logs kept in ${d}/logs`)
    )
