/**
 * A kubelet API server in-process for tests: HTTPS on a loopback port with a client CA, the
 * in-memory Kubernetes API, and the ECI simulator's wire face (whose exec WebSockets the bridge
 * dials) answered in-process through `EciInMemoryFromSimulator`. Clients: raw TLS connections
 * (SPDY), `ws` (WebSocket) and `https` (plain requests), each with a chosen client certificate.
 */
import "reflect-metadata"
import * as https from "node:https"
import * as tls from "node:tls"
import * as x509 from "@peculiar/x509"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { Context, Duration, Effect, Layer, Redacted, type Scope } from "effect"
import { HttpServer } from "effect/http"
import { Eci } from "../../src/eci/Eci.ts"
import { EciInMemoryFromSimulator } from "../../src/eci/simulator/inMemory.ts"
import { EciSimulator } from "../../src/eci/simulator/simulator.ts"
import { serveSimulator } from "../../src/eci/simulator/wireFace.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { kubeletServerLayer } from "../../src/kubelet/server.ts"
import { kubeletSettings } from "../../src/kubelet/settings.ts"
import { generateCa, generateServingTls, type KeyPairPem } from "../../src/tls/certificates.ts"
import { eventually } from "../webhook/helpers.ts"

export const NODE = "vk-test"

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const

/** A client certificate (CN, O) signed by `ca`, as kube-apiserver's kubelet-client certificate is. */
export const clientCertificate = (ca: KeyPairPem, commonName: string, organizations: ReadonlyArray<string>) =>
  Effect.promise(async (): Promise<KeyPairPem> => {
    const caCert = new x509.X509Certificate(ca.certPem)
    const caKey = await crypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.keyPem), algorithm, false, ["sign"])
    const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: "01" + Buffer.from(commonName).toString("hex").slice(0, 30),
      subject: [`CN=${commonName}`, ...organizations.map((o) => `O=${o}`)].join(", "),
      issuer: caCert.subject,
      notBefore: new Date(Date.parse("2020-01-01T00:00:00Z")),
      notAfter: new Date(Date.parse("2100-01-01T00:00:00Z")),
      signingAlgorithm: algorithm,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)
      ]
    })
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey)
    return { certPem: cert.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") }
  })

export interface Harness {
  readonly port: number
  readonly apiserver: KeyPairPem
  readonly alice: KeyPairPem
  readonly stranger: KeyPairPem
  readonly context: Context.Context<Kube | KubeInMemoryAdmin | Eci | EciSimulator>
}

export const startHarness = (settings: Partial<Parameters<typeof kubeletSettings>[1]> = {}): Effect.Effect<Harness, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const clientCa = yield* generateCa({ commonName: "cluster-ca", validity: Duration.days(1) })
    const otherCa = yield* generateCa({ commonName: "other-ca", validity: Duration.days(1) })
    const serving = yield* generateServingTls({ caCommonName: "kubelet-ca", commonName: NODE, dnsNames: [NODE], ipAddresses: ["127.0.0.1"], validity: Duration.days(1) })
    const apiserver = yield* clientCertificate(clientCa, "kube-apiserver-kubelet-client", ["system:masters"])
    const alice = yield* clientCertificate(clientCa, "alice", ["dev"])
    const stranger = yield* clientCertificate(otherCa, "admin", ["system:masters"])

    const wire = yield* serveSimulator({
      accessKeys: [{ accessKeyId: "ak", accessKeySecret: Redacted.make("sk") }],
      simulator: { profile: "fast" }
    })
    const deps = Layer.mergeAll(KubeInMemory(), EciInMemoryFromSimulator.pipe(Layer.provideMerge(Layer.succeed(EciSimulator, wire.simulator))))
    const context = yield* Layer.build(deps)
    const server = yield* Layer.build(
      kubeletServerLayer({
        port: 0,
        host: "127.0.0.1",
        tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: clientCa.certPem },
        settings: kubeletSettings(NODE, { clusterId: "c-test", ...settings })
      }).pipe(Layer.provide(Layer.succeedContext(context)))
    )
    const address = Context.get(server, HttpServer.HttpServer).address
    if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("expected a TCP address"))
    return { port: address.port, apiserver, alice, stranger, context }
  })

