/**
 * ImageCaches end to end: a real control plane with the product's CRD, the ECI simulator on the
 * wire (fast profile), and the image cache controller (with the pod controller beside it) running in
 * this process against the live Kube layer and the live Eci layer (the real SDK, signed requests).
 * Users act through kubectl.
 */
import { assert, layer } from "@effect/vitest"
import type { V1Pod } from "@kubernetes/client-node"
import { Context, Effect, Layer, Redacted } from "effect"
import { CredentialsFromEnv } from "../../src/credentials/fromEnv.ts"
import { EciLive } from "../../src/eci/eciLive.ts"
import { serveSimulator, type SimulatorWire } from "../../src/eci/simulator/wireFace.ts"
import { accessKeyPair } from "../../src/eci/simulator/wireServer.ts"
import { runImageCacheController } from "../../src/imagecache/controller.ts"
import { IMAGE_CACHE_TAGS } from "../../src/imagecache/identity.ts"
import { IMAGE_CACHE_NAME_ANNOTATION, resolveImageCacheAnnotation, withImageCache } from "../../src/imagecache/podAnnotation.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeLive } from "../../src/kube/kubeLive.ts"
import { runPodController } from "../../src/pods/podController.ts"
import { ControlPlane } from "../../src/sandbox/controlPlane.ts"
import { k8sFile } from "../../src/sandbox/manifests.ts"
import type { NodeContext } from "../../src/translate/resolved.ts"
import { installImageCacheCrd } from "./fixtures/imageCacheCrd.ts"
import { applyObject, jsonPath, waitForPod } from "./fixtures/kubectl.ts"
import { waitFor } from "./fixtures/wait.ts"

const REGION = "cn-hangzhou"
const ACCESS_KEY_ID = "LTAI-imagecache-e2e"
const ACCESS_KEY_SECRET = "imagecache-e2e-secret"

const node: NodeContext = {
  clusterId: "c-e2e-imc",
  nodeName: "vn-imc-e2e",
  regionId: REGION,
  vSwitchIds: ["vsw-e2e"],
  securityGroupId: "sg-e2e",
  clusterDns: [],
  clusterDomain: "cluster.local"
}

/** The simulator on the wire, for looking behind the API (what ECI holds, what a pod was created from). */
class Wire extends Context.Service<Wire, SimulatorWire>()("test/e2e/ImageCacheWire") {}
/** The Kube service as the product's ServiceAccount. */
class ProductKube extends Context.Service<ProductKube, Kube["Service"]>()("test/e2e/ProductKube") {}

const world = Layer.unwrap(Effect.gen(function*() {
  const cp = yield* ControlPlane
  yield* installImageCacheCrd(cp).pipe(Effect.orDie)
  const wire = yield* serveSimulator({
    accessKeys: [accessKeyPair(ACCESS_KEY_ID, ACCESS_KEY_SECRET)],
    simulator: { profile: "fast", seed: "imagecache-e2e", regionId: REGION }
  }).pipe(Effect.orDie)
  // The image cache controller runs under the product's ServiceAccount with the shipped RBAC
  // (rbac.yaml + imagecache-rbac.yaml), so a missing permission fails here.
  yield* cp.kubectlOk(["apply", "-f", k8sFile("serviceaccount.yaml"), "-f", k8sFile("rbac.yaml"), "-f", k8sFile("imagecache-rbac.yaml")]).pipe(Effect.orDie)
  const asProduct = yield* Layer.build(KubeLive({ kubeconfigPath: yield* cp.serviceAccountKubeconfig("kube-system", "eci-virtual-node").pipe(Effect.orDie) }))
    .pipe(Effect.map(Context.get(Kube)), Effect.orDie)
  const eci = EciLive({ regionId: REGION, endpoint: wire.endpoint, protocol: "HTTP", connectTimeout: "5 seconds", readTimeout: "5 seconds" })
    .pipe(Layer.provide(CredentialsFromEnv({ accessKeyId: ACCESS_KEY_ID, accessKeySecret: Redacted.make(ACCESS_KEY_SECRET) })))
  const controllers = Layer.effectDiscard(Effect.all([
    Effect.forkScoped(
      runImageCacheController({ node, hotInterval: "1 second", resyncInterval: "5 seconds", orphanSafetyDelay: "30 seconds" })
        .pipe(Effect.provideService(Kube, asProduct))
    ),
    // The pod controller (only here to carry a pod's ImageSnapshotId to ECI) as admin: its RBAC is not under test.
    Effect.forkScoped(runPodController({ node }))
  ]))
  const kube = KubeLive({ kubeconfigPath: cp.kubeconfigPath })
  return controllers.pipe(Layer.provideMerge(Layer.mergeAll(kube, eci, Layer.succeed(Wire, wire), Layer.succeed(ProductKube, asProduct))))
})).pipe(Layer.provideMerge(ControlPlane.layer()))

/** Our caches as the simulator holds them. */
const simulatorCaches = Effect.gen(function*() {
  const wire = yield* Wire
  const page = yield* wire.simulator.call("DescribeImageCaches", {
    RegionId: REGION,
    Tag: [{ Key: IMAGE_CACHE_TAGS.clusterId, Value: node.clusterId }],
    Limit: 100
  }).pipe(Effect.orDie)
  return page.ImageCaches ?? []
})

const manifest = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: "eci.alibabacloud.com/v1", kind: "ImageCache", metadata: { name }, spec })

