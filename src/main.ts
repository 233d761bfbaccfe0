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
      const error = Cause.squash(cause)
      if (error instanceof StartupError) {
        for (const problem of error.problems) process.stderr.write(`eci-virtual-node: ${problem}\n`)
      }
    })),
  Effect.provide([NodeServices.layer, CliConfigLive]),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
