/**
 * k8s/imagecache-crd.yaml against what the code assumes of it: names, scope, subresource and
 * columns; and the in-memory API server's copy of its rules (src/kube/inMemory/imageCaches.ts) —
 * the same regular expressions, bounds, messages and phases. The Kube contract suite then checks the
 * messages against a real kube-apiserver with this file applied.
 */
import { loadYaml, type V1CustomResourceDefinition, type V1JSONSchemaProps } from "@kubernetes/client-node"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { IMAGE_CACHE_API } from "../../src/kube/imageCache.ts"
import { IMAGE_CACHE_MESSAGES, IMAGE_PATTERN, PHASES, PULL_SECRET_PATTERN } from "../../src/kube/inMemory/imageCaches.ts"

// client-node's model names: `_default`, `_enum`, `x_kubernetes_validations`, …
const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(join(import.meta.dirname, "../../k8s/imagecache-crd.yaml"), "utf8"))
const version = crd.spec.versions[0]!
const root: V1JSONSchemaProps = version.schema?.openAPIV3Schema ?? {}
const spec = root.properties?.["spec"] ?? {}
const status = root.properties?.["status"] ?? {}
const prop = (s: V1JSONSchemaProps, name: string): V1JSONSchemaProps => s.properties?.[name] ?? {}
/** `items` is untyped in the model, so it stays raw YAML (wire names): read both spellings. */
const items = (s: V1JSONSchemaProps): V1JSONSchemaProps => (s.items ?? {}) as V1JSONSchemaProps
type RawRules = { readonly "x-kubernetes-validations"?: ReadonlyArray<{ readonly rule: string; readonly message?: string }> }
const rules = (s: V1JSONSchemaProps) =>
  (s.x_kubernetes_validations ?? (s as RawRules)["x-kubernetes-validations"] ?? []).map((r) => ({ rule: r.rule, message: r.message }))

/** The regular expression inside `self.matches('…')`, with CEL's string escapes undone. */
const celPattern = (rule: string) => /self\.matches\('(.*)'\)/.exec(rule)?.[1]?.replace(/\\\\/g, "\\")

describe("the ImageCache CRD", () => {
  it("is imagecaches.eci.alibabacloud.com/v1, cluster-scoped, short name ic, with a status subresource", () => {
    expect(crd.metadata?.name).toBe(`${IMAGE_CACHE_API.plural}.${IMAGE_CACHE_API.group}`)
    expect([crd.spec.group, crd.spec.scope, crd.spec.names.plural, crd.spec.names.kind]).toEqual([
      IMAGE_CACHE_API.group,
      "Cluster",
      IMAGE_CACHE_API.plural,
      IMAGE_CACHE_API.kind
    ])
    expect(crd.spec.names.shortNames).toEqual(["ic"])
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[IMAGE_CACHE_API.version, true, true]])
    expect(version.subresources?.status).toEqual({})
  })

  it("prints phase, progress, cache id and age by default", () => {
    const columns = (version.additionalPrinterColumns ?? []).filter((c) => c.priority === undefined).map((c) => [c.name, c.jsonPath])
    expect(columns).toEqual([
      ["Phase", ".status.phase"],
      ["Progress", ".status.progress"],
      ["Cache-ID", ".status.imageCacheId"],
      ["Age", ".metadata.creationTimestamp"]
    ])
  })

  it("spec: images required (1–20, a set), pull secrets (≤20, a set), size defaulting to 20; immutable", () => {
    expect(root.required).toEqual(["spec"])
    expect(spec.required).toEqual(["images"])
    const images = prop(spec, "images")
    expect([images.minItems, images.maxItems, images.x_kubernetes_list_type, items(images).maxLength]).toEqual([1, 20, "set", 512])
    const secrets = prop(spec, "imagePullSecrets")
    expect([secrets.maxItems, secrets.x_kubernetes_list_type, items(secrets).maxLength]).toEqual([20, "set", 317])
    expect(prop(spec, "imageCacheSize")._default).toBe(20)
    expect(rules(spec)).toEqual([{ rule: "self == oldSelf", message: IMAGE_CACHE_MESSAGES.immutable }])
  })

  it("the in-memory API server checks the same CEL rules, with the same messages", () => {
    const imageRule = rules(items(prop(spec, "images")))[0]
    expect(celPattern(imageRule?.rule ?? "")).toBe(IMAGE_PATTERN)
    expect(imageRule?.message).toBe(IMAGE_CACHE_MESSAGES.image)
    const secretRule = rules(items(prop(spec, "imagePullSecrets")))[0]
    expect(celPattern(secretRule?.rule ?? "")).toBe(PULL_SECRET_PATTERN)
    expect(secretRule?.message).toBe(IMAGE_CACHE_MESSAGES.pullSecret)
    expect(rules(prop(spec, "imageCacheSize"))).toEqual([{ rule: "self >= 20 && self <= 32768", message: IMAGE_CACHE_MESSAGES.size }])
    expect(rules(prop(spec, "retentionDays"))).toEqual([{ rule: "self >= 1 && self <= 65536", message: IMAGE_CACHE_MESSAGES.retention }])
    expect(prop(status, "phase")._enum).toEqual(PHASES)
  })

  it("status has the fields the controller writes; times are date-times", () => {
    expect(Object.keys(status.properties ?? {}).sort()).toEqual(
      ["events", "expireDateTime", "imageCacheId", "lastUpdatedTime", "message", "phase", "progress", "reason", "startTime"]
    )
    for (const t of ["startTime", "lastUpdatedTime", "expireDateTime"]) expect(prop(status, t).format).toBe("date-time")
    expect(prop(status, "events").maxItems).toBe(50)
  })
})

describe("the image reference rule", () => {
  const re = new RegExp(IMAGE_PATTERN)
  it.each([
    "nginx",
    "nginx:1.27",
    "library/nginx:latest",
    "registry.example.com:5000/team/app:1.2",
    "registry-vpc.cn-hangzhou.aliyuncs.com/ns/app:v1.0.0-rc.1",
    "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "docker.io/library/nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  ])("accepts %s", (image) => {
    expect(re.test(image)).toBe(true)
  })
  it.each(["", "nginx 1.27", "nginx:", "nginx::1", "/nginx", "nginx@sha256:short", "nginx:bad tag"])("refuses %j", (image) => {
    expect(re.test(image)).toBe(false)
  })
})
