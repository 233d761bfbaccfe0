import { Data, Effect, Layer, Option } from "effect"
import { CliConfig, Command, Flag, GlobalFlag } from "effect/cli"
import { type AppConfig, parseConfig } from "./config/Config.ts"
import { type Setting, settings } from "./config/settings.ts"

/** Start-up refused: a configuration problem a person must fix. Printed as-is, one line per problem. */
export class StartupError extends Data.TaggedError("StartupError")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    return this.problems.join("\n")
  }
}

const describe = (setting: Setting) => {
  const env = setting.env.length > 0 ? ` [env ${setting.env.join(", ")}]` : ""
  const def = setting.default === "required" ? " (required)" : setting.default === undefined ? "" : ` (default ${setting.default})`
  return `${setting.description}${env}${def}`
}

/** One optional string flag per setting; parsing and validation happen in parseConfig. */
const flags = Object.fromEntries(
  settings.map((setting) => [setting.flag, Flag.String(setting.flag).pipe(Flag.optional, Flag.withDescription(describe(setting)))])
)

/**
 * `eci-virtual-node run [flags]`. `run` receives the validated configuration; the environment is
 * read here, at the edge, so the parser stays a pure function.
 */
export const makeCli = <E, R>(run: (config: AppConfig) => Effect.Effect<void, E, R>, env: Readonly<Record<string, string | undefined>>) => {
  const runCommand = Command.make("run", flags, (given) =>
    Effect.gen(function*() {
      const flagValues: Record<string, string> = {}
      for (const [name, value] of Object.entries(given)) {
        if (Option.isSome(value)) flagValues[name] = value.value
      }
      const parsed = parseConfig({ flags: flagValues, env })
      if (parsed._tag === "Invalid") return yield* Effect.fail(new StartupError({ problems: parsed.problems }))
      return yield* run(parsed.config)
    })).pipe(Command.withDescription("Register the virtual node and run its pods as ECI container groups"))
  return Command.make("eci-virtual-node").pipe(
    Command.withDescription("A virtual kubelet that runs Kubernetes pods on Alibaba Cloud ECI"),
    Command.withSubcommands([runCommand])
  )
}

/**
 * The CLI library's built-in global flags, minus `--log-level` and `--wizard`: our own `--log-level`
 * (with its LOG_LEVEL variable) is the one setting for it, and a daemon has no use for a wizard.
 */
export const CliConfigLive = Layer.succeed(
  CliConfig.CliConfig,
  CliConfig.make({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })
)
