import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { generateCa, generateServingTls, issueServingCertificate } from "../../src/tls/certificates.ts"

const start = Date.parse("2026-03-01T12:00:00Z")
const spec = {
  commonName: "eci-virtual-node.kube-system.svc",
  caCommonName: "eci-virtual-node-webhook-ca",
  dnsNames: ["eci-virtual-node.kube-system.svc", "eci-virtual-node.kube-system.svc.cluster.local"],
  ipAddresses: ["10.0.0.7", "127.0.0.1"],
  validity: "3650 days"
} as const

describe("certificates minted in pure JS", () => {
  it.effect("a serving certificate that verifies against its CA, with the SANs asked for", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const tls = yield* generateServingTls(spec)
      const ca = new X509Certificate(tls.caPem)
      const cert = new X509Certificate(tls.certPem)
      assert.isTrue(ca.ca)
      assert.isFalse(cert.ca)
      assert.isTrue(cert.checkIssued(ca))
      assert.isTrue(cert.verify(ca.publicKey))
      assert.isTrue(ca.verify(ca.publicKey))
      assert.strictEqual(
        cert.subjectAltName,
        "DNS:eci-virtual-node.kube-system.svc, DNS:eci-virtual-node.kube-system.svc.cluster.local, IP Address:10.0.0.7, IP Address:127.0.0.1"
      )
      assert.isTrue(cert.checkHost("eci-virtual-node.kube-system.svc") !== undefined)
      assert.strictEqual(cert.checkIP("10.0.0.7"), "10.0.0.7")
      assert.strictEqual(cert.subject, "CN=eci-virtual-node.kube-system.svc")
      assert.deepStrictEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]) // serverAuth only
      // the private key belongs to the certificate
      const pub = createPublicKey(createPrivateKey(tls.keyPem)).export({ type: "spki", format: "der" })
      assert.isTrue(pub.equals(cert.publicKey.export({ type: "spki", format: "der" })))
    }))

  it.effect("validity comes from the Clock: 5 minutes back-dated, valid for the asked duration", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const tls = yield* generateServingTls({ ...spec, validity: "30 days" })
      const cert = new X509Certificate(tls.certPem)
      assert.strictEqual(Date.parse(cert.validFrom), start - 5 * 60_000)
      assert.strictEqual(Date.parse(cert.validTo), start + 30 * 86_400_000)
      const ca = new X509Certificate(tls.caPem)
      assert.strictEqual(Date.parse(ca.validTo), start + 30 * 86_400_000)
    }))

  it.effect("a CA can issue more certificates later (client auth on request); serials differ", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const ca = yield* generateCa({ commonName: "test-ca", validity: "1 day" })
      const a = yield* issueServingCertificate(ca, { ...spec, clientAuth: true })
      const b = yield* issueServingCertificate(ca, spec)
      const caCert = new X509Certificate(ca.certPem)
      const certA = new X509Certificate(a.certPem)
      assert.isTrue(certA.verify(caCert.publicKey))
      assert.deepStrictEqual(certA.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])
      assert.notStrictEqual(certA.serialNumber, new X509Certificate(b.certPem).serialNumber)
      assert.strictEqual(certA.issuer, "CN=test-ca")
    }))

  it.effect("a CA key that is not a key fails with a typed error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(issueServingCertificate({ certPem: "nope", keyPem: "nope" }, spec))
      assert.strictEqual(error._tag, "CertificateError")
      assert.match(error.message, /^issuing the serving certificate: /)
    }))
})
