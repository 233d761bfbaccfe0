import { Effect, Layer, type Redacted, Stream } from "effect"
import { type AccessKey, Credentials, CredentialsUnavailable } from "./Credentials.ts"

/**
 * A fixed access key from configuration (ECI_ACCESS_KEY / ECI_SECRET_KEY or the ALIBABA_CLOUD_*
 * names). Rotating it needs a restart; prefer the Secret provider where that matters.
 */
export const CredentialsFromEnv = (options: {
  readonly accessKeyId: string | undefined
  readonly accessKeySecret: Redacted.Redacted<string> | undefined
}) =>
  Layer.sync(Credentials, () => {
    const { accessKeyId, accessKeySecret } = options
    if (accessKeyId === undefined || accessKeySecret === undefined) {
      const failure = new CredentialsUnavailable({
        provider: "env",
        message: "ECI_ACCESS_KEY and ECI_SECRET_KEY must both be set when credentials-provider is env"
      })
      return Credentials.of({ provider: "env", current: Effect.fail(failure), changes: Stream.make(failure) })
    }
    const key: AccessKey = { accessKeyId, accessKeySecret }
    return Credentials.of({ provider: "env", current: Effect.succeed(key), changes: Stream.make(key) })
  })
