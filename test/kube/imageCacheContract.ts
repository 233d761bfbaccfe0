/**
 * The ImageCache part of the Kube contract (contract.ts): the custom resource as kube-apiserver
 * serves it with k8s/imagecache-crd.yaml installed — schema and CEL rules, defaulting, the status
 * subresource, finalizers and deletion, and the resumable watch. Same assertions on both layers.
 */
import { assert, type Vitest } from "@effect/vitest"
import { type Cause, Effect, type Scope, type Stream } from "effect"
import type { ImageCache, ImageCacheWatchEvent } from "../../src/kube/imageCache.ts"
import { Kube, type KubeError } from "../../src/kube/Kube.ts"
import type { ContractAdmin } from "./contract.ts"

interface Helpers {
  readonly subscribe: <A>(stream: Stream.Stream<A, KubeError>) => Effect.Effect<{
    readonly next: Effect.Effect<A, KubeError | Cause.Done>
    readonly until: (predicate: (a: A) => boolean) => Effect.Effect<A, KubeError | Cause.Done>
  }, never, Scope.Scope>
  readonly failureOf: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<E>
}

/** Specs the schema refuses are the point of some tests, hence the loose type. */
const imageCache = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): ImageCache =>
  ({ metadata: { name, labels: { "contract.example/suite": "kube" } }, spec, ...extra }) as unknown as ImageCache

const isChange = (type: "Added" | "Modified" | "Deleted", name: string) => (e: ImageCacheWatchEvent) =>
  e.type === type && e.imageCache.metadata?.name === name

const changed = (e: ImageCacheWatchEvent): ImageCache => {
  if (e.type === "Snapshot") throw new Error("expected a change, got a Snapshot")
  return e.imageCache
}

const invalidMessage = (e: KubeError) => (e._tag === "KubeApiError" ? [e.status, e.reason, e.message] as const : [0, e._tag, e.message] as const)

