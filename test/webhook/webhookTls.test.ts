import { X509Certificate } from "node:crypto"
import type { V1Secret } from "@kubernetes/client-node"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { notFound } from "../../src/kube/errors.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { generateServingTls } from "../../src/tls/certificates.ts"
import { ensureWebhookTls, tlsFromSecret, tlsSecret, webhookDnsNames, WebhookTlsError } from "../../src/webhook/webhookTls.ts"
import { captureLogs } from "./helpers.ts"

const service = { namespace: "kube-system", name: "eci-virtual-node", clusterDomain: "cluster.local" }
const start = Date.parse("2026-03-01T00:00:00Z")
const mint = (validity: Duration.Input = "365 days") =>
  generateServingTls({ commonName: "x", caCommonName: "ca", dnsNames: webhookDnsNames(service), ipAddresses: [], validity })

describe("the webhook certificate Secret", () => {
  it("covers the Service's names", () => {
    assert.deepStrictEqual(webhookDnsNames(service), [
      "eci-virtual-node",
      "eci-virtual-node.kube-system",
      "eci-virtual-node.kube-system.svc",
      "eci-virtual-node.kube-system.svc.cluster.local"
    ])
  })

  it.effect("round-trips through a kubernetes.io/tls Secret", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const tls = yield* mint()
      const secret = tlsSecret("kube-system", tls)
      assert.strictEqual(secret.type, "kubernetes.io/tls")
      assert.deepStrictEqual(Object.keys(secret.data ?? {}).sort(), ["ca.crt", "tls.crt", "tls.key"])
      const back = tlsFromSecret(secret, start)
      if (back instanceof WebhookTlsError) throw back
      assert.strictEqual(new X509Certificate(back.certPem).fingerprint256, new X509Certificate(tls.certPem).fingerprint256)
    }))

  it.effect("says what is wrong with a Secret it cannot use", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const tls = yield* mint("1 day")
      const other = yield* mint()
      const base = tlsSecret("kube-system", tls)
      const problem = (secret: V1Secret, now = start) => {
        const r = tlsFromSecret(secret, now)
        return r instanceof WebhookTlsError ? r.message : "usable"
      }
      assert.strictEqual(
        problem({ ...base, data: { "tls.crt": base.data!["tls.crt"]! } }),
        "Secret kube-system/eci-virtual-node-webhook-tls has no tls.key, ca.crt; expected a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt (delete it to have one generated)"
      )
      assert.strictEqual(
        problem({ ...base, data: { ...base.data, "ca.crt": Buffer.from(other.caPem).toString("base64") } }),
        "Secret kube-system/eci-virtual-node-webhook-tls: tls.crt is not signed by ca.crt; kube-apiserver would reject it"
      )
      assert.strictEqual(
        problem(base, start + 2 * 86_400_000),
        "Secret kube-system/eci-virtual-node-webhook-tls: tls.crt expired at 2026-03-02T00:00:00.000Z; renew it, or delete the Secret to have a new one generated"
      )
      assert.match(
        problem({ ...base, data: { ...base.data, "tls.crt": Buffer.from("junk").toString("base64") } }),
        /^Secret kube-system\/eci-virtual-node-webhook-tls: tls.crt or ca.crt is not a PEM certificate \(/
      )
    }))

  it.live("two replicas starting together: the one whose create meets 409 serves the winner's certificate", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      const winner = yield* mint()
      // The winner's Secret lands between our GET (which saw nothing) and our create.
      yield* admin.putSecret(tlsSecret("kube-system", winner))
      let gets = 0
      const racing = Layer.effect(Kube, Kube.useSync((kube) => ({
        ...kube,
        getSecret: (namespace: string, name: string) =>
          gets++ === 0 ? Effect.fail(notFound("secrets", name)) : kube.getSecret(namespace, name)
      })))
      const tls = yield* ensureWebhookTls(service).pipe(Effect.provide(racing))
      assert.strictEqual(tls.caPem.trim(), winner.caPem.trim())
      assert.strictEqual(tls.certPem.trim(), winner.certPem.trim())
      assert.strictEqual(gets, 2)
    }).pipe(Effect.provide(KubeInMemory()), Effect.provide(captureLogs().layer)))

  it.live("a Secret that is there but unusable stops the webhook with the reason", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putSecret({ metadata: { name: "eci-virtual-node-webhook-tls", namespace: "kube-system" }, type: "Opaque", stringData: { "tls.crt": "x" } })
      const error = yield* Effect.flip(ensureWebhookTls(service))
      assert.strictEqual(
        error.message,
        "Secret kube-system/eci-virtual-node-webhook-tls has no tls.key, ca.crt; expected a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt (delete it to have one generated)"
      )
    }).pipe(Effect.provide(KubeInMemory())))
})
