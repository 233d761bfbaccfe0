import { assert, describe, it } from "@effect/vitest"
import type { V1Pod } from "@kubernetes/client-node"
import { Effect } from "effect"
import { expect } from "vitest"
import {
  IMAGE_CACHE_NAME_ANNOTATION,
  resolveFromImageCache,
  resolveImageCacheAnnotation,
  withImageCache
} from "../../src/imagecache/podAnnotation.ts"
import type { ImageCache, ImageCacheStatus } from "../../src/kube/imageCache.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory } from "../../src/kube/kubeInMemory.ts"
import { parseAnnotations } from "../../src/translate/annotations.ts"
import { makeProblems } from "../../src/translate/refusals.ts"

const pod = (annotations: Record<string, string>): V1Pod => ({
  metadata: { namespace: "default", name: "web", annotations },
  spec: { containers: [{ name: "web", image: "nginx:1.27" }] }
})
const ic = (status?: ImageCacheStatus, deleting = false): ImageCache => ({
  metadata: { name: "base", ...(deleting ? { deletionTimestamp: new Date() } : {}) },
  spec: { images: ["nginx:1.27"] },
  ...(status === undefined ? {} : { status })
})
const named = pod({ [IMAGE_CACHE_NAME_ANNOTATION]: "base" })

describe("a pod naming an ImageCache", () => {
  it.each([
    ["no annotation", pod({}), ic({ phase: "Ready", imageCacheId: "imc-1" }), { _tag: "None" }],
    ["an explicit eci-imc-id wins", pod({ [IMAGE_CACHE_NAME_ANNOTATION]: "base", "k8s.aliyun.com/eci-imc-id": "imc-9" }), ic({ phase: "Ready", imageCacheId: "imc-1" }), { _tag: "None" }],
    ["an explicit eci-image-snapshot-id wins", pod({ [IMAGE_CACHE_NAME_ANNOTATION]: "base", "k8s.aliyun.com/eci-image-snapshot-id": "imc-9" }), undefined, { _tag: "None" }],
    ["Ready: its cache id", named, ic({ phase: "Ready", imageCacheId: "imc-1" }), { _tag: "Use", name: "base", imageCacheId: "imc-1" }],
    ["no such ImageCache", named, undefined, {
      _tag: "Skip",
      name: "base",
      reason: "ImageCacheNotFound",
      message: "ImageCache base does not exist; the pod is created without an image cache"
    }],
    ["still building", named, ic({ phase: "Creating", imageCacheId: "imc-1" }), {
      _tag: "Skip",
      name: "base",
      reason: "ImageCacheNotReady",
      message: "ImageCache base is Creating, not Ready; the pod is created without an image cache"
    }],
    ["Failed", named, ic({ phase: "Failed", imageCacheId: "imc-1", reason: "ImageNotFound" }), {
      _tag: "Skip",
      name: "base",
      reason: "ImageCacheNotReady",
      message: "ImageCache base is Failed (ImageNotFound), not Ready; the pod is created without an image cache"
    }],
    ["no status yet", named, ic(), {
      _tag: "Skip",
      name: "base",
      reason: "ImageCacheNotReady",
      message: "ImageCache base is Pending, not Ready; the pod is created without an image cache"
    }],
    ["being deleted", named, ic({ phase: "Ready", imageCacheId: "imc-1" }, true), {
      _tag: "Skip",
      name: "base",
      reason: "ImageCacheNotReady",
      message: "ImageCache base is being deleted, not Ready; the pod is created without an image cache"
    }]
  ])("%s", (_, p, found, expected) => {
    expect(resolveFromImageCache(p, found)).toEqual(expected)
  })

  it("the resolved id reaches the translator as ImageSnapshotId; nothing else changes", () => {
    const resolved = withImageCache(named, { _tag: "Use", name: "base", imageCacheId: "imc-1" })
    expect(parseAnnotations(resolved.metadata?.annotations ?? {}, makeProblems()).fields.ImageSnapshotId).toBe("imc-1")
    expect(withImageCache(named, { _tag: "Skip", name: "base", reason: "ImageCacheNotReady", message: "m" })).toBe(named)
    expect(named.metadata?.annotations?.["k8s.aliyun.com/eci-imc-id"]).toBeUndefined()
  })

  it.effect("reads the ImageCache through the Kube service (one GET, only when a pod names one)", () =>
    Effect.gen(function*() {
      const kube = yield* Kube
      assert.deepStrictEqual(yield* resolveImageCacheAnnotation(named), {
        _tag: "Skip",
        name: "base",
        reason: "ImageCacheNotFound",
        message: "ImageCache base does not exist; the pod is created without an image cache"
      })
      yield* kube.createImageCache({ metadata: { name: "base" }, spec: { images: ["nginx:1.27"] } })
      yield* kube.patchImageCacheStatus("base", { status: { phase: "Ready", imageCacheId: "imc-1" } })
      assert.deepStrictEqual(yield* resolveImageCacheAnnotation(named), { _tag: "Use", name: "base", imageCacheId: "imc-1" })
      assert.deepStrictEqual(yield* resolveImageCacheAnnotation(pod({})), { _tag: "None" })
    }).pipe(Effect.provide(KubeInMemory())))
})
