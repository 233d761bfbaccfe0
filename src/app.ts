import { Effect } from "effect"
import type { AppConfig } from "./config/Config.ts"

/** Placeholder until the layers are composed (being built in this session). */
export const runApp = (config: AppConfig) => Effect.logInfo("starting", config.nodeName)
