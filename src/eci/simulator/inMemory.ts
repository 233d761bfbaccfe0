/**
 * The in-memory face: the `Eci` service answered by the simulator core in-process, plus its admin
 * operations as the `SimulatorAdmin` service. Each call is one attempt (no retries): wrap it in the
 * client policy to get the behaviour of the live layer.
 */
import { Effect, Layer } from "effect"
import { Eci } from "../Eci.ts"
import { SimulatorAdmin } from "./admin.ts"
import type { SimulatorConfig } from "./config.ts"
import { EciSimulator, simulatorTransport } from "./simulator.ts"

/** `Eci` over an `EciSimulator`; RegionId is filled in from the simulator's region when absent. */
export const EciInMemoryFromSimulator: Layer.Layer<Eci, never, EciSimulator> = Layer.effect(
  Eci,
  Effect.gen(function*() {
    const sim = yield* EciSimulator
    const transport = simulatorTransport(sim)
    return Eci.of({
      call: (action, request) =>
        transport(action, request.RegionId === undefined ? { ...request, RegionId: sim.config.regionId } : request)
    })
  })
)

export const SimulatorAdminFromSimulator: Layer.Layer<SimulatorAdmin, never, EciSimulator> = Layer.effect(
  SimulatorAdmin,
  EciSimulator.use((sim) => Effect.succeed(SimulatorAdmin.of(sim.admin)))
)

/** A fresh simulator with its `Eci` face and admin operations (and the simulator itself). */
export const layerInMemory = (config: Partial<SimulatorConfig> = {}): Layer.Layer<Eci | SimulatorAdmin | EciSimulator> =>
  Layer.mergeAll(EciInMemoryFromSimulator, SimulatorAdminFromSimulator).pipe(Layer.provideMerge(EciSimulator.layer(config)))
