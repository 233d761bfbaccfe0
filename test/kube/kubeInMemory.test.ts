/**
 * What the in-memory Kube layer does beyond the shared contract: watch resumption under drops,
 * compaction and bookmarks, field-selector transitions, and fault injection that replays exactly
 * from a seed (randomness from `Random`, time from `Clock`).
 */
import { assert, describe, it } from "@effect/vitest"
import type { V1Pod } from "@kubernetes/client-node"
import { Effect, Exit, Fiber, Layer, Random, Result } from "effect"
import { TestClock } from "effect/testing"
import { Kube, type PodWatchEvent } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin, type KubeInMemoryOptions } from "../../src/kube/kubeInMemory.ts"
import { subscribe } from "./contract.ts"

const pod = (name: string, nodeName?: string): V1Pod => ({
  metadata: { namespace: "default", name },
  spec: { ...(nodeName === undefined ? {} : { nodeName }), containers: [{ name: "c", image: "pause" }] }
})

const names = (events: ReadonlyArray<PodWatchEvent>) =>
  events.map((e) => e.type === "Snapshot" ? `Snapshot[${e.pods.map((p) => p.metadata?.name).join(",")}]` : `${e.type} ${e.pod.metadata?.name}`)

/** The pods a consumer believes exist: the last Snapshot, then the events after it. */
const believed = (events: ReadonlyArray<PodWatchEvent>) => {
  const state = new Set<string>()
  for (const e of events) {
    if (e.type === "Snapshot") {
      state.clear()
      for (const p of e.pods) state.add(p.metadata?.name ?? "")
    } else if (e.type === "Deleted") state.delete(e.pod.metadata?.name ?? "")
    else state.add(e.pod.metadata?.name ?? "")
  }
  return [...state].sort()
}
const snapshots = (events: ReadonlyArray<PodWatchEvent>) => events.filter((e) => e.type === "Snapshot").length

const withKube = (options: KubeInMemoryOptions = {}) => Effect.provide(Layer.fresh(KubeInMemory(options)))

/** The layer's two handles and a watch of node n1 that has delivered its first Snapshot. */
const watchingN1 = Effect.gen(function*() {
  const kube = yield* Kube
  const admin = yield* KubeInMemoryAdmin
  const watch = yield* subscribe(kube.watchPods("n1"))
  yield* watch.next
  return { kube, admin, watch }
})

