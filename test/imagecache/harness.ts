/**
 * The image cache controller in a box: the in-memory Kubernetes API server, the ECI simulator
 * (fast profile) behind the production client policy (token buckets, retries), and the controller
 * running as a fiber that a test can crash and restart. Everything runs on the test's Clock and a
 * seeded Random, so a run replays exactly.
 */
import { Context, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Eci, type EciAction } from "../../src/eci/Eci.ts"
import { makePolicy } from "../../src/eci/policy.ts"
import type { FaultSpec } from "../../src/eci/simulator/config.ts"
import { EciSimulator, simulatorTransport } from "../../src/eci/simulator/simulator.ts"
import { type ImageCacheControllerOptions, runImageCacheController } from "../../src/imagecache/controller.ts"
import { type CacheView, IMAGE_CACHE_TAGS } from "../../src/imagecache/identity.ts"
import type { ImageCache } from "../../src/kube/imageCache.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { type KubeFaults, KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import type { NodeContext } from "../../src/translate/resolved.ts"

export const CLUSTER = "c-imc-test"
export const REGION = "cn-hangzhou"

export const node: NodeContext = {
  clusterId: CLUSTER,
  nodeName: "vn-imc",
  regionId: REGION,
  vSwitchIds: ["vsw-imc"],
  securityGroupId: "sg-imc",
  clusterDns: [],
  clusterDomain: "cluster.local"
}

export const controllerOptions: ImageCacheControllerOptions = {
  node,
  hotInterval: "1 second",
  resyncInterval: "5 seconds",
  orphanSafetyDelay: "10 seconds",
  retryRefusedAfter: "30 seconds"
}

export interface HarnessOptions {
  readonly seed: string
  readonly eciFaults?: Partial<Record<"CreateImageCache" | "DescribeImageCaches" | "DeleteImageCache" | "*", FaultSpec>>
  readonly kubeFaults?: Partial<KubeFaults>
}

/** Every ECI call the product made (after the policy: one entry per call, not per attempt). */
export class EciCalls extends Context.Service<EciCalls, Array<{ readonly action: EciAction; readonly request: unknown }>>()("test/EciCalls") {}

/** Kube (in memory) + Eci (simulator behind the client policy, calls recorded) + the simulator itself. */
export const harnessLayer = (options: HarnessOptions) => {
  const simulator = EciSimulator.layer({
    profile: "fast",
    seed: options.seed,
    regionId: REGION,
    ...(options.eciFaults === undefined ? {} : { faults: options.eciFaults })
  })
  const calls = Layer.sync(EciCalls, () => [])
  const eci = Layer.effect(
    Eci,
    Effect.gen(function*() {
      const sim = yield* EciSimulator
      const log = yield* EciCalls
      const policy = yield* makePolicy(simulatorTransport(sim), {
        regionId: REGION,
        retry: { maxAttempts: 4, baseDelay: "100 millis", maxDelay: "1 second" }
      })
      return Eci.of({ call: (action, request) => Effect.suspend(() => (log.push({ action, request }), policy.call(action, request))) })
    })
  ).pipe(Layer.provideMerge(Layer.merge(simulator, calls)))
  return Layer.merge(eci, KubeInMemory(options.kubeFaults === undefined ? {} : { faults: options.kubeFaults }))
}

/** The controller as a restartable fiber. */
export const makeRunner = (options: ImageCacheControllerOptions = controllerOptions) =>
  Effect.gen(function*() {
    let fiber = yield* Effect.forkChild(runImageCacheController(options))
    return {
      crash: Effect.suspend(() => Fiber.interrupt(fiber)),
      restart: Effect.gen(function*() {
        yield* Fiber.interrupt(fiber)
        fiber = yield* Effect.forkChild(runImageCacheController(options))
      }),
      stop: Effect.suspend(() => Fiber.interrupt(fiber))
    }
  })

/**
 * Our caches in ECI right now, asked of the simulator directly: not through the product's client
 * policy, whose retries and token bucket would make the test's own fiber sleep on the TestClock it
 * drives (and not the controller's view). Fails the test if the simulator injects a fault here:
 * clear the faults before asking.
 */
export const eciCaches: Effect.Effect<ReadonlyArray<CacheView>, never, EciSimulator> = Effect.gen(function*() {
  const sim = yield* EciSimulator
  const out: Array<CacheView> = []
  let token = ""
  do {
    const page = yield* sim.call("DescribeImageCaches", {
      RegionId: REGION,
      Tag: [{ Key: IMAGE_CACHE_TAGS.clusterId, Value: CLUSTER }],
      Limit: 100,
      ...(token === "" ? {} : { NextToken: token })
    }).pipe(Effect.orDie)
    out.push(...(page.ImageCaches ?? []))
    token = page.NextToken ?? ""
  } while (token !== "")
  return out
})

/** Ends the storm: no more injected ECI faults. */
export const clearEciFaults = Effect.gen(function*() {
  const sim = yield* EciSimulator
  for (const action of ["*", "CreateImageCache", "DescribeImageCaches", "DeleteImageCache"] as const) {
    yield* sim.admin.setFaults(action, null).pipe(Effect.orDie)
  }
})

export const imageCache = (name: string, images: ReadonlyArray<string>, extra: Partial<ImageCache["spec"]> = {}): ImageCache => ({
  metadata: { name },
  spec: { images, ...extra }
})

/** Advances the TestClock a second at a time until `check` holds (at most `seconds`); returns whether it did. */
export const settle = <E, R>(check: Effect.Effect<boolean, E, R>, seconds: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < seconds; i++) {
      if (yield* check) return true
      yield* TestClock.adjust("1 second")
    }
    return yield* check
  })

/** Runs a user's write until the API server takes it (the in-memory server may inject 409s). */
export const persist = <A, R>(write: Effect.Effect<A, import("../../src/kube/Kube.ts").KubeError, R>) =>
  write.pipe(Effect.retry({ times: 20, while: (e) => e._tag === "KubeConflict" }))

export const getIc = (name: string) => Kube.use((kube) => kube.getImageCache(name))
