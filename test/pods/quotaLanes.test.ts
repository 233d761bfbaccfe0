import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger } from "effect"
import { TestClock } from "effect/testing"
import { Eci } from "../../src/eci/Eci.ts"
import { makePolicy } from "../../src/eci/policy.ts"
import { EciSimulator, simulatorTransport } from "../../src/eci/simulator/simulator.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { runPodController } from "../../src/pods/podController.ts"
import { node } from "../sim/harness.ts"
import { boundPod, instantWorld, settle } from "./support.ts"

/**
 * A burst larger than ECI's create quota (1000/min after a burst of 100) takes minutes to create.
 * Meanwhile the pods whose groups already run must show Running, and a pod deleted while it waits
 * for its turn must go at once: the workers waiting for Create tokens are not the ones that write
 * statuses or let pods go.
 */
const testLayer = instantWorld(11)
const pod = (name: string) => boundPod("burst", name)

describe("a burst beyond ECI's create quota", () => {
  it.effect("pods already created show Running while the rest wait for Create tokens; a waiting pod deleted goes at once", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      const sim = yield* EciSimulator
      // The production client policy: ECI's documented quotas (Create 1000/min, burst 100).
      const eci = yield* makePolicy(simulatorTransport(sim), { regionId: node.regionId })
      yield* admin.putNamespace("burst")
      const names = Array.from({ length: 400 }, (_, i) => `p${String(i).padStart(3, "0")}`)
      for (const name of names) yield* kube.createPod(pod(name))

      const controller = yield* Effect.forkChild(
        runPodController({ node, workers: 8 }).pipe(Effect.provideService(Eci, eci), Effect.provide(Logger.layer([])))
      )
      for (let s = 0; s < 12; s++) yield* TestClock.adjust("1 second").pipe(Effect.andThen(settle))

      const groups = (yield* sim.admin.listInstances).length
      const running = (yield* kube.listPods({ namespace: "burst" })).filter((p) => p.status?.phase === "Running").length
      // 100 at once, then 1000/min: ~300 groups after 12 s, far from all 400.
      assert.isAtLeast(groups, 250)
      assert.isAtMost(groups, 320)
      // Every group older than a poll interval or two is reflected on its pod.
      assert.isAtLeast(running, groups - 60, `${running} pods Running of ${groups} groups created`)

      // A pod still waiting for its create is deleted: it goes without waiting for the queue of creates.
      const waiting = (yield* kube.listPods({ namespace: "burst" })).find((p) => p.status?.phase !== "Running" && p.metadata?.annotations?.["k8s.aliyun.com/eci-instance-id"] === undefined)
      assert.isDefined(waiting)
      yield* kube.deletePod("burst", waiting!.metadata!.name!, { gracePeriodSeconds: 30 })
      for (let s = 0; s < 3; s++) yield* TestClock.adjust("1 second").pipe(Effect.andThen(settle))
      const left = (yield* kube.listPods({ namespace: "burst" })).map((p) => p.metadata?.name)
      assert.notInclude(left, waiting!.metadata!.name!)
      assert.isBelow((yield* sim.admin.listInstances).length, names.length, "creates still under way")

      yield* Fiber.interrupt(controller)
    }).pipe(Effect.provide(testLayer)), { timeout: 60_000 })
})
