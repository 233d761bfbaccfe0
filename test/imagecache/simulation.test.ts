/**
 * Deterministic simulation: users create and delete ImageCaches at random instants while the
 * controller is crashed and restarted at random instants (and, at a leader handover, briefly runs
 * twice), ECI loses answers (the action carried out,
 * the response dropped), fails calls and throttles, and the API server drops watches and injects
 * conflicts. After every script, once things settle, nothing may be left over:
 * - every ECI cache with our cluster tag is the cache a live ImageCache's status names;
 * - every live ImageCache follows exactly one cache, Ready (or Failed for an unpullable image);
 * - every deleted ImageCache is gone from the API server (its finalizer was released).
 * TestClock + seeded Random: a failing seed replays exactly.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import { ownerUid } from "../../src/imagecache/identity.ts"
import type { ImageCache } from "../../src/kube/imageCache.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { clearEciFaults, EciCalls, eciCaches, harnessLayer, imageCache, makeRunner, persist, settle } from "./harness.ts"

const SEEDS = 100
const STEPS = 40
const NAMES = ["base", "web", "ml", "tools", "broken"]

const imagesFor = (name: string) => (name === "broken" ? ["registry.example.com/does-not-exist:1"] : [`registry.example.com/${name}:1`, "nginx:1.27"])

interface Outcome {
  readonly settled: boolean
  readonly problems: ReadonlyArray<string>
  readonly creates: number
  readonly steps: ReadonlyArray<string>
}

const invariants = Effect.gen(function*() {
  const kube = yield* Kube
  const problems: Array<string> = []
  const ics = yield* kube.listImageCaches.pipe(Effect.orDie)
  const caches = yield* eciCaches
  const live = new Map<string, ImageCache>()
  for (const ic of ics) {
    const name = ic.metadata?.name ?? ""
    if (ic.metadata?.deletionTimestamp !== undefined) {
      problems.push(`${name} is still being deleted`)
      continue
    }
    live.set(ic.metadata?.uid ?? "", ic)
    const want = name === "broken" ? "Failed" : "Ready"
    if (ic.status?.phase !== want) problems.push(`${name} is ${ic.status?.phase ?? "without status"}, not ${want}`)
    const mine = caches.filter((c) => ownerUid(c) === ic.metadata?.uid)
    if (mine.length !== 1 || mine[0]?.ImageCacheId !== ic.status?.imageCacheId) {
      problems.push(`${name} follows ${ic.status?.imageCacheId ?? "nothing"} but ECI has ${JSON.stringify(mine.map((c) => c.ImageCacheId))}`)
    }
  }
  for (const c of caches) {
    const owner = live.get(ownerUid(c) ?? "")
    if (owner === undefined || owner.status?.imageCacheId !== c.ImageCacheId) problems.push(`orphaned cache ${c.ImageCacheId} (${c.ImageCacheName}, ${c.Status})`)
  }
  return problems
})

const simulate = (seed: number) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const runner = yield* makeRunner()
    let up = true
    const steps: Array<string> = []
    for (let i = 0; i < STEPS; i++) {
      const roll = yield* Random.nextIntBetween(0, 100, { halfOpen: true })
      const name = NAMES[yield* Random.nextIntBetween(0, NAMES.length, { halfOpen: true })]!
      if (roll < 35) {
        steps.push(`create ${name}`)
        yield* persist(kube.createImageCache(imageCache(name, imagesFor(name)))).pipe(Effect.ignore)
      } else if (roll < 60) {
        steps.push(`delete ${name}`)
        yield* persist(kube.deleteImageCache(name)).pipe(Effect.ignore)
      } else if (roll < 75) {
        // Crashes land wherever the controller is suspended: between calls, in a retry's backoff
        // after a lost answer, behind the token bucket. While it is down, users go on.
        steps.push(up ? "crash" : "restart")
        if (up) yield* runner.crash
        else yield* runner.restart
        up = !up
      } else if (roll < 80) {
        steps.push("crash+restart")
        yield* runner.restart
        up = true
      } else if (roll < 88 && up) {
        // A leader handover that overlaps: the old leader keeps working for a few seconds beside the
        // new one (both create, recreate and delete; each has its own memory).
        const overlap = yield* Random.nextIntBetween(500, 5000)
        steps.push(`second leader for ${overlap} ms`)
        const other = yield* makeRunner()
        yield* TestClock.adjust(`${overlap} millis`)
        yield* other.stop
      }
      // Mostly short pauses, so the next step often lands while a call is under way.
      const pause = (yield* Random.nextIntBetween(0, 4, { halfOpen: true })) === 0
        ? yield* Random.nextIntBetween(0, 5000)
        : yield* Random.nextIntBetween(0, 400)
      yield* TestClock.adjust(`${pause} millis`)
    }
    if (!up) yield* runner.restart
    steps.push("settle")
    yield* clearEciFaults
    // Beyond the orphan safety delay and a few resyncs; the builds take a fraction of a second.
    const settled = yield* settle(Effect.map(invariants, (p) => p.length === 0), 120)
    const problems = yield* invariants
    const creates = (yield* EciCalls).filter((c) => c.action === "CreateImageCache").length
    yield* runner.stop
    return { settled, problems, creates, steps } satisfies Outcome
  }).pipe(
    Effect.provide(harnessLayer({
      seed: `sim-${seed}`,
      eciFaults: {
        // Latency widens the windows a crash can land in (mid-call, between a call and its write-back).
        CreateImageCache: { dropRate: 0.25, dropPhase: "response", latencyMs: 200 },
        DeleteImageCache: { dropRate: 0.2, dropPhase: "response", errorRate: 0.1, errorCode: "ServiceUnavailable", latencyMs: 100 },
        DescribeImageCaches: { errorRate: 0.1, errorCode: "InternalError", latencyMs: 300 }
      },
      kubeFaults: { watchDropRate: 0.05, conflictRate: 0.05 }
    })),
    Random.withSeed(seed)
  )

describe("image cache simulation: random create/delete/crash interleavings leave no orphaned cache", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it.effect(`seed ${seed}`, () =>
      Effect.gen(function*() {
        const outcome = yield* simulate(seed)
        assert.deepStrictEqual(outcome.problems, [], `seed ${seed}: ${outcome.steps.join(", ")}`)
        assert.isTrue(outcome.settled)
        assert.isAbove(outcome.creates, 0)
      }))
  }
})
