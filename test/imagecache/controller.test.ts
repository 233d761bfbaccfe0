/**
 * The controller against the in-memory API server and the ECI simulator, scenario by scenario, under
 * TestClock: the life of a cache, failures, recreation, credentials, garbage collection.
 */
import { assert, describe, it } from "@effect/vitest"
import type { V1Secret } from "@kubernetes/client-node"
import { Effect, Logger, Random } from "effect"
import { TestClock } from "effect/testing"
import type { CreateImageCacheRequest } from "../../src/eci/api.generated.ts"
import { EciSimulator } from "../../src/eci/simulator/simulator.ts"
import { cacheTags, CLIENT_TOKEN_ANNOTATION, IMAGE_CACHE_FINALIZER } from "../../src/imagecache/identity.ts"
import { deleteCache } from "../../src/imagecache/queries.ts"
import { Kube, KubeNotFound } from "../../src/kube/Kube.ts"
import { KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { CLUSTER, controllerOptions, EciCalls, eciCaches, getIc, harnessLayer, imageCache, makeRunner, settle } from "./harness.ts"

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
const dockerSecret = (namespace: string, name: string, auths: Record<string, unknown>): V1Secret => ({
  metadata: { namespace, name },
  type: "kubernetes.io/dockerconfigjson",
  data: { ".dockerconfigjson": b64(JSON.stringify({ auths })) }
})

const phaseOf = (name: string) => getIc(name).pipe(Effect.map((ic) => ic.status?.phase), Effect.orElseSucceed(() => "gone"))

const eventsAbout = (name: string) =>
  Kube.use((kube) => kube.listEvents("default")).pipe(
    Effect.map((events) => events.filter((e) => e.involvedObject.name === name).map((e) => [e.type, e.reason, e.message] as const))
  )

/** Asserts that an Event about `name` is recorded; the recorder writes in the background, so wait for it (10 s at most). */
const expectEvent = (name: string, expected: readonly [string, string, string]) =>
  Effect.gen(function*() {
    const same = (e: ReadonlyArray<string | undefined>) => expected.every((v, i) => e[i] === v)
    yield* settle(Effect.map(eventsAbout(name), (events) => events.some(same)), 10)
    assert.deepInclude(yield* eventsAbout(name), expected)
  })

const run = <A, E>(seed: string, body: Effect.Effect<A, E, Kube | KubeInMemoryAdmin | EciSimulator | EciCalls | import("../../src/eci/Eci.ts").Eci>) =>
  body.pipe(Effect.provide(harnessLayer({ seed })), Random.withSeed(seed))

describe("image cache controller", () => {
  it.effect("an ImageCache becomes a Ready ECI cache with finalizer, token, status and Events; deleting it deletes the cache", () =>
    run("life", Effect.gen(function*() {
      const kube = yield* Kube
      yield* makeRunner()
      yield* kube.createImageCache(imageCache("base", ["nginx:1.27", "redis:7"], { retentionDays: 30 }))
      assert.isTrue(yield* settle(Effect.map(phaseOf("base"), (p) => p === "Ready"), 30))

      const ic = yield* getIc("base")
      assert.deepStrictEqual(ic.metadata?.finalizers, [IMAGE_CACHE_FINALIZER])
      assert.match(ic.metadata?.annotations?.[CLIENT_TOKEN_ANNOTATION] ?? "", /^[0-9a-f-]{36}$/)
      const id = ic.status?.imageCacheId ?? ""
      assert.match(id, /^imc-/)
      assert.strictEqual(ic.status?.progress, "100%")
      assert.isDefined(ic.status?.startTime)
      assert.isDefined(ic.status?.expireDateTime, "retentionDays gives an expiry")
      assert.isDefined(ic.status?.lastUpdatedTime)
      assert.isUndefined(ic.status?.reason)
      assert.includeMembers((ic.status?.events ?? []).map((e) => e.reason), ["Preparing", "Pulling", "Pulled", "Created"])

      const caches = yield* eciCaches
      assert.deepStrictEqual(caches.map((c) => c.ImageCacheId), [id])
      const cache = caches[0]!
      assert.deepStrictEqual(cache.Images, ["nginx:1.27", "redis:7"])
      assert.strictEqual(cache.ImageCacheSize, 20)
      assert.deepStrictEqual(cache.Tags, cacheTags(CLUSTER, ic))
      assert.strictEqual(cache.ImageCacheName, `${CLUSTER}-base`)

      yield* expectEvent("base", ["Normal", "ImageCacheCreated", `created ECI image cache ${id} (2 images)`])
      yield* expectEvent("base", ["Normal", "Created", `Image cache ${id} is ready`])

      yield* kube.deleteImageCache("base")
      assert.isTrue(yield* settle(Effect.map(phaseOf("base"), (p) => p === "gone"), 10))
      assert.deepStrictEqual(yield* eciCaches, [])
    })))

  it.effect("an image that cannot be pulled: Failed with reason ImageNotFound and ECI's message; no rebuild; deletion still cleans up", () =>
    run("failed", Effect.gen(function*() {
      const kube = yield* Kube
      yield* makeRunner()
      yield* kube.createImageCache(imageCache("broken", ["registry.example.com/team/does-not-exist:1"]))
      assert.isTrue(yield* settle(Effect.map(phaseOf("broken"), (p) => p === "Failed"), 30))
      const ic = yield* getIc("broken")
      assert.strictEqual(ic.status?.reason, "ImageNotFound")
      assert.include(ic.status?.message ?? "", `Failed to pull image "registry.example.com/team/does-not-exist:1": not found`)
      yield* expectEvent("broken", ["Warning", "Failed", `Failed to pull image "registry.example.com/team/does-not-exist:1": not found`])

      // ECI drops a failed cache a day later; the resource stays Failed and nothing is built again.
      yield* TestClock.adjust("25 hours")
      assert.isTrue(yield* settle(Effect.map(eciCaches, (c) => c.length === 0), 10))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* phaseOf("broken"), "Failed")
      assert.deepStrictEqual(yield* eciCaches, [])

      yield* kube.deleteImageCache("broken")
      assert.isTrue(yield* settle(Effect.map(phaseOf("broken"), (p) => p === "gone"), 10))
    })))

  it.effect("a cache deleted behind our back is built again under a new client token", () =>
    run("vanish", Effect.gen(function*() {
      const kube = yield* Kube
      yield* makeRunner()
      yield* kube.createImageCache(imageCache("app", ["nginx:1.27"]))
      assert.isTrue(yield* settle(Effect.map(phaseOf("app"), (p) => p === "Ready"), 30))
      const before = yield* getIc("app")
      const oldId = before.status?.imageCacheId ?? ""
      yield* deleteCache(oldId).pipe(Effect.orDie)

      const rebuilt = Effect.map(getIc("app"), (ic) => ic.status?.phase === "Ready" && ic.status.imageCacheId !== oldId)
      assert.isTrue(yield* settle(rebuilt, 90))
      const after = yield* getIc("app")
      assert.notStrictEqual(after.metadata?.annotations?.[CLIENT_TOKEN_ANNOTATION], before.metadata?.annotations?.[CLIENT_TOKEN_ANNOTATION])
      assert.deepStrictEqual((yield* eciCaches).map((c) => c.ImageCacheId), [after.status?.imageCacheId])
      yield* expectEvent("app", ["Warning", "CacheVanished", `ECI image cache ${oldId} no longer exists; building a new one`])
    })))

  it.effect("a cache past its retention is replaced before ECI drops it", () =>
    run("expire", Effect.gen(function*() {
      const kube = yield* Kube
      yield* makeRunner()
      yield* kube.createImageCache(imageCache("weekly", ["nginx:1.27"], { retentionDays: 1 }))
      assert.isTrue(yield* settle(Effect.map(phaseOf("weekly"), (p) => p === "Ready"), 30))
      const oldId = (yield* getIc("weekly")).status?.imageCacheId ?? ""
      yield* TestClock.adjust("24 hours")
      const replaced = Effect.map(getIc("weekly"), (ic) => ic.status?.phase === "Ready" && ic.status.imageCacheId !== oldId)
      assert.isTrue(yield* settle(replaced, 30))
      const ids = (yield* eciCaches).map((c) => c.ImageCacheId)
      assert.deepStrictEqual(ids, [(yield* getIc("weekly")).status?.imageCacheId])
      yield* expectEvent("weekly", ["Normal", "CacheExpired", `ECI image cache ${oldId} reached its retention end; building a new one`])
    })))

  it.effect("private registries: credentials from the referenced Secrets; a missing Secret keeps it Pending until it exists", () =>
    run("secrets", Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putNamespace("team")
      yield* makeRunner()
      yield* kube.createImageCache(imageCache("private", ["registry.example.com/team/app:1"], { imagePullSecrets: ["team:regcred"] }))
      assert.isTrue(yield* settle(Effect.map(getIc("private"), (ic) => ic.status?.reason === "SecretNotFound"), 10))
      assert.strictEqual((yield* getIc("private")).status?.phase, "Pending")
      yield* expectEvent("private", [
        "Warning",
        "SecretNotFound",
        "image pull secret team:regcred was not found; the cache is created once it exists"
      ])
      assert.deepStrictEqual(yield* eciCaches, [])

      yield* admin.putSecret(dockerSecret("team", "regcred", { "https://registry.example.com/v1/": { username: "robot", password: "s3cret" } }))
      assert.isTrue(yield* settle(Effect.map(phaseOf("private"), (p) => p === "Ready"), 60))
      const creates = (yield* EciCalls).filter((c) => c.action === "CreateImageCache").map((c) => c.request as CreateImageCacheRequest)
      assert.strictEqual(creates.length, 1, "nothing was created while the Secret was missing")
      assert.deepStrictEqual(creates[0]?.ImageRegistryCredential, [{ Server: "registry.example.com", UserName: "robot", Password: "s3cret" }])
      assert.isUndefined((yield* getIc("private")).status?.reason)
    })))

  it.effect("a Secret without docker config is reported as SecretInvalid", () =>
    run("secret-invalid", Effect.gen(function*() {
      const kube = yield* Kube
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putSecret({ metadata: { namespace: "default", name: "plain" }, type: "Opaque", stringData: { token: "x" } })
      yield* makeRunner()
      yield* kube.createImageCache(imageCache("bad-secret", ["nginx:1.27"], { imagePullSecrets: ["default:plain"] }))
      assert.isTrue(yield* settle(Effect.map(getIc("bad-secret"), (ic) => ic.status?.reason === "SecretInvalid"), 10))
      assert.strictEqual((yield* getIc("bad-secret")).status?.message, "image pull secret default:plain is unusable: secret plain holds no .dockerconfigjson or .dockercfg")
    })))

  it.effect("a create ECI refuses (no security group): Failed with the reason, tried again later, Ready once placement is fixed", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      let securityGroupId: string | undefined
      yield* makeRunner({
        node: { clusterId: CLUSTER, nodeName: "vn", regionId: "cn-hangzhou", vSwitchIds: ["vsw-a"], clusterDns: [], clusterDomain: "cluster.local" },
        profileDefaults: Effect.sync(() => ({ vSwitchIds: [], securityGroupId, resourceGroupId: undefined })),
        hotInterval: "1 second",
        resyncInterval: "5 seconds",
        retryRefusedAfter: "30 seconds"
      })
      yield* kube.createImageCache(imageCache("unplaced", ["nginx:1.27"]))
      assert.isTrue(yield* settle(Effect.map(phaseOf("unplaced"), (p) => p === "Failed"), 10))
      const failed = yield* getIc("unplaced")
      assert.strictEqual(failed.status?.reason, "CreateRefused")
      assert.include(failed.status?.message ?? "", "MissingParameter")
      securityGroupId = "sg-fixed"
      // Not before the retry interval…
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* phaseOf("unplaced"), "Failed")
      // …then it is created.
      assert.isTrue(yield* settle(Effect.map(phaseOf("unplaced"), (p) => p === "Ready"), 60))
    }).pipe(Effect.provide(harnessLayer({ seed: "refused" })), Random.withSeed("refused")))

  it.effect("garbage collection: a cache tagged with our cluster whose resource does not exist is deleted after the safety delay; others' caches are not", () =>
    run("gc", Effect.gen(function*() {
      const sim = yield* EciSimulator
      const tags = (uid: string, cluster = CLUSTER) => [
        { Key: "eci-virtual-node.io/cluster-id", Value: cluster },
        { Key: "eci-virtual-node.io/imagecache-uid", Value: uid }
      ]
      const create = (name: string, tag: ReturnType<typeof tags>) =>
        sim.call("CreateImageCache", { RegionId: "cn-hangzhou", ImageCacheName: name, Image: ["nginx"], SecurityGroupId: "sg-a", VSwitchId: "vsw-a", Tag: tag })
      const orphan = yield* create("orphan", tags("no-such-uid"))
      const foreign = yield* create("foreign", tags("no-such-uid", "another-cluster"))
      yield* makeRunner()
      yield* TestClock.adjust("6 seconds")
      assert.include((yield* eciCaches).map((c) => c.ImageCacheId), orphan.ImageCacheId, "spared while young")
      assert.isTrue(yield* settle(Effect.map(eciCaches, (c) => c.length === 0), 30))
      const all = yield* sim.call("DescribeImageCaches", { RegionId: "cn-hangzhou", Limit: 100 })
      assert.deepStrictEqual(all.ImageCaches?.map((c) => c.ImageCacheId), [foreign.ImageCacheId])
    })))

  it.effect("DescribeImageCaches stays well inside its quota: every 5 s while hot, once a minute when nothing changes", () =>
    run("cadence", Effect.gen(function*() {
      const kube = yield* Kube
      const calls = yield* EciCalls
      const describes = () => calls.filter((c) => c.action === "DescribeImageCaches").length
      yield* makeRunner({ node: controllerOptions.node }) // the production cadence (5 s hot, 60 s cold)
      for (const name of ["a", "b", "c"]) yield* kube.createImageCache(imageCache(name, [`registry.example.com/${name}:1`]))
      const allReady = Effect.map(Kube.use((k) => k.listImageCaches), (ics) => ics.every((ic) => ic.status?.phase === "Ready"))
      assert.isTrue(yield* settle(allReady, 30))
      yield* TestClock.adjust("2 minutes")
      // Hot for two minutes after the creates: a listing per 5 s (all caches in one call), plus the
      // lookup and the describe of each create.
      const hot = describes()
      assert.isAtMost(hot, 2 * 12 + 3 + 3 + 6)
      yield* TestClock.adjust("10 minutes")
      const cold = describes() - hot
      assert.isAtLeast(cold, 9)
      assert.isAtMost(cold, 11)
    })))

  it.effect("without the CRD the controller stays idle, says so once, and starts when the CRD appears", () =>
    run("no-crd", Effect.gen(function*() {
      const kube = yield* Kube
      let installed = false
      const logs: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => void logs.push(`${logLevel} ${Array.isArray(message) ? message.join(" ") : String(message)}`))
      const withoutCrd = Kube.of({
        ...kube,
        listImageCaches: Effect.suspend(() =>
          installed ? kube.listImageCaches : Effect.fail(new KubeNotFound({ kind: "", name: "", message: "the server could not find the requested resource" })))
      })
      yield* makeRunner().pipe(Effect.provideService(Kube, withoutCrd), Effect.provide(Logger.layer([capture])))
      yield* TestClock.adjust("3 minutes")
      const idle = logs.filter((l) => l.includes("idle"))
      assert.deepStrictEqual(idle, [
        "Warn image cache controller idle: the ImageCache CRD (imagecaches.eci.alibabacloud.com) is not installed; checking again every 1m"
      ])
      assert.notInclude(logs.join("\n"), "kube watch failed")
      installed = true
      yield* kube.createImageCache(imageCache("late", ["nginx:1.27"]))
      assert.isTrue(yield* settle(Effect.map(phaseOf("late"), (p) => p === "Ready"), 90))
    })))

  it.effect("a restart adopts the cache a crashed create made (found by its UID tag), without a second create", () =>
    run("adopt", Effect.gen(function*() {
      const kube = yield* Kube
      const sim = yield* EciSimulator
      // A resource as a crashed controller left it: finalizer and token written, cache created, status not.
      const created = yield* kube.createImageCache(imageCache("crashed", ["nginx:1.27"]))
      const held = yield* kube.patchImageCache("crashed", { metadata: { finalizers: [IMAGE_CACHE_FINALIZER], annotations: { [CLIENT_TOKEN_ANNOTATION]: "t-1" } } })
      const made = yield* sim.call("CreateImageCache", {
        RegionId: "cn-hangzhou",
        ImageCacheName: "crashed-before",
        Image: ["nginx:1.27"],
        SecurityGroupId: "sg-a",
        VSwitchId: "vsw-a",
        ClientToken: "t-1",
        Tag: [...cacheTags(CLUSTER, held)]
      })
      assert.strictEqual(held.metadata?.uid, created.metadata?.uid)
      yield* makeRunner()
      assert.isTrue(yield* settle(Effect.map(phaseOf("crashed"), (p) => p === "Ready"), 30))
      assert.strictEqual((yield* getIc("crashed")).status?.imageCacheId, made.ImageCacheId)
      assert.deepStrictEqual((yield* eciCaches).map((c) => c.ImageCacheId), [made.ImageCacheId])
    })))
})
