#!/usr/bin/env node
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Logger, Redacted, Random } from "effect"
import { Command, Flag } from "effect/cli"
import { version } from "../../version.ts"
import { serveSimulator } from "./wireFace.ts"
import { accessKeyPair } from "./wireServer.ts"

/**
 * `npm run eci-simulator -- --port <p> --access-key-id <id> --access-key-secret <secret>
 *  [--profile fast|realistic] [--seed <n>] [--region <id>] [--host <addr>]`
 *
 * Prints exactly one line on stdout, `eci-simulator listening on http://127.0.0.1:<p>`, once it
 * accepts requests (anything else goes to stderr), and serves until SIGINT/SIGTERM. The admin API is
 * described in README.md ("Admin API").
 */
const command = Command.make(
  "eci-simulator",
  {
    port: Flag.Int("port").pipe(Flag.withDescription("TCP port; 0 picks a free one"), Flag.withDefault(0)),
    host: Flag.String("host").pipe(Flag.withDescription("Address to listen on"), Flag.withDefault("127.0.0.1")),
    accessKeyId: Flag.String("access-key-id").pipe(
      Flag.withDescription("Access key id the server accepts"),
      Flag.withFallbackConfig(Config.String("ALIBABA_CLOUD_ACCESS_KEY_ID"))
    ),
    accessKeySecret: Flag.Redacted("access-key-secret").pipe(
      Flag.withDescription("Its secret (or ALIBABA_CLOUD_ACCESS_KEY_SECRET, which keeps it off the process list)"),
      Flag.withFallbackConfig(Config.Redacted("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
    ),
    profile: Flag.Literals("profile", ["fast", "realistic"]).pipe(
      Flag.withDescription("fast: instances run within ~100 ms (tests); realistic: ECI's seconds (sandbox)"),
      Flag.withDefault("fast" as const)
    ),
    seed: Flag.String("seed").pipe(Flag.withDescription("Seed of every random choice: ids, faults, jitter"), Flag.withDefault("eci-simulator")),
    region: Flag.String("region").pipe(Flag.withDescription("The simulated region"), Flag.withDefault("cn-hangzhou"))
  },
  (flags) =>
    Effect.gen(function*() {
      const seed = /^\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed
      const wire = yield* serveSimulator({
        port: flags.port,
        host: flags.host,
        accessKeys: [accessKeyPair(flags.accessKeyId, Redacted.value(flags.accessKeySecret))],
        simulator: { profile: flags.profile, seed, regionId: flags.region }
      })
      yield* Console.log(`eci-simulator listening on ${wire.url}`)
      return yield* Effect.never
    }).pipe(
      Effect.scoped,
      // RequestIds of the answers the server gives itself (auth failures) repeat with the seed too.
      Random.withSeed(`${flags.seed}/wire`)
    )
).pipe(Command.withDescription("A fake Alibaba Cloud ECI for tests and the sandbox, speaking the real SDK's protocol"))

Command.run(command, { version }).pipe(
  Effect.provide([NodeServices.layer, Layer.succeed(Logger.LogToStderr, true)]),
  NodeRuntime.runMain
)
