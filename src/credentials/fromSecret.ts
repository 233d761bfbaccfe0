import type { V1Secret } from "@kubernetes/client-node"
import { Duration, Effect, Layer, Option, Redacted, Schedule, Stream, SubscriptionRef } from "effect"
import { Kube } from "../kube/Kube.ts"
import { type AccessKey, Credentials, CredentialsUnavailable } from "./Credentials.ts"

export const accessKeyIdKey = "access-key-id"
export const accessKeySecretKey = "access-key-secret"
/** Optional: an STS token beside a temporary key pair. */
export const securityTokenKey = "security-token"

const createCommand = (namespace: string, name: string) =>
  `kubectl -n ${namespace} create secret generic ${name} --from-literal=${accessKeyIdKey}=<id> --from-literal=${accessKeySecretKey}=<secret>`

const decode = (value: string | undefined) => (value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8"))

/**
 * Reads an access key out of the Secret (pure, so the error texts are table-tested). Each failure
 * names the Secret, its namespace and the missing key, and says how to fix it; no value is printed.
 */
export const accessKeyFromSecret = (
  namespace: string,
  name: string,
  secret: V1Secret | undefined
): AccessKey | CredentialsUnavailable => {
  if (secret === undefined) {
    return new CredentialsUnavailable({
      provider: "secret",
      message: `Secret ${namespace}/${name} not found; create it with: ${createCommand(namespace, name)}`
    })
  }
  const data = secret.data ?? {}
  const missing = [accessKeyIdKey, accessKeySecretKey].filter((key) => (decode(data[key]) ?? "").trim() === "")
  if (missing.length > 0) {
    return new CredentialsUnavailable({
      provider: "secret",
      message: `Secret ${namespace}/${name} has no ${missing.map((k) => `key "${k}"`).join(" and no ")} (or it is empty); recreate it with: ${createCommand(namespace, name)}`
    })
  }
  const token = decode(data[securityTokenKey])?.trim()
  const key = {
    accessKeyId: (decode(data[accessKeyIdKey]) ?? "").trim(),
    accessKeySecret: Redacted.make((decode(data[accessKeySecretKey]) ?? "").trim())
  }
  return token === undefined || token === "" ? key : { ...key, securityToken: Redacted.make(token) }
}

/** Re-open a failed watch: 1 s doubling, at most 30 s apart, forever. */
const watchRetry = Schedule.exponential("1 second").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30))))
)

/**
 * Credentials from a Secret, watched: every change to the Secret replaces the key in use, so a
 * rotation takes effect on the next ECI call without a restart.
 */
export const CredentialsFromSecret = (options: { readonly namespace: string; readonly name: string }) =>
  Layer.effect(
    Credentials,
    Effect.gen(function*() {
      const kube = yield* Kube
      const latest = yield* SubscriptionRef.make<AccessKey | CredentialsUnavailable | undefined>(undefined)
      yield* kube.watchSecret(options.namespace, options.name).pipe(
        Stream.map((secret) => accessKeyFromSecret(options.namespace, options.name, secret)),
        Stream.runForEach((value) => SubscriptionRef.set(latest, value)),
        Effect.tapError((e) => Effect.logWarning("watch of the credentials Secret failed; retrying", e.message)),
        Effect.retry(watchRetry),
        Effect.forkScoped
      )
      const settled = SubscriptionRef.changes(latest).pipe(
        Stream.filter((x): x is AccessKey | CredentialsUnavailable => x !== undefined)
      )
      const current = Stream.runHead(settled).pipe(
        Effect.flatMap((first) =>
          Option.match(first, {
            onNone: () => Effect.fail(new CredentialsUnavailable({ provider: "secret", message: "credentials watch ended" })),
            onSome: (value) => (value instanceof CredentialsUnavailable ? Effect.fail(value) : Effect.succeed(value))
          })
        )
      )
      return Credentials.of({ provider: "secret", current, changes: settled })
    })
  )
