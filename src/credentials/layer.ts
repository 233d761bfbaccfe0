import type { AppConfig } from "../config/Config.ts"
import { CredentialsFromChain } from "./fromChain.ts"
import { CredentialsFromEnv } from "./fromEnv.ts"
import { CredentialsFromSecret } from "./fromSecret.ts"

/** The one place the `credentials-provider` setting picks a provider. */
export const credentialsLayer = (config: AppConfig) => {
  switch (config.credentialsProvider) {
    case "secret":
      return CredentialsFromSecret(config.credentialsSecret)
    case "env":
      return CredentialsFromEnv({ accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret })
    case "chain":
      return CredentialsFromChain
  }
}
