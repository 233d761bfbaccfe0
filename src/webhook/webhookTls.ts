/**
 * The webhook's serving certificate. kube-apiserver calls the webhook over TLS and checks the
 * certificate against the `caBundle` of the MutatingWebhookConfiguration, so every replica must
 * serve a certificate from the same CA: the first replica to start generates one and stores it in
 * a Secret with `create`; a replica that loses the race (409) reads the winner's. A Secret made by
 * someone else (cert-manager, an operator's own PKI) is used as it is.
 */
import { X509Certificate } from "node:crypto"
import type { V1Secret } from "@kubernetes/client-node"
import { Clock, Effect, Schedule, Schema } from "effect"
import { Kube, type KubeError } from "../kube/Kube.ts"
import { generateServingTls, type ServingTls } from "../tls/certificates.ts"

export const WEBHOOK_TLS_SECRET = "eci-virtual-node-webhook-tls"

export class WebhookTlsError extends Schema.TaggedError<WebhookTlsError>()("WebhookTlsError", {
  message: Schema.String
}) {}

export interface WebhookService {
  readonly namespace: string
  readonly name: string
  /** `cluster.local` unless the cluster says otherwise. */
  readonly clusterDomain: string
}

/** Every name kube-apiserver or a person may use for the Service. */
export const webhookDnsNames = (s: WebhookService): ReadonlyArray<string> => [
  s.name,
  `${s.name}.${s.namespace}`,
  `${s.name}.${s.namespace}.svc`,
  `${s.name}.${s.namespace}.svc.${s.clusterDomain}`
]

const decode = (v: string | undefined) => (v === undefined ? "" : Buffer.from(v, "base64").toString("utf8"))
const encode = (v: string) => Buffer.from(v).toString("base64")

/** Reads tls.crt / tls.key / ca.crt; says which key is missing or what is wrong with the certificate. */
export const tlsFromSecret = (secret: V1Secret, nowMillis: number): ServingTls | WebhookTlsError => {
  const where = `Secret ${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`
  const data = secret.data ?? {}
  const [certPem, keyPem, caPem] = ["tls.crt", "tls.key", "ca.crt"].map((k) => decode(data[k]).trim())
  const missing = ["tls.crt", "tls.key", "ca.crt"].filter((_, i) => [certPem, keyPem, caPem][i] === "")
  if (missing.length > 0 || certPem === undefined || keyPem === undefined || caPem === undefined) {
    return new WebhookTlsError({
      message: `${where} has no ${missing.join(", ")}; expected a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt (delete it to have one generated)`
    })
  }
  try {
    const cert = new X509Certificate(certPem)
    const ca = new X509Certificate(caPem)
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      return new WebhookTlsError({ message: `${where}: tls.crt is not signed by ca.crt; kube-apiserver would reject it` })
    }
    if (Date.parse(cert.validTo) <= nowMillis) {
      return new WebhookTlsError({
        message: `${where}: tls.crt expired at ${new Date(Date.parse(cert.validTo)).toISOString()}; renew it, or delete the Secret to have a new one generated`
      })
    }
  } catch (e) {
    return new WebhookTlsError({ message: `${where}: tls.crt or ca.crt is not a PEM certificate (${e instanceof Error ? e.message : String(e)})` })
  }
  return { certPem: `${certPem}\n`, keyPem: `${keyPem}\n`, caPem: `${caPem}\n` }
}

export const tlsSecret = (namespace: string, tls: ServingTls): V1Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: {
    name: WEBHOOK_TLS_SECRET,
    namespace,
    labels: { "app.kubernetes.io/name": "eci-virtual-node", "app.kubernetes.io/component": "webhook" }
  },
  type: "kubernetes.io/tls",
  data: { "tls.crt": encode(tls.certPem), "tls.key": encode(tls.keyPem), "ca.crt": encode(tls.caPem) }
})

/** Transient API failures at start-up (not 404/409, which are answers). */
const startupRetry = Schedule.exponential("500 millis").pipe(
  Schedule.upTo({ times: 5 }),
  Schedule.setInputType<KubeError>(),
  Schedule.while(({ input }) => input._tag === "KubeApiError")
)

/**
 * The serving certificate: the Secret's, or a new one stored in the Secret. `extraIps` go into the
 * SANs too (the pod IP, for a webhook configured with a URL rather than a Service).
 */
export const ensureWebhookTls = (service: WebhookService, extraIps: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const read = (secret: V1Secret) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const tls = tlsFromSecret(secret, now)
        return tls instanceof WebhookTlsError ? Effect.fail(tls) : Effect.succeed(tls)
      })
    const existing = yield* kube.getSecret(service.namespace, WEBHOOK_TLS_SECRET).pipe(
      Effect.map((s): V1Secret | undefined => s),
      Effect.catchTag("KubeNotFound", () => Effect.succeed(undefined)),
      Effect.retry(startupRetry)
    )
    if (existing !== undefined) return yield* read(existing)

    const generated = yield* generateServingTls({
      commonName: `${service.name}.${service.namespace}.svc`,
      caCommonName: `${service.name}-webhook-ca`,
      dnsNames: webhookDnsNames(service),
      ipAddresses: extraIps,
      // No rotation yet: long enough to outlive any deployment; delete the Secret to renew.
      validity: "3650 days"
    }).pipe(Effect.mapError((e) => new WebhookTlsError({ message: e.message })))
    return yield* kube.createSecret(tlsSecret(service.namespace, generated)).pipe(
      // A create that timed out may have landed: the retry then meets 409 and reads it back.
      Effect.retry(startupRetry),
      Effect.as(generated),
      Effect.tap(() => Effect.logInfo(`generated the webhook certificate and stored it in Secret ${service.namespace}/${WEBHOOK_TLS_SECRET}`)),
      Effect.catchTag("KubeConflict", () =>
        // Another replica created it first: serve the same certificate.
        kube.getSecret(service.namespace, WEBHOOK_TLS_SECRET).pipe(Effect.retry(startupRetry), Effect.flatMap(read)))
    )
  }).pipe(
    Effect.mapError((e) =>
      e._tag === "WebhookTlsError" ? e : new WebhookTlsError({ message: `webhook certificate Secret ${service.namespace}/${WEBHOOK_TLS_SECRET}: ${e.message}` })
    )
  )
