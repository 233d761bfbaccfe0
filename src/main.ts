#!/usr/bin/env node
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import { Command } from "effect/cli"
import { runApp } from "./app.ts"
import { CliConfigLive, makeCli, StartupError } from "./cli.ts"
import { version } from "./version.ts"

// The process edge: argv and environment are read here and nowhere else.
const cli = makeCli(runApp, process.env)

Command.run(cli, { version }).pipe(
  Effect.tapCause((cause) =>
    Effect.sync(() => {
      if (Cause.hasInterruptsOnly(cause)) return
      const error = Cause.squash(cause)
      if (error instanceof StartupError) {
        for (const problem of error.problems) process.stderr.write(`eci-virtual-node: ${problem}\n`)
      } else {
        // Anything else is a bug or an unrecoverable condition: say what, with the full cause.
        process.stderr.write(`eci-virtual-node: stopped by an unexpected failure:\n${Cause.pretty(cause)}\n`)
      }
    })),
  Effect.provide([NodeServices.layer, CliConfigLive]),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
