/**
 * The Event recorder: recording enqueues, a background fiber writes within the Events' own budget,
 * a full queue drops (Normal before Warning) and counts. Against the in-memory API server, under
 * TestClock; every wait is for an Event create the test observes, never a sleep.
 */
import { assert, describe, it } from "@effect/vitest"
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node"
import { Clock, Deferred, Effect, Exit, Metric, Queue, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Kube, KubeApiError, type KubeError } from "../../src/kube/Kube.ts"
import { KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import { EventBudget, eventsDropped, makeEventRecorder } from "../../src/pods/events.ts"

const pod: V1Pod = { metadata: { name: "web", namespace: "default", uid: "uid-web" } }

interface Written {
  readonly at: number
  readonly event: CoreV1Event
}

/**
 * A pod Event recorder over the in-memory API server, with its Event creates in sight: `attempts`
 * gets each create as it starts, `written` each one the server took, with its (virtual) time.
 * Until `open` the server does not answer (creates wait); `failWith` makes every create fail.
 */
const harness = (options: { readonly queueCapacity?: number; readonly answering?: boolean; readonly failWith?: KubeError } = {}) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const attempts = yield* Queue.unbounded<CoreV1Event>()
    const written = yield* Queue.unbounded<Written>()
    const answering = yield* Deferred.make<void>()
    if (options.answering !== false) yield* Deferred.succeed(answering, undefined)
    const observed = Kube.of({
      ...kube,
      createEvent: (event) =>
        Effect.gen(function*() {
          yield* Queue.offer(attempts, event)
          yield* Deferred.await(answering)
          if (options.failWith !== undefined) return yield* Effect.fail(options.failWith)
          const created = yield* kube.createEvent(event)
          yield* Queue.offer(written, { at: yield* Clock.currentTimeMillis, event: created })
          return created
        })
    })
    const record = yield* makeEventRecorder({
      component: "eci-virtual-node",
      host: "vk-test",
      ...(options.queueCapacity === undefined ? {} : { queueCapacity: options.queueCapacity })
    }).pipe(Effect.provideService(Kube, observed))
    const nextWritten = (n: number) => Effect.forEach(Array.from({ length: n }), () => Queue.take(written))
    return { record, attempts, written, nextWritten, open: Deferred.succeed(answering, undefined) }
  })

const droppedCount = (reason: string, type: string) =>
  Metric.value(Metric.withAttributes(eventsDropped, { reason, type })).pipe(Effect.map((v) => v.count))

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => Effect.provideService(self, Metric.MetricRegistry, new Map())).pipe(Effect.provide(KubeInMemory()))

