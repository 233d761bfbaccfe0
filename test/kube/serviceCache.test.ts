/**
 * The service cache: one list+watch of the cluster's Services, read instead of the API server.
 * Against the in-memory API server (changes arrive through its watch: waited for, never slept on)
 * and, for what a real watch does rarely on demand, a scripted watch.
 */
import { assert, describe, it } from "@effect/vitest"
import type { V1Service } from "@kubernetes/client-node"
import { Effect, Fiber, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { makeServiceCache } from "../../src/kube/serviceCache.ts"
import type { ListWatchEvent } from "../../src/kube/watch.ts"
import { eventually } from "../webhook/helpers.ts"

const service = (namespace: string, name: string, port: number): V1Service => ({
  metadata: { namespace, name },
  spec: { ports: [{ name: "http", port }] }
})
const names = (services: ReadonlyArray<V1Service>) => services.map((s) => s.metadata?.name)
const ports = (s: V1Service | undefined) => s?.spec?.ports?.map((p) => p.port)

/** The in-memory API server whose Service watch is the test's script instead. */
const scriptedWatch = (script: Queue.Queue<ListWatchEvent<V1Service>>) =>
  Effect.provideServiceEffect(Kube, Effect.map(Kube, (kube) => Kube.of({ ...kube, watchServices: Stream.fromQueue(script) })))

describe("service cache", () => {
  it.live("holds the cluster's Services after the first list: the API server's own, and a namespace's by name", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putNamespace("app")
      yield* admin.putService(service("app", "web", 80))
      yield* admin.putService(service("app", "api", 8443))
      const cache = yield* makeServiceCache()
      assert.deepStrictEqual(ports(yield* cache.get("default", "kubernetes")), [443])
      assert.deepStrictEqual(names(yield* cache.list("app")), ["api", "web"])
      assert.deepStrictEqual(yield* cache.list("elsewhere"), [])
      assert.isUndefined(yield* cache.get("app", "nope"))
    }).pipe(Effect.provide(KubeInMemory())))

  it.live("sees a Service created, updated and deleted", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putNamespace("app")
      const cache = yield* makeServiceCache()
      assert.deepStrictEqual(yield* cache.list("app"), [])

      yield* admin.putService(service("app", "web", 80))
      yield* eventually(cache.get("app", "web"), (s) => ports(s)?.[0] === 80)
      yield* admin.putService(service("app", "web", 8080))
      yield* eventually(cache.get("app", "web"), (s) => ports(s)?.[0] === 8080)
      yield* admin.deleteService("app", "web")
      yield* eventually(cache.list("app"), (services) => services.length === 0)
    }).pipe(Effect.provide(KubeInMemory())))

  it.live("keeps up across a dropped watch and a compacted history (410 Gone: relist)", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putNamespace("app")
      const cache = yield* makeServiceCache()
      yield* cache.list("app") // listed
      yield* admin.dropWatches
      yield* admin.putService(service("app", "after-drop", 80))
      yield* eventually(cache.list("app"), (services) => names(services).includes("after-drop"))
      yield* admin.compact
      yield* admin.dropWatches
      yield* admin.putService(service("app", "after-compaction", 80))
      yield* eventually(cache.list("app"), (services) => names(services).includes("after-compaction"))
    }).pipe(Effect.provide(KubeInMemory())))

  it.live("a relist is the whole truth: Services deleted while the watch was down are forgotten", () =>
    Effect.gen(function*() {
      const script = yield* Queue.unbounded<ListWatchEvent<V1Service>>()
      const cache = yield* makeServiceCache().pipe(scriptedWatch(script))
      yield* Queue.offer(script, { type: "Snapshot", items: [service("app", "a", 80), service("app", "b", 80)] })
      yield* Queue.offer(script, { type: "Added", object: service("app", "c", 80) })
      yield* eventually(cache.list("app"), (services) => services.length === 3)
      yield* Queue.offer(script, { type: "Snapshot", items: [service("app", "c", 80)] })
      yield* eventually(cache.list("app"), (services) => names(services).join() === "c")
    }).pipe(Effect.provide(KubeInMemory())))

  it.effect("a read before the first list waits for it, rather than answer from an empty cache", () =>
    Effect.gen(function*() {
      const script = yield* Queue.unbounded<ListWatchEvent<V1Service>>()
      const cache = yield* makeServiceCache().pipe(scriptedWatch(script))
      const read = yield* Effect.forkChild(cache.list("app"))
      yield* Queue.offer(script, { type: "Snapshot", items: [service("app", "web", 80)] })
      assert.deepStrictEqual(names(yield* Fiber.join(read)), ["web"])
    }).pipe(Effect.provide(KubeInMemory())))

  it.effect("without a first list within the sync timeout a read fails, saying so (the caller retries later)", () =>
    Effect.gen(function*() {
      const script = yield* Queue.unbounded<ListWatchEvent<V1Service>>()
      const cache = yield* makeServiceCache({ syncTimeout: "10 seconds" }).pipe(scriptedWatch(script))
      const read = yield* Effect.forkChild(Effect.flip(cache.get("default", "kubernetes")))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(read)
      assert.deepStrictEqual(error._tag === "KubeApiError" ? [error.reason, error.message] : [error._tag], [
        "ServicesNotSynced",
        "Services have not been listed within 10s; cannot build service environment variables yet"
      ])
    }).pipe(Effect.provide(KubeInMemory())))
})
