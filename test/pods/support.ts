import type { V1Pod } from "@kubernetes/client-node"
import { Effect, Layer } from "effect"
import { instantLifecycle } from "../../src/eci/simulator/config.ts"
import { EciSimulator } from "../../src/eci/simulator/simulator.ts"
import { KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import { node } from "../sim/harness.ts"

/** The in-memory API server and an ECI whose instances start at once: what is measured is the controller. */
export const instantWorld = (seed: number) =>
  Layer.mergeAll(
    KubeInMemory(),
    EciSimulator.layer({ seed, profile: "fast", timings: instantLifecycle, regionId: node.regionId })
  )

/** Lets forked fibers (watches, workers, the poller) run to their next suspension point. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 40; i++) yield* Effect.yieldNow
})

/** A one-container pod bound to the simulation's virtual node. */
export const boundPod = (namespace: string, name: string): V1Pod => ({
  metadata: { namespace, name },
  spec: { nodeName: node.nodeName, containers: [{ name: "web", image: "nginx:1.27", resources: { requests: { cpu: "100m", memory: "100Mi" } } }] }
})