describe("Event recorder", () => {
  it.effect("recorded Events are written by the background fiber, in the order they were recorded", () =>
    Effect.gen(function*() {
      const { nextWritten, record } = yield* harness()
      for (const i of [1, 2, 3, 4, 5]) yield* record(pod, "Normal", "Step", `step ${i}`)
      const written = yield* nextWritten(5)
      assert.deepStrictEqual(written.map((w) => w.event.message), ["step 1", "step 2", "step 3", "step 4", "step 5"])
      const stored = yield* Kube.use((kube) => kube.listEvents("default"))
      assert.deepStrictEqual(stored.map((e) => e.message).sort(), ["step 1", "step 2", "step 3", "step 4", "step 5"])
      const first = stored.find((e) => e.message === "step 1")
      assert.deepStrictEqual(
        [first?.type, first?.reason, first?.involvedObject.kind, first?.involvedObject.uid, first?.source?.host],
        ["Normal", "Step", "Pod", "uid-web", "vk-test"]
      )
      assert.match(first?.metadata?.name ?? "", /^web\.[0-9a-f]{16}$/)
    }).pipe(isolated))

  it.effect("recording the same Event again writes one: the content-derived name makes the replay AlreadyExists", () =>
    Effect.gen(function*() {
      const { attempts, nextWritten, record } = yield* harness()
      yield* record(pod, "Warning", "NoStock", "no stock in cn-hangzhou-a")
      yield* record(pod, "Warning", "NoStock", "no stock in cn-hangzhou-a")
      yield* record(pod, "Normal", "Next", "after the replay")
      yield* nextWritten(2)
      assert.strictEqual(yield* Queue.size(attempts), 3) // the replay was tried, and refused
      const stored = yield* Kube.use((kube) => kube.listEvents("default"))
      assert.deepStrictEqual(stored.map((e) => e.reason).sort(), ["Next", "NoStock"])
      assert.strictEqual(yield* droppedCount("write_failed", "Warning"), 0)
    }).pipe(isolated))

  it.effect("recording never waits: not for an API server that does not answer, nor for the budget", () =>
    Effect.gen(function*() {
      const { attempts, record } = yield* harness({ answering: false })
      for (let i = 0; i < 500; i++) yield* record(pod, "Normal", "Step", `step ${i}`)
      assert.strictEqual(yield* Clock.currentTimeMillis, 0) // no time had to pass
      assert.strictEqual((yield* Queue.take(attempts)).message, "step 0") // the writer is the one waiting
    }).pipe(Effect.provideService(EventBudget, { qps: 1, burst: 1 }), isolated))

  it.effect("Events are written within their own budget: `burst` at once, then `qps` per second", () =>
    Effect.gen(function*() {
      const { nextWritten, record } = yield* harness()
      for (const i of [1, 2, 3, 4, 5, 6]) yield* record(pod, "Normal", "Step", `step ${i}`)
      const burst = yield* nextWritten(2) // no time has to pass for these
      assert.deepStrictEqual(burst.map((w) => w.at), [0, 0])
      yield* TestClock.adjust("2 seconds")
      const paced = yield* nextWritten(4)
      assert.deepStrictEqual(paced.map((w) => [w.at, w.event.message]), [[500, "step 3"], [1000, "step 4"], [1500, "step 5"], [2000, "step 6"]])
    }).pipe(Effect.provideService(EventBudget, { qps: 2, burst: 2 }), isolated))

  it.effect("a full queue drops and counts; the last quarter is kept for Warnings", () =>
    Effect.gen(function*() {
      const { attempts, nextWritten, open, record } = yield* harness({ queueCapacity: 8, answering: false })
      yield* record(pod, "Normal", "Step", "in flight")
      yield* Queue.take(attempts) // taken by the writer, which waits for the server: the queue is empty
      for (let i = 1; i <= 8; i++) yield* record(pod, "Normal", "Step", `normal ${i}`) // room for 6 of 8
      for (let i = 1; i <= 3; i++) yield* record(pod, "Warning", "Problem", `warning ${i}`) // the last 2 places
      assert.strictEqual(yield* droppedCount("queue_full", "Normal"), 2)
      assert.strictEqual(yield* droppedCount("queue_full", "Warning"), 1)

      yield* open
      const written = yield* nextWritten(9)
      assert.deepStrictEqual(written.map((w) => w.event.message), [
        "in flight",
        "normal 1",
        "normal 2",
        "normal 3",
        "normal 4",
        "normal 5",
        "normal 6",
        "warning 1",
        "warning 2"
      ])
    }).pipe(isolated))

  it.effect("a write the API server refuses is logged and counted; the next Event still goes", () =>
    Effect.gen(function*() {
      const refusal = new KubeApiError({ operation: "createEvent", status: 403, reason: "Forbidden", message: "events is forbidden" })
      const { attempts, record } = yield* harness({ failWith: refusal })
      yield* record(pod, "Warning", "Problem", "first")
      yield* record(pod, "Normal", "Step", "second")
      assert.deepStrictEqual([(yield* Queue.take(attempts)).message, (yield* Queue.take(attempts)).message], ["first", "second"])
      // The second attempt began, so the first has been counted.
      assert.strictEqual(yield* droppedCount("write_failed", "Warning"), 1)
    }).pipe(isolated))

  it.effect("Events still queued when the recorder's scope closes are counted as dropped", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { attempts, record } = yield* harness({ answering: false }).pipe(Scope.provide(scope))
      for (const i of [1, 2, 3]) yield* record(pod, "Normal", "Step", `step ${i}`)
      yield* Queue.take(attempts) // step 1 is in flight; 2 and 3 wait
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* droppedCount("stopped", "Normal"), 2)
    }).pipe(isolated))
})
