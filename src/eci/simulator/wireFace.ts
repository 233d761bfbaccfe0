import { Effect, type Scope } from "effect"
import { adminHandler } from "./adminApi.ts"
import type { SimulatorConfig } from "./config.ts"
import { execUpgradeHandler } from "./execWebSocket.ts"
import { type EciSimulatorShape, makeSimulator } from "./simulator.ts"
import {
  type AccessKeyPair,
  type AccessKeyStore,
  makeAccessKeyStore,
  startWireServer,
  type WireServer,
  type WireServerError
} from "./wireServer.ts"

/**
 * The wire face assembled: a simulator core behind the HTTP server, with its admin API and its exec
 * WebSockets. Used by `npm run eci-simulator` (main.ts), the wire run of the contract suite and the
 * end-to-end tests.
 */

export interface SimulatorWireOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** Default 127.0.0.1. */
  readonly host?: string
  /** The key pairs accepted at start; the admin API replaces them at run time. */
  readonly accessKeys: ReadonlyArray<AccessKeyPair>
  /** The core's configuration; `execBaseUrl` defaults to this server. */
  readonly simulator?: Partial<SimulatorConfig>
}

export interface SimulatorWire extends WireServer {
  readonly simulator: EciSimulatorShape
  readonly accessKeys: AccessKeyStore
}

/** Serves a fresh simulator until the scope closes. */
export const serveSimulator = (options: SimulatorWireOptions): Effect.Effect<SimulatorWire, WireServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const accessKeys = makeAccessKeyStore(options.accessKeys)
    let simulator: EciSimulatorShape | undefined
    const server = yield* startWireServer(
      { accessKeys, ...(options.port === undefined ? {} : { port: options.port }), ...(options.host === undefined ? {} : { host: options.host }), ...(options.simulator?.regionId === undefined ? {} : { regionId: options.simulator.regionId }) },
      (server) =>
        Effect.gen(function*() {
          const sim = yield* makeSimulator({ execBaseUrl: `ws://${server.endpoint}`, ...options.simulator })
          simulator = sim
          return {
            api: { call: sim.handle },
            admin: adminHandler(sim.admin, accessKeys),
            upgrade: execUpgradeHandler((token) =>
              sim.openExec(token).pipe(Effect.catchTag("SimulatorAdminError", () => Effect.succeed(undefined)))
            )
          }
        })
    )
    return { ...server, simulator: simulator!, accessKeys }
  })