layer(world, { excludeTestServices: true, timeout: "30 minutes" })("ImageCache end to end", (it) => {
  it.effect("kubectl apply → `kubectl get ic` shows it Ready with an id; a pod created from it gets ImageSnapshotId; kubectl delete removes the cache from ECI", () =>
    Effect.gen(function*() {
      const cp = yield* ControlPlane
      const wire = yield* Wire
      yield* cp.kubectlOk(["apply", "-f", "-"], { stdin: manifest("base", { images: ["nginx:1.27", "registry.example.com/team/app:1.2"], retentionDays: 7 }) })

      const ready = yield* waitFor(
        cp.kubectlOk(["get", "ic", "base", "--no-headers"]),
        (line) => /\bReady\b/.test(line) && /\bimc-[0-9a-z]+\b/.test(line),
        { description: "kubectl get ic base: Ready with a cache id", timeout: "60 seconds" }
      )
      const [name, phase, progress, id] = ready.trim().split(/\s+/)
      assert.deepStrictEqual([name, phase, progress], ["base", "Ready", "100%"])
      assert.match(id ?? "", /^imc-[0-9a-z]+$/)
      const header = yield* cp.kubectlOk(["get", "ic"])
      assert.match(header.split("\n")[0] ?? "", /^NAME\s+PHASE\s+PROGRESS\s+CACHE-ID\s+AGE$/)
      assert.deepStrictEqual((yield* simulatorCaches).map((c) => [c.ImageCacheId, c.Status]), [[id, "Ready"]])
      const described = yield* cp.kubectlOk(["describe", "ic", "base"])
      assert.include(described, "ImageCacheCreated")

      // A pod naming the ImageCache: the resolution the pod controller does before translation,
      // against the live API server; the pod then carries the id into CreateContainerGroup.
      yield* cp.ensureNamespace("imc-e2e").pipe(Effect.orDie)
      const pod: V1Pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { namespace: "imc-e2e", name: "from-cache", annotations: { [IMAGE_CACHE_NAME_ANNOTATION]: "base" } },
        spec: { nodeName: node.nodeName, containers: [{ name: "web", image: "nginx:1.27" }] }
      }
      const resolution = yield* resolveImageCacheAnnotation(pod).pipe(Effect.provideService(Kube, yield* ProductKube))
      assert.deepStrictEqual(resolution, { _tag: "Use", name: "base", imageCacheId: id! })
      yield* applyObject(cp, withImageCache(pod, resolution)).pipe(Effect.orDie)
      const created = yield* waitForPod(cp, "imc-e2e", "from-cache", (p) => p.metadata?.annotations?.["k8s.aliyun.com/eci-instance-id"] !== undefined, {
        description: "the pod's container group is created",
        timeout: "60 seconds"
      })
      const groupId = created.metadata?.annotations?.["k8s.aliyun.com/eci-instance-id"] ?? ""
      const request = yield* wire.simulator.admin.createRequestOf(groupId).pipe(Effect.orDie)
      assert.strictEqual(request.ImageSnapshotId, id)
      // ECI used it (the event writeBack.ts turns into k8s.aliyun.com/eci-matched-image-cache).
      const group = yield* wire.simulator.call("DescribeContainerGroups", {
        RegionId: REGION,
        ContainerGroupIds: JSON.stringify([groupId]),
        WithEvent: true
      }).pipe(Effect.orDie)
      const hit = group.ContainerGroups?.[0]?.Events?.find((e) => e.Reason === "SuccessfulHitImageCache")
      assert.include(hit?.Message ?? "", `Successfully hit image cache ${id}`)
      yield* cp.kubectlOk(["-n", "imc-e2e", "delete", "pod", "from-cache", "--wait=false"])

      yield* cp.kubectlOk(["delete", "ic", "base", "--timeout=60s"])
      assert.strictEqual(yield* jsonPath(cp, ["ic"], "{.items[*].metadata.name}"), "")
      assert.deepStrictEqual(yield* simulatorCaches, [])
    }))

  it.effect("an image that cannot be pulled shows Failed with the reason in `kubectl get ic -o wide`", () =>
    Effect.gen(function*() {
      const cp = yield* ControlPlane
      yield* cp.kubectlOk(["apply", "-f", "-"], { stdin: manifest("broken", { images: ["registry.example.com/team/does-not-exist:1"] }) })
      const line = yield* waitFor(
        cp.kubectlOk(["get", "ic", "broken", "-o", "wide", "--no-headers"]),
        (l) => /\bFailed\b/.test(l),
        { description: "kubectl get ic broken: Failed", timeout: "60 seconds" }
      )
      assert.include(line, "ImageNotFound")
      assert.include(yield* jsonPath(cp, ["ic", "broken"], "{.status.message}"), `Failed to pull image "registry.example.com/team/does-not-exist:1": not found`)
      yield* cp.kubectlOk(["delete", "ic", "broken", "--timeout=60s"])
      const left = (yield* simulatorCaches).filter((c) => c.Tags?.some((t) => t.Key === IMAGE_CACHE_TAGS.name && t.Value === "broken"))
      assert.deepStrictEqual(left, [])
    }))

  it.effect("a spec with imageCacheSize: 5 is refused by the API server with a clear message", () =>
    Effect.gen(function*() {
      const cp = yield* ControlPlane
      const refused = yield* cp.kubectl(["apply", "-f", "-"], { stdin: manifest("small", { images: ["nginx:1.27"], imageCacheSize: 5 }) })
      assert.notStrictEqual(refused.exitCode, 0)
      assert.include(refused.stderr, `The ImageCache "small" is invalid: spec.imageCacheSize: Invalid value: 5: imageCacheSize is in GiB and must be between 20 and 32768`)
      const none = yield* cp.kubectl(["get", "ic", "small"])
      assert.include(none.stderr, "NotFound")
    }))
})
