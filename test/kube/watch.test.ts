import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Random, Stream } from "effect"
import { TestClock } from "effect/testing"
import { KubeApiError, type KubeError } from "../../src/kube/Kube.ts"
import { type ListWatchEvent, listWatch, WatchExpired, type WatchItem } from "../../src/kube/watch.ts"

type Step = Stream.Stream<WatchItem<string>, KubeError | WatchExpired>

/** A scripted server: lists and watches answer in order; every request is recorded. */
const scripted = (lists: ReadonlyArray<Effect.Effect<{ items: ReadonlyArray<string>; resourceVersion: string }, KubeError>>, watches: ReadonlyArray<Step>) => {
  const log: Array<string> = []
  let l = 0
  let w = 0
  return {
    log,
    source: {
      list: Effect.suspend(() => {
        log.push("list")
        return lists[l++] ?? Effect.die(new Error("unexpected list"))
      }),
      watch: (from: string) =>
        Stream.suspend(() => {
          log.push(`watch@${from}`)
          return watches[w++] ?? Stream.die(new Error("unexpected watch"))
        })
    }
  }
}

const item = (type: "Added" | "Modified" | "Deleted", object: string, resourceVersion: string): WatchItem<string> => ({
  type,
  object,
  resourceVersion
})
const bookmark = (resourceVersion: string): WatchItem<string> => ({ type: "Bookmark", resourceVersion })
const serverError = new KubeApiError({ operation: "watch", status: 500, reason: "InternalError", message: "boom" })

const take = <A, E>(stream: Stream.Stream<A, E>, n: number) => stream.pipe(Stream.take(n), Stream.runCollect)

describe("listWatch (the reflector both Kube layers share)", () => {
  it.effect("resumes after a normal end from the last resourceVersion (bookmarks advance it); 410 relists with a new Snapshot", () =>
    Effect.gen(function*() {
      const { log, source } = scripted(
        [Effect.succeed({ items: ["a"], resourceVersion: "1" }), Effect.succeed({ items: ["a", "b", "c"], resourceVersion: "9" })],
        [
          Stream.make(item("Added", "b", "2"), bookmark("5")), // then the server closes the watch
          Stream.fail(new WatchExpired({ message: "too old resource version: 5" })),
          Stream.concat(Stream.make(item("Deleted", "a", "10")), Stream.never)
        ]
      )
      const events = yield* take(listWatch(source), 4)
      const expected: Array<ListWatchEvent<string>> = [
        { type: "Snapshot", items: ["a"] },
        { type: "Added", object: "b" },
        { type: "Snapshot", items: ["a", "b", "c"] },
        { type: "Deleted", object: "a" }
      ]
      assert.deepStrictEqual(events, expected)
      assert.deepStrictEqual(log, ["list", "watch@1", "watch@5", "list", "watch@9"])
    }))

  it.effect("a failed watch waits out a backoff, then resumes from its resourceVersion without relisting", () =>
    Effect.gen(function*() {
      const { log, source } = scripted(
        [Effect.succeed({ items: [], resourceVersion: "1" })],
        [
          Stream.concat(Stream.make(item("Added", "x", "3")), Stream.fail(serverError)),
          Stream.concat(Stream.make(item("Modified", "x", "4")), Stream.never)
        ]
      )
      const fiber = yield* Effect.forkChild(take(listWatch(source), 3))
      yield* TestClock.adjust("100 millis") // less than the first backoff (200 ms ± 20 %)
      assert.deepStrictEqual(log, ["list", "watch@1"])
      yield* TestClock.adjust("1 second")
      const events = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events.map((e) => e.type), ["Snapshot", "Added", "Modified"])
      assert.deepStrictEqual(log, ["list", "watch@1", "watch@3"])
    }).pipe(Random.withSeed(7)))

  it.effect("a failing list is retried with growing delays until it answers", () =>
    Effect.gen(function*() {
      const refused = new KubeApiError({ operation: "list", status: 0, reason: "ConnectionFailed", message: "ECONNREFUSED" })
      const { log, source } = scripted(
        [Effect.fail(refused), Effect.fail(refused), Effect.fail(refused), Effect.succeed({ items: ["p"], resourceVersion: "7" })],
        [Stream.never]
      )
      const fiber = yield* Effect.forkChild(take(listWatch(source), 1))
      // 200 ms, 400 ms, 800 ms (± 20 % jitter): not all three retries fit in one second...
      yield* TestClock.adjust("1 second")
      assert.isBelow(log.filter((l) => l === "list").length, 4)
      // ...but they do in three.
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [{ type: "Snapshot", items: ["p"] }])
      assert.deepStrictEqual(log, ["list", "list", "list", "list"])
    }).pipe(Random.withSeed(7)))
})
