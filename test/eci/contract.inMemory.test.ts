import { layerInMemory } from "../../src/eci/simulator/inMemory.ts"
import { eciContract } from "./contract.ts"

// A fresh simulator per case, on the case's TestClock: the suite's waits are TestClock adjustments.
eciContract({
  name: "in-memory simulator",
  layer: layerInMemory({ profile: "fast", seed: "contract" }),
  clock: "test",
  regionId: "cn-hangzhou",
  runId: "mem"
})
