import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import { leaseDurationSeconds, nodeLeaseNamespace, runNodeLease } from "../../src/node/lease.ts"

const settle = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

/** Counts the Lease calls the heartbeat makes, on top of the in-memory API server. */
const counting = (calls: Ref.Ref<Array<string>>) =>
  Layer.effect(
    Kube,
    Effect.gen(function*() {
      const kube = yield* Kube
      const note = (name: string) => Ref.update(calls, (c) => [...c, name])
      return Kube.of({
        ...kube,
        getLease: (ns, n) => note("get").pipe(Effect.andThen(kube.getLease(ns, n))),
        createLease: (l) => note("create").pipe(Effect.andThen(kube.createLease(l))),
        updateLease: (l) => note("update").pipe(Effect.andThen(kube.updateLease(l)))
      })
    })
  )

describe("node lease heartbeats", () => {
  it.effect("creates the Lease, then renews it every 10 s without reading it first", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<Array<string>>([])
      const program = Effect.gen(function*() {
        const kube = yield* Kube
        const fiber = yield* Effect.forkChild(
          runNodeLease("vk", Effect.succeed("node-uid"), Effect.void).pipe(Effect.provide(counting(calls)))
        )
        yield* settle
        const first = yield* kube.getLease(nodeLeaseNamespace, "vk")
        assert.strictEqual(first.spec?.holderIdentity, "vk")
        assert.strictEqual(first.spec?.leaseDurationSeconds, leaseDurationSeconds)
        assert.deepStrictEqual(first.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [["Node", "vk", "node-uid"]])
        const renewedAt: Array<number> = []
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust("10 seconds")
          yield* settle
          const lease = yield* kube.getLease(nodeLeaseNamespace, "vk")
          renewedAt.push(new Date(lease.spec?.renewTime ?? 0).getTime())
        }
        assert.deepStrictEqual(renewedAt.map((t) => t - renewedAt[0]!), [0, 10_000, 20_000])
        yield* Fiber.interrupt(fiber)
      })
      yield* program.pipe(Effect.provide(KubeInMemory()))
      // get (adopt or create) + create, then three renewals that are updates only.
      assert.deepStrictEqual(yield* Ref.get(calls), ["get", "create", "update", "update", "update"])
    }))

  it.effect("takes the Lease back after someone else wrote it (409)", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const fiber = yield* Effect.forkChild(runNodeLease("vk", Effect.succeed("uid-1"), Effect.void))
      yield* settle
      const lease = yield* kube.getLease(nodeLeaseNamespace, "vk")
      yield* kube.updateLease({ ...lease, spec: { ...lease.spec, holderIdentity: "intruder" } })
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual((yield* kube.getLease(nodeLeaseNamespace, "vk")).spec?.holderIdentity, "vk")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(KubeInMemory())))
})
