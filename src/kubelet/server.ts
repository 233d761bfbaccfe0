/**
 * The kubelet API's HTTPS server (kubelet-reference §1.4–1.5) on the kubelet port.
 *
 * TLS:
 * - serving certificate: `--tls-cert-file`/`--tls-key-file`, or a self-signed one made at start (a
 *   throw-away CA and a certificate for the node name and pod IP). Trade-off: self-signed works
 *   only while the API server does not verify kubelets (`--kubelet-certificate-authority` unset,
 *   the default); clusters that verify should issue a `kubernetes.io/kubelet-serving` certificate
 *   through a CSR (CN `system:node:<node>`, O `system:nodes`, SANs the node's addresses) approved by
 *   their approver, and mount it from a Secret — the files are read at start.
 * - client certificates are requested, not required: the TLS layer verifies them against
 *   `--client-ca-file` (default: the in-cluster CA, which signs kube-apiserver's kubelet-client
 *   certificate under kubeadm) and auth.ts decides; a request without a valid certificate may still
 *   carry a bearer token. HTTP/1.1 only (`node:https`): upgrades need it (notes §1).
 */
import * as fs from "node:fs"
import * as https from "node:https"
import { isIP } from "node:net"
import { NodeHttpServer } from "@effect/platform-node"
import { Data, Duration, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import { AppConfigService } from "../config/Config.ts"
import type { Eci } from "../eci/Eci.ts"
import type { Kube } from "../kube/Kube.ts"
import { generateServingTls } from "../tls/certificates.ts"
import { KubeletAuthLive, type KubeletAuthOptions } from "./auth.ts"
import { type EciExecDialer, EciExecDialerLive } from "./eciExec.ts"
import { kubeletApp } from "./routes.ts"
import { KubeletSettings, kubeletSettings, type KubeletSettingsShape } from "./settings.ts"
import { KubeletStatsLive } from "./stats.ts"
import { selectWebSocketSubprotocol } from "./websocket.ts"

export const IN_CLUSTER_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

export class KubeletTlsError extends Data.TaggedError("KubeletTlsError")<{ readonly message: string }> {}

export interface KubeletTlsOptions {
  readonly certFile?: string | undefined
  readonly keyFile?: string | undefined
  /** undefined: the in-cluster CA when present. */
  readonly clientCaFile?: string | undefined
  /** Names and addresses of a generated certificate. */
  readonly nodeName: string
  readonly addresses: ReadonlyArray<string>
}

export interface KubeletTls {
  readonly certPem: string
  readonly keyPem: string
  readonly clientCaPem: string | undefined
}

const readFile = (path: string, what: string) =>
  Effect.try({
    try: () => fs.readFileSync(path, "utf8"),
    catch: (e) => new KubeletTlsError({ message: `cannot read the ${what} ${path}: ${e instanceof Error ? e.message : String(e)}` })
  })

export const loadKubeletTls = (options: KubeletTlsOptions): Effect.Effect<KubeletTls, KubeletTlsError> =>
  Effect.gen(function*() {
    if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
      return yield* new KubeletTlsError({ message: "--tls-cert-file and --tls-key-file must be given together" })
    }
    let serving: { readonly certPem: string; readonly keyPem: string }
    if (options.certFile !== undefined && options.keyFile !== undefined) {
      serving = { certPem: yield* readFile(options.certFile, "serving certificate"), keyPem: yield* readFile(options.keyFile, "serving key") }
    } else {
      serving = yield* generateServingTls({
        caCommonName: `${options.nodeName}-ca`,
        commonName: options.nodeName,
        dnsNames: [options.nodeName],
        ipAddresses: options.addresses.filter((a) => isIP(a) !== 0),
        validity: Duration.days(365)
      }).pipe(Effect.mapError((e) => new KubeletTlsError({ message: e.message })))
      yield* Effect.logWarning(
        "the kubelet API uses a self-signed serving certificate: API servers that verify kubelets (--kubelet-certificate-authority) will refuse it; give --tls-cert-file/--tls-key-file"
      )
    }
    const caPath = options.clientCaFile ?? (fs.existsSync(IN_CLUSTER_CA) ? IN_CLUSTER_CA : undefined)
    const clientCaPem = caPath === undefined ? undefined : yield* readFile(caPath, "client CA bundle")
    if (clientCaPem === undefined) {
      yield* Effect.logWarning("no client CA for the kubelet API: client certificates are not accepted, only bearer tokens (TokenReview)")
    }
    return { ...serving, clientCaPem }
  })

export interface KubeletServerOptions {
  readonly port: number
  /** Listen address; default all interfaces. */
  readonly host?: string
  readonly tls: KubeletTls
  readonly settings: KubeletSettingsShape
  readonly auth?: Omit<KubeletAuthOptions, "nodeName">
  /** How long one stats snapshot is served (default 10 s). */
  readonly statsCacheTtl?: Duration.Input
}

/**
 * The server with everything it serves. Requires Kube and Eci; an EciExecDialer is provided (the
 * live one) unless `kubeletServerLayerWith` is given another. Exposes the HttpServer (its address).
 */
export const kubeletServerLayerWith = (options: KubeletServerOptions): Layer.Layer<HttpServer.HttpServer, ServeError, Kube | Eci | EciExecDialer> =>
  HttpServer.serve(kubeletApp).pipe(
    Layer.provide(KubeletAuthLive({ nodeName: options.settings.nodeName, ...options.auth })),
    Layer.provide(KubeletStatsLive({ nodeName: options.settings.nodeName, ...(options.statsCacheTtl === undefined ? {} : { cacheTtl: options.statsCacheTtl }) })),
    Layer.provide(Layer.succeed(KubeletSettings, options.settings)),
    Layer.provideMerge(NodeHttpServer.layer(
      () =>
        https.createServer({
          key: options.tls.keyPem,
          cert: options.tls.certPem,
          ...(options.tls.clientCaPem === undefined ? {} : { ca: options.tls.clientCaPem }),
          requestCert: true,
          rejectUnauthorized: false,
          minVersion: "TLSv1.2"
        }),
      {
        port: options.port,
        ...(options.host === undefined ? {} : { host: options.host }),
        gracefulShutdownTimeout: Duration.seconds(5),
        websocket: { handleProtocols: (offered: Set<string>) => selectWebSocketSubprotocol(offered), perMessageDeflate: false }
      }
    ))
  )

export const kubeletServerLayer = (options: KubeletServerOptions): Layer.Layer<HttpServer.HttpServer, ServeError, Kube | Eci> =>
  kubeletServerLayerWith(options).pipe(Layer.provide(EciExecDialerLive))

/**
 * The product wiring: port, certificates and node name from AppConfig. Requires Kube, Eci and
 * AppConfigService; fails to build when the certificate files cannot be read.
 */
export const KubeletServerLive: Layer.Layer<HttpServer.HttpServer, ServeError | KubeletTlsError, Kube | Eci | AppConfigService> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* AppConfigService
    const tls = yield* loadKubeletTls({
      certFile: config.tlsCertFile,
      keyFile: config.tlsKeyFile,
      clientCaFile: config.clientCaFile,
      nodeName: config.nodeName,
      addresses: [config.podIp]
    })
    return kubeletServerLayer({ port: config.kubeletPort, tls, settings: kubeletSettings(config.nodeName, { clusterId: config.clusterId }) })
  })
)

