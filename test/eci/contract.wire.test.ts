import { Effect, Layer, Redacted, Stream } from "effect"
import { Credentials } from "../../src/credentials/Credentials.ts"
import { EciLive } from "../../src/eci/eciLive.ts"
import { SimulatorAdmin } from "../../src/eci/simulator/admin.ts"
import { adminClient } from "../../src/eci/simulator/adminClient.ts"
import { serveSimulator } from "../../src/eci/simulator/wireFace.ts"
import { accessKeyPair } from "../../src/eci/simulator/wireServer.ts"
import { eciContract } from "./contract.ts"

// The same suite through the whole live path: EciLive (the real @alicloud/eci20180808 SDK, signed
// requests over HTTP) → the wire server → the simulator core; the admin operations over the admin
// HTTP API. One attempt per call (maxAttempts 1), as the suite requires. A fresh server per case,
// on an ephemeral loopback port, in real time.
const accessKeyId = "LTAI-contract"
const accessKeySecret = "contract-secret"

const wireLayer = Layer.unwrap(
  Effect.gen(function*() {
    const wire = yield* serveSimulator({
      accessKeys: [accessKeyPair(accessKeyId, accessKeySecret)],
      simulator: { profile: "fast", seed: "contract", regionId: "cn-hangzhou" }
    }).pipe(Effect.orDie)
    const credentials = Layer.succeed(
      Credentials,
      Credentials.of({
        provider: "test",
        current: Effect.succeed({ accessKeyId, accessKeySecret: Redacted.make(accessKeySecret) }),
        changes: Stream.empty
      })
    )
    return Layer.mergeAll(
      EciLive({
        regionId: "cn-hangzhou",
        endpoint: wire.endpoint,
        protocol: "HTTP",
        connectTimeout: "5 seconds",
        readTimeout: "5 seconds",
        retry: { maxAttempts: 1 }
      }).pipe(Layer.provide(credentials)),
      Layer.succeed(SimulatorAdmin, SimulatorAdmin.of(adminClient(wire.url)))
    )
  })
)

eciContract({
  name: "live SDK layer → wire simulator",
  layer: wireLayer,
  clock: "live",
  regionId: "cn-hangzhou",
  runId: "wire"
})
