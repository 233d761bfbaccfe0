import CredentialModule, { type CredentialModel } from "@alicloud/credentials"
import { Effect, Equal, Layer, Redacted, Schedule, Stream } from "effect"
import { type AccessKey, Credentials, CredentialsUnavailable } from "./Credentials.ts"

// The package is CommonJS: from ESM its class arrives as the default export's `default`.
type ChainClient = { getCredential(): Promise<CredentialModel> }
const Credential = (CredentialModule as unknown as { default: new() => ChainClient }).default

/**
 * The Alibaba Cloud default credentials chain (environment, ECS RAM role, OIDC/RRSA, credentials
 * URI, profile file), as @alicloud/credentials resolves it. The library refreshes temporary (STS)
 * keys itself; we ask it on every call and publish a change whenever the key id or token differs.
 */
export const CredentialsFromChain = Layer.sync(Credentials, () => {
  const chain = new Credential()
  const current: Effect.Effect<AccessKey, CredentialsUnavailable> = Effect.tryPromise({
    try: () => chain.getCredential(),
    catch: (cause) =>
      new CredentialsUnavailable({
        provider: "chain",
        message: `the Alibaba Cloud default credentials chain found no usable credentials: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  }).pipe(
    Effect.map((c): AccessKey => {
      const key = { accessKeyId: c.accessKeyId ?? "", accessKeySecret: Redacted.make(c.accessKeySecret ?? "") }
      return c.securityToken ? { ...key, securityToken: Redacted.make(c.securityToken) } : key
    })
  )
  const fingerprint = (k: AccessKey | CredentialsUnavailable) =>
    k instanceof CredentialsUnavailable ? `error:${k.message}` : `${k.accessKeyId}:${k.securityToken ? "sts" : "ak"}`
  const changes = Stream.fromEffectSchedule(
    current.pipe(Effect.catch((e) => Effect.succeed<AccessKey | CredentialsUnavailable>(e))),
    Schedule.spaced("1 minute")
  ).pipe(Stream.changesWith((a, b) => Equal.equals(fingerprint(a), fingerprint(b))))
  return Credentials.of({ provider: "chain", current, changes })
})
