import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import { DateTime, Option, Redacted, Result } from "effect"

/**
 * Server-side verification of Alibaba Cloud's V3 signature (ACS3-HMAC-SHA256), as the unmodified SDK
 * produces it (eci-reference §4.3–4.4, proved against real SDK traffic). Pure: the caller passes the
 * current time and the nonce memory, so it runs the same under a test clock.
 *
 * Checks, in the order a gateway can make them: the Authorization header parses and signs the headers
 * that must be signed (else `IncompleteSignature`); the access key exists (`InvalidAccessKeyId.NotFound`,
 * 404); `x-acs-date` is well-formed (`InvalidTimeStamp.Format`) and within 15 minutes
 * (`InvalidTimeStamp.Expired`); the payload hash and the signature match (`SignatureDoesNotMatch`);
 * the nonce is new (`SignatureNonceUsed`, checked last so that a forged request cannot burn nonces).
 */

export interface SignedRequest {
  readonly method: string
  /** The request target as received: path and raw query string. */
  readonly url: string
  /** Node's `IncomingMessage.headers`: lower-case names. */
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: Uint8Array
}

export interface AuthFailure {
  readonly code: string
  readonly message: string
  readonly httpStatus: number
}

/** Nonces seen within the validity window, each kept until the window after it has passed. */
export interface NonceMemory {
  /** True if the nonce was not seen yet (and remembers it until `expiresAt`). */
  readonly remember: (nonce: string, nowMillis: number, expiresAt: number) => boolean
}

export const makeNonceMemory = (): NonceMemory => {
  const seen = new Map<string, number>()
  let lastSweep = 0
  return {
    remember: (nonce, nowMillis, expiresAt) => {
      if (nowMillis - lastSweep > 60_000) {
        for (const [n, until] of seen) if (until <= nowMillis) seen.delete(n)
        lastSweep = nowMillis
      }
      const until = seen.get(nonce)
      if (until !== undefined && until > nowMillis) return false
      seen.set(nonce, expiresAt)
      return true
    }
  }
}

export const maxSkewMillis = 15 * 60 * 1000

/** Headers the SDK always signs; a signature without them does not bind the request. */
const requiredSignedHeaders = ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"]

const authPattern = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/

/** encodeURIComponent plus the characters it leaves alone but the SDK escapes (`! ' ( ) *`). */
const percentEncode = (v: string) =>
  encodeURIComponent(v).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex")

const headerValue = (headers: SignedRequest["headers"], name: string): string | undefined => {
  const v = headers[name]
  if (v === undefined) return undefined
  return typeof v === "string" ? v : [...v].sort().join(",")
}

/** `2026-11-26T07:05:51Z`, the SDK's form (UTC, seconds). */
const parseAcsDate = (s: string): number | undefined => {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s)) return undefined
  return Option.getOrUndefined(Option.map(DateTime.make(s), DateTime.toEpochMillis))
}

const incomplete = (message: string): AuthFailure => ({ code: "IncompleteSignature", message, httpStatus: 400 })

/** The canonical request and string-to-sign of §4.4, rebuilt from what arrived. */
export const stringToSign = (request: SignedRequest, signedHeaders: ReadonlyArray<string>): string => {
  const q = request.url.indexOf("?")
  const path = q < 0 ? request.url : request.url.slice(0, q)
  const params = [...new URLSearchParams(q < 0 ? "" : request.url.slice(q + 1)).entries()]
  // JS default sort order (UTF-16 code units), stable for repeated keys, as the SDK sorts.
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const canonicalQuery = params.map(([k, v]) => `${k}=${percentEncode(v)}`).join("&")
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(headerValue(request.headers, h) ?? "").trim()}\n`).join("")
  const canonicalRequest = [
    request.method.toUpperCase(),
    path === "" ? "/" : path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(";"),
    headerValue(request.headers, "x-acs-content-sha256") ?? ""
  ].join("\n")
  return `ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`
}

/** Verifies a request; the access key id on success. */
export const verifyAcs3 = (
  request: SignedRequest,
  secretFor: (accessKeyId: string) => Redacted.Redacted<string> | undefined,
  nowMillis: number,
  nonces: NonceMemory
): Result.Result<{ readonly accessKeyId: string }, AuthFailure> => {
  const authorization = headerValue(request.headers, "authorization")
  if (authorization === undefined || authorization === "") {
    return Result.fail(incomplete("The request has no Authorization header."))
  }
  const m = authPattern.exec(authorization)
  if (m === null) {
    return Result.fail(incomplete("The Authorization header is not of the form ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…."))
  }
  const [, accessKeyId, signed, signature] = m as unknown as [string, string, string, string]
  const signedHeaders = signed.split(";")
  const missing = requiredSignedHeaders.filter((h) => !signedHeaders.includes(h) || headerValue(request.headers, h) === undefined)
  if (missing.length > 0) return Result.fail(incomplete(`These headers must be sent and signed: ${missing.join(", ")}.`))
  if ([...signedHeaders].sort().join(";") !== signed) {
    return Result.fail(incomplete("SignedHeaders must be lower-case names in sorted order."))
  }

  const secret = secretFor(accessKeyId)
  if (secret === undefined) {
    return Result.fail({ code: "InvalidAccessKeyId.NotFound", message: "Specified access key is not found.", httpStatus: 404 })
  }

  const date = parseAcsDate(headerValue(request.headers, "x-acs-date")!)
  if (date === undefined) {
    return Result.fail({
      code: "InvalidTimeStamp.Format",
      message: "Specified time stamp or date value is not well formatted (expected yyyy-MM-ddTHH:mm:ssZ).",
      httpStatus: 400
    })
  }
  if (Math.abs(nowMillis - date) > maxSkewMillis) {
    return Result.fail({
      code: "InvalidTimeStamp.Expired",
      message: "Specified time stamp or date value is expired (more than 15 minutes from the server's time).",
      httpStatus: 400
    })
  }

  const mismatch: AuthFailure = {
    code: "SignatureDoesNotMatch",
    message: "Specified signature is not matched with our calculation.",
    httpStatus: 400
  }
  if (sha256Hex(request.body) !== headerValue(request.headers, "x-acs-content-sha256")) return Result.fail(mismatch)
  const expected = createHmac("sha256", Redacted.value(secret)).update(stringToSign(request, signedHeaders)).digest("hex")
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) return Result.fail(mismatch)

  if (!nonces.remember(headerValue(request.headers, "x-acs-signature-nonce")!, nowMillis, nowMillis + 2 * maxSkewMillis)) {
    return Result.fail({ code: "SignatureNonceUsed", message: "Specified signature nonce was used already.", httpStatus: 400 })
  }
  return Result.succeed({ accessKeyId })
}
