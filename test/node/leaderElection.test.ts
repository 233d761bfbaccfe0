import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { Kube, KubeApiError, type KubeError } from "../../src/kube/Kube.ts"
import { KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import { runWithLeaderElection } from "../../src/node/leaderElection.ts"

const settle = Effect.gen(function*() {
  for (let i = 0; i < 100; i++) yield* Effect.yieldNow
})

const election = { namespace: "kube-system", name: "eci-virtual-node-vk" }

/** A replica whose connection to the API server can be cut (a partition or a dead process). */
const replica = (cut: Ref.Ref<boolean>) =>
  Layer.effect(
    Kube,
    Effect.gen(function*() {
      const kube = yield* Kube
      const guard = <A>(eff: Effect.Effect<A, KubeError>): Effect.Effect<A, KubeError> =>
        Effect.flatMap(Ref.get(cut), (down): Effect.Effect<A, KubeError> =>
          down ? Effect.fail(new KubeApiError({ operation: "lease", status: 0, reason: "Unreachable", message: "connection refused" })) : eff)
      return Kube.of({
        ...kube,
        getLease: (ns, n) => guard(kube.getLease(ns, n)),
        createLease: (l) => guard(kube.createLease(l)),
        updateLease: (l) => guard(kube.updateLease(l))
      })
    })
  )

/** Runs a candidate that records, in `leader`, who is leading while its work runs. */
const candidate = (identity: string, leader: Ref.Ref<Array<string>>, cut: Ref.Ref<boolean>) =>
  runWithLeaderElection(
    { ...election, identity },
    Effect.acquireRelease(Ref.update(leader, (l) => [...l, identity]), () => Ref.update(leader, (l) => l.filter((x) => x !== identity))).pipe(
      Effect.andThen(Effect.never),
      Effect.scoped
    )
  ).pipe(Effect.scoped, Effect.provide(replica(cut)))

describe("leader election among replicas", () => {
  it.effect("one leader at a time; a standby takes over a dead leader within ~17 s", () =>
    Effect.gen(function*() {
      const leaders = yield* Ref.make<Array<string>>([])
      const cutA = yield* Ref.make(false)
      const cutB = yield* Ref.make(false)
      const a = yield* Effect.forkChild(candidate("a", leaders, cutA))
      yield* settle
      const b = yield* Effect.forkChild(candidate("b", leaders, cutB))
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("2 seconds")
        yield* settle
        assert.deepStrictEqual(yield* Ref.get(leaders), ["a"])
      }
      yield* Ref.set(cutA, true) // a is gone: no more renewals
      let takeover = 0
      for (let s = 1; s <= 30; s++) {
        yield* TestClock.adjust("1 second")
        yield* settle
        const now = yield* Ref.get(leaders)
        // a gives up after its 10 s renew deadline, before b may take the 15 s lease: never two leaders.
        assert.isAtMost(now.length, 1)
        if (now.includes("b")) {
          takeover = s
          break
        }
      }
      assert.isAbove(takeover, 10, "b must wait for the lease to expire")
      assert.isAtMost(takeover, 17, "b takes over within the lease duration plus one retry period")
      assert.deepStrictEqual(yield* Ref.get(leaders), ["b"])
      yield* Fiber.interrupt(a)
      yield* Fiber.interrupt(b)
    }).pipe(Effect.provide(KubeInMemory())))

  it.effect("a leader that stops hands over at once (the lease is released)", () =>
    Effect.gen(function*() {
      const leaders = yield* Ref.make<Array<string>>([])
      const never = yield* Ref.make(false)
      const a = yield* Effect.forkChild(candidate("a", leaders, never))
      yield* settle
      const b = yield* Effect.forkChild(candidate("b", leaders, never))
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.deepStrictEqual(yield* Ref.get(leaders), ["a"])
      yield* Fiber.interrupt(a) // SIGTERM: finalizers run, the lease is released
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.deepStrictEqual(yield* Ref.get(leaders), ["b"])
      yield* Fiber.interrupt(b)
    }).pipe(Effect.provide(KubeInMemory())))
})