export const imageCacheContract = (it: Vitest.MethodsNonLive<Kube | ContractAdmin>, { failureOf, subscribe }: Helpers) => {
  it.effect("ImageCache: create defaults imageCacheSize and drops status; get and list; the watch sees Snapshot, Added, Modified, Deleted", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      yield* kube.createImageCache(imageCache("kc-ic-before", { images: ["nginx:1.27"] }))
      const watch = yield* subscribe(kube.watchImageCaches)
      const snapshot = yield* watch.next
      assert.strictEqual(snapshot.type, "Snapshot")
      assert.include(snapshot.type === "Snapshot" ? snapshot.imageCaches.map((c) => c.metadata?.name) : [], "kc-ic-before")

      const created = yield* kube.createImageCache(
        imageCache("kc-ic-watch", { images: ["registry.example.com:5000/team/app:1.2", "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"] }, {
          status: { phase: "Ready", imageCacheId: "imc-forged" }
        })
      )
      assert.strictEqual(created.apiVersion, "eci.alibabacloud.com/v1")
      assert.strictEqual(created.kind, "ImageCache")
      assert.strictEqual(created.spec?.imageCacheSize, 20)
      assert.isUndefined(created.status, "status is set through the status subresource only")
      assert.strictEqual(created.metadata?.generation, 1)
      assert.instanceOf(created.metadata?.creationTimestamp, Date)
      assert.isUndefined(created.metadata?.namespace)
      const added = changed(yield* watch.until(isChange("Added", "kc-ic-watch")))
      assert.strictEqual(added.metadata?.uid, created.metadata?.uid)

      const got = yield* kube.getImageCache("kc-ic-watch")
      assert.deepStrictEqual(got.spec?.images, created.spec?.images)
      const listed = yield* kube.listImageCaches
      assert.includeMembers(listed.map((c) => c.metadata?.name), ["kc-ic-before", "kc-ic-watch"])

      yield* kube.patchImageCacheStatus("kc-ic-watch", { status: { phase: "Creating", progress: "10%" } })
      const modified = changed(yield* watch.until(isChange("Modified", "kc-ic-watch")))
      assert.deepStrictEqual([modified.status?.phase, modified.status?.progress], ["Creating", "10%"])

      yield* kube.deleteImageCache("kc-ic-watch")
      const deleted = changed(yield* watch.until(isChange("Deleted", "kc-ic-watch")))
      assert.strictEqual(deleted.metadata?.uid, created.metadata?.uid)
      const gone = yield* failureOf(kube.getImageCache("kc-ic-watch"))
      assert.deepStrictEqual(gone._tag === "KubeNotFound" ? [gone.kind, gone.name] : [gone._tag], ["imagecaches", "kc-ic-watch"])
      const again = yield* failureOf(kube.deleteImageCache("kc-ic-watch"))
      assert.strictEqual(again._tag, "KubeNotFound")
      yield* kube.deleteImageCache("kc-ic-before")
    }))

  it.effect("ImageCache: the CRD refuses a bad spec with its own message; the spec is immutable; a duplicate is AlreadyExists", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const small = yield* failureOf(kube.createImageCache(imageCache("kc-ic-small", { images: ["nginx"], imageCacheSize: 5 })))
      const [status, reason, message] = invalidMessage(small)
      assert.deepStrictEqual([status, reason], [422, "Invalid"])
      assert.include(message, "kc-ic-small")
      assert.include(message, "spec.imageCacheSize: Invalid value: 5: imageCacheSize is in GiB and must be between 20 and 32768")

      const secret = invalidMessage(yield* failureOf(kube.createImageCache(imageCache("kc-ic-secret", { images: ["nginx"], imagePullSecrets: ["just-a-name"] }))))
      assert.include(secret[2], `spec.imagePullSecrets[0]: Invalid value: "just-a-name": must be namespace:secretName`)
      const image = invalidMessage(yield* failureOf(kube.createImageCache(imageCache("kc-ic-image", { images: ["nginx 1.27"] }))))
      assert.include(image[2], `spec.images[0]: Invalid value: "nginx 1.27": must be an image reference`)
      const retention = invalidMessage(yield* failureOf(kube.createImageCache(imageCache("kc-ic-retention", { images: ["nginx"], retentionDays: 0 }))))
      assert.include(retention[2], "spec.retentionDays: Invalid value: 0: retentionDays must be between 1 and 65536")
      const empty = invalidMessage(yield* failureOf(kube.createImageCache(imageCache("kc-ic-empty", { images: [] }))))
      assert.include(empty[2], "spec.images in body should have at least 1 items")
      assert.strictEqual((yield* failureOf(kube.getImageCache("kc-ic-small")))._tag, "KubeNotFound")

      const ok = yield* kube.createImageCache(imageCache("kc-ic-fixed", { images: ["nginx:1.27"], imagePullSecrets: ["default:regcred"], imageCacheSize: 32768, retentionDays: 7 }))
      assert.deepStrictEqual([ok.spec?.imageCacheSize, ok.spec?.retentionDays], [32768, 7])
      const immutable = invalidMessage(yield* failureOf(kube.patchImageCache("kc-ic-fixed", { spec: { images: ["redis"] } })))
      assert.strictEqual(immutable[0], 422)
      assert.include(immutable[2], "spec is immutable; delete the ImageCache and create it again to change it")
      // Metadata may change; re-sending the same spec is no change.
      const labelled = yield* kube.patchImageCache("kc-ic-fixed", { metadata: { labels: { tier: "base" } }, spec: { images: ["nginx:1.27"] } })
      assert.strictEqual(labelled.metadata?.labels?.["tier"], "base")
      assert.strictEqual(labelled.metadata?.generation, 1)

      const dup = yield* failureOf(kube.createImageCache(imageCache("kc-ic-fixed", { images: ["nginx:1.27"] })))
      assert.deepStrictEqual(dup._tag === "KubeConflict" ? [dup.kind, dup.name, dup.reason] : [dup._tag], ["imagecaches", "kc-ic-fixed", "AlreadyExists"])
      yield* kube.deleteImageCache("kc-ic-fixed")
    }))

  it.effect("ImageCache: the status subresource changes only status, the main resource never status; a stale resourceVersion is a KubeConflict", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const created = yield* kube.createImageCache(imageCache("kc-ic-status", { images: ["nginx:1.27"] }))
      const viaStatus = yield* kube.patchImageCacheStatus("kc-ic-status", {
        metadata: { labels: { via: "status" }, finalizers: ["contract.example/ignored"] },
        spec: { images: ["ignored"] },
        status: { phase: "Ready", progress: "100%", imageCacheId: "imc-1", startTime: "2030-01-01T00:00:00.500Z", events: [{ type: "Normal", reason: "Created", count: 1 }] }
      })
      assert.deepStrictEqual([viaStatus.status?.phase, viaStatus.status?.imageCacheId], ["Ready", "imc-1"])
      // Custom resources keep the value as sent (no second-precision truncation outside metadata).
      assert.strictEqual(viaStatus.status?.startTime, "2030-01-01T00:00:00.500Z")
      assert.deepStrictEqual(viaStatus.status?.events, [{ type: "Normal", reason: "Created", count: 1 }])
      assert.isUndefined(viaStatus.metadata?.labels?.["via"])
      assert.isUndefined(viaStatus.metadata?.finalizers)
      assert.deepStrictEqual(viaStatus.spec?.images, ["nginx:1.27"])
      assert.strictEqual(viaStatus.metadata?.generation, 1)

      const bogus = invalidMessage(yield* failureOf(kube.patchImageCacheStatus("kc-ic-status", { status: { phase: "Bogus" } })))
      assert.strictEqual(bogus[0], 422)
      assert.include(bogus[2], `status.phase: Unsupported value: "Bogus"`)

      const viaMain = yield* kube.patchImageCache("kc-ic-status", { metadata: { annotations: { a: "1" } }, status: { phase: "Failed" } })
      assert.strictEqual(viaMain.metadata?.annotations?.["a"], "1")
      assert.strictEqual(viaMain.status?.phase, "Ready")
      // A null removes a field of status (merge patch).
      const cleared = yield* kube.patchImageCacheStatus("kc-ic-status", { status: { imageCacheId: null } })
      assert.isUndefined(cleared.status?.imageCacheId)
      assert.strictEqual(cleared.status?.phase, "Ready")

      const stale = yield* failureOf(
        kube.patchImageCache("kc-ic-status", { metadata: { resourceVersion: created.metadata?.resourceVersion, annotations: { b: "2" } } })
      )
      assert.deepStrictEqual(stale._tag === "KubeConflict" ? [stale.kind, stale.name, stale.reason] : [stale._tag], ["imagecaches", "kc-ic-status", "Conflict"])
      const staleStatus = yield* failureOf(
        kube.patchImageCacheStatus("kc-ic-status", { metadata: { resourceVersion: created.metadata?.resourceVersion }, status: { phase: "Failed" } })
      )
      assert.strictEqual(staleStatus._tag, "KubeConflict")
      const current = yield* kube.getImageCache("kc-ic-status")
      const fresh = yield* kube.patchImageCache("kc-ic-status", { metadata: { resourceVersion: current.metadata?.resourceVersion, annotations: { b: "2" } } })
      assert.strictEqual(fresh.metadata?.annotations?.["b"], "2")
      assert.strictEqual((yield* failureOf(kube.patchImageCacheStatus("kc-ic-missing", { status: { phase: "Ready" } })))._tag, "KubeNotFound")
      yield* kube.deleteImageCache("kc-ic-status")
    }))

  it.effect("ImageCache: a finalizer holds a deleted ImageCache (deletionTimestamp, Modified) until it is removed (Deleted); none may be added meanwhile", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      const watch = yield* subscribe(kube.watchImageCaches)
      yield* watch.until((e) => e.type === "Snapshot")
      yield* kube.createImageCache(imageCache("kc-ic-final", { images: ["nginx:1.27"] }, {}))
      const held = yield* kube.patchImageCache("kc-ic-final", { metadata: { finalizers: ["contract.example/hold"] } })
      assert.deepStrictEqual(held.metadata?.finalizers, ["contract.example/hold"])

      yield* kube.deleteImageCache("kc-ic-final")
      const marked = changed(yield* watch.until((e) => isChange("Modified", "kc-ic-final")(e) && changed(e).metadata?.deletionTimestamp !== undefined))
      assert.instanceOf(marked.metadata?.deletionTimestamp, Date)
      assert.strictEqual(marked.metadata?.deletionGracePeriodSeconds, 0)
      assert.strictEqual(marked.metadata?.generation, 2)
      // Deleting again changes nothing; status still takes writes while the object waits.
      yield* kube.deleteImageCache("kc-ic-final")
      const written = yield* kube.patchImageCacheStatus("kc-ic-final", { status: { phase: "Ready" } })
      assert.strictEqual(written.status?.phase, "Ready")

      const added = invalidMessage(yield* failureOf(
        kube.patchImageCache("kc-ic-final", { metadata: { finalizers: ["contract.example/hold", "contract.example/late"] } })
      ))
      assert.strictEqual(added[0], 422)
      assert.include(added[2], `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"contract.example/late"}`)

      yield* kube.patchImageCache("kc-ic-final", { metadata: { finalizers: null } })
      yield* watch.until(isChange("Deleted", "kc-ic-final"))
      assert.strictEqual((yield* failureOf(kube.getImageCache("kc-ic-final")))._tag, "KubeNotFound")
    }))
}
