import { Effect, Layer } from "effect"
import { Credentials } from "../credentials/Credentials.ts"
import { Eci } from "./Eci.ts"
import { makePolicy, type EciPolicyOptions } from "./policy.ts"
import { makeSdkTransport, type SdkTransportOptions } from "./sdkTransport.ts"

/**
 * Everything the live ECI layer needs: where ECI is (region, endpoint, protocol), the SDK's HTTP
 * timeouts, and the client policy (quota overrides, retry bounds, per-attempt timeout).
 */
export interface EciLiveOptions extends SdkTransportOptions, Omit<EciPolicyOptions, "regionId"> {}

/**
 * The real ECI: the `@alicloud/eci20180808` SDK behind the shared client policy, with credentials read
 * from the Credentials service on every attempt.
 */
export const EciLive = (options: EciLiveOptions): Layer.Layer<Eci, never, Credentials> =>
  Layer.effect(
    Eci,
    Effect.gen(function*() {
      const credentials = yield* Credentials
      return yield* makePolicy(makeSdkTransport(options, credentials), options)
    })
  )