describe("KubeInMemory watches", () => {
  it.effect("a dropped watch resumes from its last resourceVersion: no new Snapshot, nothing lost or repeated", () =>
    Effect.gen(function*() {
      const { admin, kube, watch } = yield* watchingN1
      yield* kube.createPod(pod("p1", "n1"))
      yield* watch.next
      yield* admin.dropWatches
      yield* kube.createPod(pod("p2", "n1"))
      yield* admin.dropWatches
      yield* kube.createPod(pod("p3", "n1"))
      yield* watch.next
      yield* watch.next
      assert.deepStrictEqual(names(watch.seen), ["Snapshot[]", "Added p1", "Added p2", "Added p3"])
    }).pipe(withKube()))

  it.effect("resuming from a compacted resourceVersion gets 410: the watch relists and emits a fresh Snapshot", () =>
    Effect.gen(function*() {
      const { admin, kube, watch } = yield* watchingN1
      yield* kube.createPod(pod("p1", "n1"))
      yield* watch.next
      // Changes the watch does not see (another node) move the server past its cursor...
      yield* kube.createPod(pod("other", "n2"))
      yield* admin.compact
      yield* admin.dropWatches
      // ...so its resume is too old and it relists. Around that, p1 goes away and p2 comes.
      yield* kube.deletePod("default", "p1", { gracePeriodSeconds: 0 })
      yield* kube.createPod(pod("p2", "n1"))
      yield* watch.until(() => believed(watch.seen).join() === "p2")
      assert.strictEqual(snapshots(watch.seen), 2)
    }).pipe(withKube()))

  it.effect("a bookmark advances the cursor, so compaction after it does not force a relist", () =>
    Effect.gen(function*() {
      const { admin, kube, watch } = yield* watchingN1
      yield* kube.createPod(pod("other", "n2"))
      yield* admin.bookmark
      yield* admin.compact
      yield* admin.dropWatches
      yield* kube.createPod(pod("p1", "n1"))
      yield* watch.next
      assert.deepStrictEqual(names(watch.seen), ["Snapshot[]", "Added p1"])
    }).pipe(withKube()))

  it.effect("a small history compacts by itself", () =>
    Effect.gen(function*() {
      const { admin, kube, watch } = yield* watchingN1
      for (const n of ["a", "b", "c"]) yield* kube.createPod(pod(n, "n2"))
      yield* admin.dropWatches
      yield* kube.createPod(pod("p1", "n1"))
      yield* watch.until(() => believed(watch.seen).join() === "p1")
      assert.strictEqual(snapshots(watch.seen), 2)
    }).pipe(withKube({ historySize: 2 })))

  it.effect("field selector: binding a pod to the node is Added on that node's watch; other nodes see nothing", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* kube.createPod(pod("p1"))
      const watch = yield* subscribe(kube.watchPods("n1"))
      yield* watch.next
      yield* admin.bindPod("default", "p1", "n1")
      const added = yield* watch.next
      assert.deepStrictEqual(names([added]), ["Added p1"])
      assert.strictEqual(added.type === "Added" ? added.pod.spec?.nodeName : "", "n1")
      const again = yield* Effect.exit(admin.bindPod("default", "p1", "n2"))
      assert.isTrue(Exit.isFailure(again))
    }).pipe(withKube()))

  it.effect("watch drops at random: every event still arrives exactly once and in order", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* admin.setFaults({ watchDropRate: 0.4 })
      const watch = yield* subscribe(kube.watchPods("n1"))
      yield* watch.next
      const expected: Array<string> = ["Snapshot[]"]
      for (let i = 0; i < 30; i++) {
        yield* kube.createPod(pod(`p${i}`, "n1"))
        yield* kube.patchPodStatus("default", `p${i}`, { status: { phase: "Running" } })
        expected.push(`Added p${i}`, `Modified p${i}`)
      }
      for (let i = 0; i < 60; i++) yield* watch.next
      assert.deepStrictEqual(names(watch.seen), expected)
    }).pipe(withKube(), Random.withSeed(3)))
})

describe("KubeInMemory fault injection", () => {
  const outcomes = (seed: number) =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* kube.createPod(pod("p", "n1"))
      yield* admin.setFaults({ conflictRate: 0.3 })
      const results: Array<string> = []
      for (let i = 0; i < 50; i++) {
        const result = yield* Effect.result(kube.patchPodStatus("default", "p", { status: { message: `m${i}` } }))
        results.push(Result.isSuccess(result) ? "ok" : result.failure._tag === "KubeConflict" ? "conflict" : "other")
      }
      return results
    }).pipe(withKube(), Random.withSeed(seed))

  it.effect("conflicts hit about the configured share of writes and are not applied; a seed replays them exactly", () =>
    Effect.gen(function*() {
      const first = yield* outcomes(11)
      const conflicts = first.filter((r) => r === "conflict").length
      assert.isAtLeast(conflicts, 5)
      assert.isAtMost(conflicts, 25)
      assert.notInclude(first, "other")
      assert.deepStrictEqual(yield* outcomes(11), first)
      assert.notDeepEqual(yield* outcomes(12), first)
    }))

  it.effect("a conflicted write changes nothing", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* kube.createPod(pod("p", "n1"))
      const before = yield* kube.getPod("default", "p")
      yield* admin.setFaults({ conflictRate: 1 })
      const exit = yield* Effect.exit(kube.patchPodStatus("default", "p", { status: { message: "lost" } }))
      assert.isTrue(Exit.isFailure(exit))
      yield* admin.setFaults({ conflictRate: 0 })
      assert.deepStrictEqual(yield* kube.getPod("default", "p"), before)
    }).pipe(withKube()))

  it.effect("latency is slept on the Clock: under TestClock a call completes only when time has passed", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* admin.setFaults({ latency: { min: "100 millis", max: "100 millis" } })
      const fiber = yield* Effect.forkChild(kube.getNamespace("default"))
      yield* TestClock.adjust("99 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(fiber)).metadata?.name, "default")
    }).pipe(withKube()))
})