/** A pod on the node whose container group runs `command` in the simulator, once it is Running. */
export const runningPod = (h: Harness, name: string, command?: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const kube = yield* Kube
    const g = yield* eci.call("CreateContainerGroup", {
      ContainerGroupName: name,
      VSwitchId: "vsw-test1",
      SecurityGroupId: "sg-test1",
      RestartPolicy: "Never",
      Container: [{ Name: "app", Image: "busybox:1.36", ...(command === undefined ? {} : { Command: [...command] }) }],
      Tag: [{ Key: "eci-virtual-node.io/cluster-id", Value: "c-test" }, { Key: "eci-virtual-node.io/node-name", Value: NODE }, {
        Key: "eci-virtual-node.io/namespace",
        Value: "default"
      }, { Key: "eci-virtual-node.io/pod-name", Value: name }, { Key: "eci-virtual-node.io/pod-uid", Value: `uid-${name}` }]
    })
    const id = g.ContainerGroupId!
    yield* eventually(
      eci.call("DescribeContainerGroups", { ContainerGroupIds: JSON.stringify([id]) }).pipe(Effect.map((r) => r.ContainerGroups?.[0]?.Status)),
      (s) => s === "Running" || s === "Succeeded" || s === "Failed"
    )
    yield* kube.createPod({
      metadata: { name, namespace: "default", annotations: { "k8s.aliyun.com/eci-instance-id": id } },
      spec: { nodeName: NODE, containers: [{ name: "app", image: "busybox:1.36" }] }
    })
    yield* kube.patchPodStatus("default", name, {
      status: {
        phase: "Running",
        startTime: new Date(0).toISOString(),
        containerStatuses: [{ name: "app", image: "busybox:1.36", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: new Date(0).toISOString() } } }]
      }
    })
    return id
  }).pipe(Effect.provide(h.context))

export interface HttpAnswer {
  readonly status: number
  readonly headers: Record<string, string | ReadonlyArray<string> | undefined>
  readonly body: string
}

/** One HTTPS request to the kubelet port with an optional client certificate (or token). */
export const get = (h: Harness, path: string, options: { readonly as?: KeyPairPem; readonly token?: string; readonly method?: string } = {}) =>
  Effect.callback<HttpAnswer, Error>((resume) => {
    const req = https.request({
      host: "127.0.0.1",
      port: h.port,
      path,
      method: options.method ?? "GET",
      rejectUnauthorized: false,
      ...(options.as === undefined ? {} : { cert: options.as.certPem, key: options.as.keyPem }),
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })))
      res.on("error", (e) => resume(Effect.fail(e)))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
    return Effect.sync(() => req.destroy())
  })

/** A TLS connection to the kubelet port that has sent an upgrade request. */
export const upgradeConnection = (h: Harness, path: string, headers: Record<string, string | ReadonlyArray<string>>, as: KeyPairPem) =>
  Effect.acquireRelease(
    Effect.callback<tls.TLSSocket, Error>((resume) => {
      const conn = tls.connect({ host: "127.0.0.1", port: h.port, cert: as.certPem, key: as.keyPem, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] }, () => {
        const lines = [`POST ${path} HTTP/1.1`, `Host: 127.0.0.1:${h.port}`, "Content-Length: 0"]
        for (const [k, v] of Object.entries(headers)) for (const value of typeof v === "string" ? [v] : v) lines.push(`${k}: ${value}`)
        conn.write(lines.join("\r\n") + "\r\n\r\n")
        resume(Effect.succeed(conn))
      })
      conn.once("error", (e) => resume(Effect.fail(e)))
    }),
    (conn) => Effect.sync(() => conn.destroy())
  )

/** A WebSocket to the kubelet port (`ws`), open or failed. */
export const webSocket = (h: Harness, path: string, protocols: ReadonlyArray<string>, as: KeyPairPem) =>
  Effect.acquireRelease(
    Effect.callback<WebSocket, Error>((resume) => {
      const ws = new WebSocket(`wss://127.0.0.1:${h.port}${path}`, [...protocols], { cert: as.certPem, key: as.keyPem, rejectUnauthorized: false })
      ws.once("open", () => resume(Effect.succeed(ws)))
      ws.once("error", (e) => resume(Effect.fail(e)))
      ws.once("unexpected-response", (_req, res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resume(Effect.fail(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString("utf8")}`))))
      })
    }),
    (ws) => Effect.sync(() => ws.terminate())
  )
