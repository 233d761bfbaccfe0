/**
 * PKI for a loopback control plane, minted with the openssl CLI (node:crypto makes keys but not X.509
 * certificates). EC P-256 keys: fast to generate, accepted by every component. Everything is signed by
 * one cluster CA; its key stays on disk in the work dir so the sandbox can sign more certificates later
 * (the virtual kubelet's serving cert, which kube-apiserver verifies with --kubelet-certificate-authority).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { ControlPlaneError } from "./errors.ts"
import { runCommand } from "./process.ts"

export interface CertKey {
  readonly certPath: string
  readonly keyPath: string
}

export interface CertificateSpec {
  /** File stem: writes `<name>.crt` and `<name>.key` into the directory. */
  readonly name: string
  readonly commonName: string
  readonly organizations?: ReadonlyArray<string>
  readonly usage: "server" | "client" | "both"
  readonly ipAddresses?: ReadonlyArray<string>
  readonly dnsNames?: ReadonlyArray<string>
  readonly days?: number
}

export interface Pki {
  readonly dir: string
  readonly ca: CertKey
  readonly apiserver: CertKey
  readonly admin: CertKey
  readonly kubeletClient: CertKey
  readonly scheduler: CertKey
  readonly controllerManager: CertKey
  readonly frontProxyClient: CertKey
  readonly metricsServer: CertKey
  /** Service-account token signing key (private) and verification key (public). */
  readonly serviceAccountKey: string
  readonly serviceAccountPub: string
}

// A minimal config so the host's openssl.cnf adds nothing we did not ask for.
const REQ_CONFIG = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
`
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

const openssl = (args: ReadonlyArray<string>) =>
  runCommand("openssl", args).pipe(
    Effect.flatMap((r) =>
      r.exitCode === 0
        ? Effect.void
        : Effect.fail(new ControlPlaneError({ component: "pki", message: `openssl ${args[0]} failed: ${r.stderr.trim()}` }))
    )
  )

const subject = (cn: string, orgs: ReadonlyArray<string> = []) => [...orgs.map((o) => `/O=${o}`), `/CN=${cn}`].join("")

const writeConfig = (dir: string, stem: string) =>
  Effect.sync(() => {
    const p = path.join(dir, `${stem}.req.cnf`) // per certificate: concurrent issuers never share a file
    fs.writeFileSync(p, REQ_CONFIG)
    return p
  })

/** Signs a new leaf certificate (fresh key) with the CA into `dir`. */
export const issueCertificate = Effect.fn("issueCertificate")(function*(ca: CertKey, dir: string, spec: CertificateSpec) {
  const config = yield* writeConfig(dir, spec.name)
  const keyPath = path.join(dir, `${spec.name}.key`)
  const certPath = path.join(dir, `${spec.name}.crt`)
  const csrPath = path.join(dir, `${spec.name}.csr`)
  const extPath = path.join(dir, `${spec.name}.ext`)
  const eku = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[spec.usage]
  const sans = [...(spec.ipAddresses ?? []).map((ip) => `IP:${ip}`), ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`)]
  yield* Effect.sync(() =>
    fs.writeFileSync(
      extPath,
      [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage = ${eku}`,
        "authorityKeyIdentifier = keyid",
        ...(sans.length > 0 ? [`subjectAltName = ${sans.join(",")}`] : [])
      ].join("\n") + "\n"
    )
  )
  yield* openssl(["req", "-new", ...EC, "-keyout", keyPath, "-out", csrPath, "-subj", subject(spec.commonName, spec.organizations), "-config", config])
  // Random 128-bit serial (crypto randomness, not a clock): no serial file to share between concurrent callers.
  const serial = `0x${randomBytes(16).toString("hex")}`
  yield* openssl([
    "x509", "-req", "-in", csrPath, "-CA", ca.certPath, "-CAkey", ca.keyPath, "-set_serial", serial,
    "-days", String(spec.days ?? 365), "-out", certPath, "-extfile", extPath
  ])
  yield* Effect.sync(() => {
    fs.rmSync(csrPath, { force: true })
    fs.rmSync(extPath, { force: true })
    fs.rmSync(config, { force: true })
    fs.chmodSync(keyPath, 0o600)
  })
  return { certPath, keyPath } satisfies CertKey
})

/** Creates a fresh PKI in `dir` (removing what was there). */
export const generatePki = Effect.fn("generatePki")(function*(dir: string) {
  yield* Effect.sync(() => {
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  })
  const config = yield* writeConfig(dir, "ca")
  const ca: CertKey = { certPath: path.join(dir, "ca.crt"), keyPath: path.join(dir, "ca.key") }
  yield* openssl([
    "req", "-x509", "-new", ...EC, "-keyout", ca.keyPath, "-out", ca.certPath, "-days", "3650",
    "-subj", "/CN=eci-virtual-node-local-ca", "-config", config, "-extensions", "ca"
  ])
  yield* Effect.sync(() => fs.rmSync(config, { force: true }))
  const issue = (spec: CertificateSpec) => issueCertificate(ca, dir, spec)
  const apiserver = yield* issue({
    name: "apiserver",
    commonName: "kube-apiserver",
    usage: "server",
    // 10.0.0.1 is the first IP of --service-cluster-ip-range (the `kubernetes` Service).
    ipAddresses: ["127.0.0.1", "::1", "10.0.0.1"],
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
  })
  const admin = yield* issue({ name: "admin", commonName: "admin", organizations: ["system:masters"], usage: "client" })
  // A dedicated user, not system:masters: the virtual kubelet authorizes it (SubjectAccessReview) like any caller.
  const kubeletClient = yield* issue({ name: "apiserver-kubelet-client", commonName: "kube-apiserver-kubelet-client", usage: "client" })
  // Bootstrap RBAC already binds these user names to their ClusterRoles.
  const scheduler = yield* issue({ name: "kube-scheduler", commonName: "system:kube-scheduler", usage: "client" })
  const controllerManager = yield* issue({ name: "kube-controller-manager", commonName: "system:kube-controller-manager", usage: "client" })
  // Aggregation (metrics-server): the apiserver proxies as this user; --requestheader-allowed-names pins it.
  const frontProxyClient = yield* issue({ name: "front-proxy-client", commonName: "front-proxy-client", usage: "client" })
  const metricsServer = yield* issue({
    name: "metrics-server",
    commonName: "metrics-server",
    usage: "server",
    ipAddresses: ["127.0.0.1"],
    // The aggregator dials the APIService's Service and checks this name, not the IP.
    dnsNames: ["localhost", "metrics-server.kube-system.svc"]
  })
  const serviceAccountKey = path.join(dir, "sa.key")
  const serviceAccountPub = path.join(dir, "sa.pub")
  yield* openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", serviceAccountKey])
  yield* openssl(["pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub])
  yield* Effect.sync(() => {
    fs.chmodSync(ca.keyPath, 0o600)
    fs.chmodSync(serviceAccountKey, 0o600)
  })
  return {
    dir, ca, apiserver, admin, kubeletClient, scheduler, controllerManager, frontProxyClient, metricsServer,
    serviceAccountKey, serviceAccountPub
  } satisfies Pki
})