describe("KubeInMemory clocks, names and reviews", () => {
  it.effect("timestamps come from Clock: creationTimestamp and deletionTimestamp follow TestClock", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      yield* TestClock.adjust("1 hour")
      const created = yield* kube.createPod(pod("p", "n1"))
      assert.deepStrictEqual(created.metadata?.creationTimestamp, new Date(3_600_000))
      yield* TestClock.adjust("10 seconds")
      yield* kube.deletePod("default", "p", { gracePeriodSeconds: 30 })
      assert.deepStrictEqual((yield* kube.getPod("default", "p")).metadata?.deletionTimestamp, new Date(3_640_000))
    }).pipe(withKube()))

  it.effect("a token stops being accepted when it expires on the Clock", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const { expirationTimestamp, token } = yield* kube.createServiceAccountToken("default", "default", { audiences: [], expirationSeconds: 600 })
      assert.deepStrictEqual(expirationTimestamp, new Date(600_000))
      assert.isTrue((yield* kube.reviewToken(token)).authenticated)
      yield* TestClock.adjust("600 seconds")
      assert.notStrictEqual((yield* kube.reviewToken(token)).authenticated, true)
    }).pipe(withKube()))

  it.effect("generateName draws its suffix from Random: the same seed gives the same names", () =>
    Effect.gen(function*() {
      const generate = Effect.gen(function*() {
        const kube = yield* Kube
        const a = yield* kube.createEvent({ metadata: { generateName: "web.", namespace: "default" }, involvedObject: {} })
        const b = yield* kube.createEvent({ metadata: { generateName: "web.", namespace: "default" }, involvedObject: {} })
        return [a.metadata?.name, b.metadata?.name]
      }).pipe(withKube(), Random.withSeed(5))
      const first = yield* generate
      assert.match(first[0] ?? "", /^web\.[bcdfghjklmnpqrstvwxz2456789]{5}$/)
      assert.notStrictEqual(first[0], first[1])
      assert.deepStrictEqual(yield* generate, first)
    }))

  it.effect("TokenReview and SubjectAccessReview answers can be scripted by the test", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* admin.setTokenReviewer((token) =>
        token === "kubelet-client" ? { authenticated: true, user: { username: "system:kube-apiserver" } } : undefined
      )
      yield* admin.setAccessReviewer((spec) => spec.user === "system:kube-apiserver" ? { allowed: true, reason: "scripted" } : undefined)
      const review = yield* kube.reviewToken("kubelet-client")
      assert.strictEqual(review.user?.username, "system:kube-apiserver")
      assert.notStrictEqual((yield* kube.reviewToken("other")).authenticated, true)
      const allowed = yield* kube.reviewAccess({ user: "system:kube-apiserver", resourceAttributes: { verb: "get", resource: "nodes" } })
      assert.deepStrictEqual([allowed.allowed, allowed.reason], [true, "scripted"])
      assert.isFalse((yield* kube.reviewAccess({ user: "x" })).allowed)
    }).pipe(withKube()))

  it.effect("a TokenRequest shorter than ten minutes is refused, as the API server refuses it", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const error = yield* Effect.flip(kube.createServiceAccountToken("default", "default", { audiences: [], expirationSeconds: 60 }))
      assert.deepStrictEqual(error._tag === "KubeApiError" ? [error.status, error.reason] : [error._tag], [422, "Invalid"])
    }).pipe(withKube()))
})
