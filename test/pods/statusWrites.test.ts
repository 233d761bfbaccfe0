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
 * A kubelet writes a pod's status when it changes, and only then. A pod that is Running on a group
 * that does not change must cost no further pods/status writes however long it runs — in particular
 * not one per reconcile because the status the API server hands back (its JSON encoding, its merge)
 * never equals the one computed.
 */
const testLayer = instantWorld(7)
const pod = (name: string) => boundPod("writes", name)

describe("pods/status writes", () => {
  it.effect("a pod Running for an hour on an unchanged group is written once after it became Running", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      const sim = yield* EciSimulator
      // Every pods/status write, by the phase it left the pod in.
      const writes: Array<{ readonly pod: string; readonly phase: string }> = []
      const counting = Kube.of({
        ...kube,
        patchPodStatus: (namespace, name, patch, type) =>
          kube.patchPodStatus(namespace, name, patch, type).pipe(
            Effect.tap((p) => Effect.sync(() => writes.push({ pod: name, phase: p.status?.phase ?? "" })))
          )
      })
      const eci = yield* makePolicy(simulatorTransport(sim), { regionId: node.regionId })
      yield* admin.putNamespace("writes")
      const names = ["a", "b", "c"]
      for (const name of names) yield* kube.createPod(pod(name))

      const controller = yield* Effect.forkChild(
        runPodController({ node, workers: 4 }).pipe(
          Effect.provideService(Eci, eci),
          Effect.provideService(Kube, counting),
          Effect.provide(Logger.layer([]))
        )
      )
      const running = Effect.map(kube.listPods({ namespace: "writes" }), (ps) => ps.filter((p) => p.status?.phase === "Running").length)
      for (let s = 0; s < 120 && (yield* running) < names.length; s++) yield* TestClock.adjust("1 second").pipe(Effect.andThen(settle))
      assert.strictEqual(yield* running, names.length, "every pod Running within 2 minutes")

      // An hour: full lists every 30 s, the hot poll cooling off, nothing changing.
      for (let s = 0; s < 3600; s += 5) yield* TestClock.adjust("5 seconds").pipe(Effect.andThen(settle))
      yield* Fiber.interrupt(controller)

      for (const name of names) {
        const mine = writes.filter((w) => w.pod === name)
        const firstRunning = mine.findIndex((w) => w.phase === "Running")
        assert.isAtLeast(firstRunning, 0, `pod ${name} was written Running`)
        assert.deepStrictEqual(mine.slice(firstRunning), [{ pod: name, phase: "Running" }], `writes of pod ${name} from Running on`)
      }
      const pods = yield* kube.listPods({ namespace: "writes" })
      assert.deepStrictEqual(pods.map((p) => p.status?.phase), ["Running", "Running", "Running"])
    }).pipe(Effect.provide(testLayer)), { timeout: 60_000 })
})
