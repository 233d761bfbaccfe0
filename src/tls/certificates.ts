// platform-edge: key generation needs the platform's CSPRNG
/**
 * X.509 certificates in pure JS (WebCrypto + @peculiar/x509): the product's image has no openssl.
 * ECDSA P-256 / SHA-256 throughout: fast to generate and accepted by kube-apiserver and Node's TLS.
 * Keys and serial numbers come from WebCrypto's CSPRNG (a security requirement, which is why this
 * file opts out of the determinism check); validity times come from Effect's Clock, so tests pin them.
 */
// @peculiar/x509 resolves its crypto provider through tsyringe, which needs the Reflect metadata
// API at import time; this import must stay before the x509 one (ESM evaluates them in order).
import "reflect-metadata"
import type { webcrypto } from "node:crypto"
import * as x509 from "@peculiar/x509"
import { Clock, Duration, Effect, Schema } from "effect"

export class CertificateError extends Schema.TaggedError<CertificateError>()("CertificateError", {
  message: Schema.String
}) {}

/** PEM strings, as stored in a `kubernetes.io/tls` Secret. */
export interface KeyPairPem {
  readonly certPem: string
  readonly keyPem: string
}

export interface ServingCertificateSpec {
  readonly commonName: string
  readonly dnsNames: ReadonlyArray<string>
  readonly ipAddresses: ReadonlyArray<string>
  readonly validity: Duration.Input
  /** Also valid as a TLS client certificate (the kubelet's serving pair is not; leave false). */
  readonly clientAuth?: boolean
}

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const
/** Accept certificates from peers whose clocks run a little behind ours. */
const backdate = Duration.minutes(5)

const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new CertificateError({ message: `${what}: ${e instanceof Error ? e.message : String(e)}` })
  })

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: unique per CA, at most 20 octets). */
const randomSerial = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] ?? 0) & 0x7f
  return Buffer.from(bytes).toString("hex")
}

const generateKeys = () => crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])

const keyToPem = async (key: webcrypto.CryptoKey) =>
  x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY")

const validityWindow = (validity: Duration.Input) =>
  Effect.map(Clock.currentTimeMillis, (now) => ({
    notBefore: new Date(now - Duration.toMillis(backdate)),
    notAfter: new Date(now + Duration.toMillis(Duration.fromInputUnsafe(validity)))
  }))

/** A self-signed CA that may sign end-entity certificates only (path length 0). */
export const generateCa = (options: { readonly commonName: string; readonly validity: Duration.Input }) =>
  Effect.gen(function*() {
    const { notBefore, notAfter } = yield* validityWindow(options.validity)
    return yield* attempt("generating the CA", async (): Promise<KeyPairPem> => {
      const keys = await generateKeys()
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: `CN=${options.commonName}`,
        notBefore,
        notAfter,
        signingAlgorithm: algorithm,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
        ]
      })
      return { certPem: cert.toString("pem"), keyPem: await keyToPem(keys.privateKey) }
    })
  })

/** A serving certificate for `spec`'s names, signed by `ca`. */
export const issueServingCertificate = (ca: KeyPairPem, spec: ServingCertificateSpec) =>
  Effect.gen(function*() {
    const { notBefore, notAfter } = yield* validityWindow(spec.validity)
    return yield* attempt("issuing the serving certificate", async (): Promise<KeyPairPem> => {
      const caCert = new x509.X509Certificate(ca.certPem)
      const caKey = await crypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.keyPem), algorithm, false, ["sign"])
      const keys = await generateKeys()
      const names: Array<x509.JsonGeneralName> = [
        ...spec.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...spec.ipAddresses.map((value) => ({ type: "ip" as const, value }))
      ]
      const usages = [x509.ExtendedKeyUsage.serverAuth, ...(spec.clientAuth === true ? [x509.ExtendedKeyUsage.clientAuth] : [])]
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: `CN=${spec.commonName}`,
        issuer: caCert.subject,
        notBefore,
        notAfter,
        signingAlgorithm: algorithm,
        publicKey: keys.publicKey,
        signingKey: caKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(usages, false),
          // Go's verifier wants SANs; a CN alone is no longer a host name.
          new x509.SubjectAlternativeNameExtension(names, false),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(await caCert.publicKey.export(algorithm, ["verify"]))
        ]
      })
      return { certPem: cert.toString("pem"), keyPem: await keyToPem(keys.privateKey) }
    })
  })

export interface ServingTls extends KeyPairPem {
  readonly caPem: string
}

/** A fresh CA and one serving certificate from it; the CA key is discarded (nothing else is signed). */
export const generateServingTls = (spec: ServingCertificateSpec & { readonly caCommonName: string }) =>
  Effect.gen(function*() {
    const ca = yield* generateCa({ commonName: spec.caCommonName, validity: spec.validity })
    const serving = yield* issueServingCertificate(ca, spec)
    return { caPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem } satisfies ServingTls
  })
