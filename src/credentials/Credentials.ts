import { Context, type Effect, Redacted, Schema, type Stream } from "effect"

/** An Alibaba Cloud access key, optionally with an STS token. The secret parts never print. */
export interface AccessKey {
  readonly accessKeyId: string
  readonly accessKeySecret: Redacted.Redacted<string>
  readonly securityToken?: Redacted.Redacted<string>
}

/** Credentials could not be obtained; `message` says where we looked and what to fix. */
export class CredentialsUnavailable extends Schema.TaggedError<CredentialsUnavailable>()("CredentialsUnavailable", {
  provider: Schema.String,
  message: Schema.String
}) {}

/**
 * Where the ECI client gets its access key. Read per call (`current`), so a rotation of the
 * `alibaba-addon-secret` Secret takes effect without a restart; `changes` lets the node's health check
 * react at once. Layers in this folder: fromSecret, fromEnv, fromChain (the @alicloud/credentials
 * default chain: ECS RAM role, OIDC/RRSA, credentials URI), chosen by the `credentials-provider` config.
 */
export class Credentials extends Context.Service<Credentials, {
  readonly provider: string
  readonly current: Effect.Effect<AccessKey, CredentialsUnavailable>
  readonly changes: Stream.Stream<AccessKey | CredentialsUnavailable>
}>()("eci-virtual-node/Credentials") {}

export const staticAccessKey = (accessKeyId: string, accessKeySecret: string): AccessKey => ({
  accessKeyId,
  accessKeySecret: Redacted.make(accessKeySecret)
})
