import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Eci } from "../../src/eci/Eci.ts"
import { layerInMemory } from "../../src/eci/simulator/inMemory.ts"
import { makeGroupCache } from "../../src/pods/groupCache.ts"
import { IDENTITY_TAGS } from "../../src/translate/identity.ts"
import { createRequest } from "../eci/simulator/support.ts"

const tags = { [IDENTITY_TAGS.clusterId]: "c1", [IDENTITY_TAGS.nodeName]: "vk" }
const podUidTag = IDENTITY_TAGS.podUid

const cacheOfNode = makeGroupCache({
  listTags: tags,
  podUidOf: (g) => g.Tags?.find((t) => t.Key === podUidTag)?.Value,
  resyncInterval: "30 seconds",
  hotInterval: "2 seconds"
})

const createGroup = (podUid: string) =>
  Eci.use((eci) =>
    eci.call("CreateContainerGroup", createRequest({
      Tag: [...Object.entries(tags).map(([Key, Value]) => ({ Key, Value })), { Key: podUidTag, Value: podUid }]
    }))
  ).pipe(Effect.map((r) => r.ContainerGroupId!))

describe("the container-group cache", () => {
  it.effect("records a just-created group quietly, and publishes it once the hot poll reads what it really is", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOfNode
      const published = yield* cache.changes.pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* cache.run.pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second") // the first full list (empty) has run
      expect(cache.lastFullList()).toBeDefined()

      const id = yield* createGroup("uid-1")
      yield* cache.put("uid-1", { ContainerGroupId: id, Status: "Scheduling", Tags: [] }, { quiet: true })
      expect(cache.get("uid-1")?.Status).toBe("Scheduling") // known at once: a deletion in between finds it
      expect(published.pollUnsafe()).toBeUndefined() // but nobody is told yet

      yield* TestClock.adjust("3 seconds") // past the hot interval: the poll by id reads the group
      expect([...yield* Fiber.join(published)]).toEqual(["uid-1"])
      expect(cache.get("uid-1")?.ContainerGroupId).toBe(id)
      expect(cache.get("uid-1")?.Status).not.toBe("Scheduling")
    }).pipe(Effect.provide(layerInMemory({ profile: "fast" }))))

  it.effect("publishes a put that is not quiet at once", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOfNode
      const published = yield* cache.changes.pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      yield* cache.put("uid-2", { ContainerGroupId: "eci-2", Status: "Running", Tags: [] })
      expect([...yield* Fiber.join(published)]).toEqual(["uid-2"])
    }).pipe(Effect.provide(layerInMemory({ profile: "fast" }))))
})
