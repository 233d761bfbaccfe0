import type { V1Pod } from "@kubernetes/client-node"
import { JsonPatch, type Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { mutatePod, type Steering } from "../../src/webhook/mutation.ts"
import { type EciProfile, emptyProfile, type ProfileSelector } from "../../src/webhook/profile.ts"

const steering: Steering = {
  nodeSelector: { type: "virtual-kubelet" },
  toleration: { key: "virtual-kubelet.io/provider", value: "alibabacloud", effect: "NoSchedule" }
}
const toleration = { key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud", effect: "NoSchedule" }

const pod = (extra: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Record<string, unknown> } = {}): V1Pod => ({
  metadata: {
    name: "web",
    namespace: "apps",
    ...(extra.labels === undefined ? {} : { labels: extra.labels }),
    ...(extra.annotations === undefined ? {} : { annotations: extra.annotations })
  },
  spec: { containers: [{ name: "c", image: "nginx" }], ...extra.spec }
})

const selector = (s: Partial<ProfileSelector> & { name: string }): ProfileSelector => ({
  namespaceSelector: undefined,
  objectSelector: undefined,
  effect: { annotations: {}, labels: {} },
  ...s
})
const profileOf = (...selectors: Array<ProfileSelector>): EciProfile => ({ ...emptyProfile, selectors })

const apply = (p: V1Pod, patch: ReadonlyArray<JsonPatch.JsonPatchOperation>) =>
  JsonPatch.apply(patch, JSON.parse(JSON.stringify(p)) as Schema.Json) as V1Pod

const steerOps = [
  { op: "add", path: "/spec/nodeSelector", value: { type: "virtual-kubelet" } },
  { op: "add", path: "/spec/tolerations", value: [toleration] }
]

interface Row {
  readonly name: string
  readonly pod: V1Pod
  readonly namespace?: { name: string; labels: Record<string, string> }
  readonly profile?: EciProfile
  readonly patch: ReadonlyArray<unknown>
  readonly warnings?: ReadonlyArray<string>
}

const apps = (labels: Record<string, string> = {}) => ({ name: "apps", labels: { "kubernetes.io/metadata.name": "apps", ...labels } })

const gpu = selector({
  name: "gpu",
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "apps" }, matchExpressions: [] },
  objectSelector: { matchLabels: { app: "trainer" }, matchExpressions: [] },
  effect: { annotations: { "k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge" }, labels: { "eci.example.com/gpu": "true" } }
})

const rows: ReadonlyArray<Row> = [
  // pod labels × namespace labels
  { name: "pod label eci=true", pod: pod({ labels: { eci: "true" } }), patch: steerOps },
  { name: "pod label alibabacloud.com/eci=true", pod: pod({ labels: { "alibabacloud.com/eci": "true" } }), patch: steerOps },
  { name: "namespace label eci=true", pod: pod(), namespace: apps({ eci: "true" }), patch: steerOps },
  { name: "namespace label alibabacloud.com/eci=true", pod: pod(), namespace: apps({ "alibabacloud.com/eci": "true" }), patch: steerOps },
  { name: "both pod and namespace labelled", pod: pod({ labels: { eci: "true" } }), namespace: apps({ eci: "true" }), patch: steerOps },
  { name: "pod label eci=false", pod: pod({ labels: { eci: "false" } }), patch: [] },
  { name: "pod label eci=True (values are exact)", pod: pod({ labels: { eci: "True" } }), patch: [] },
  { name: "unlabelled pod in an unlabelled namespace", pod: pod({ labels: { app: "web" } }), patch: [] },
  { name: "namespace labelled for something else", pod: pod(), namespace: apps({ team: "eci" }), patch: [] },
  { name: "kube-system is excluded, pod label", pod: pod({ labels: { eci: "true" } }), namespace: { name: "kube-system", labels: {} }, patch: [] },
  {
    name: "kube-system is excluded, namespace label",
    pod: pod(),
    namespace: { name: "kube-system", labels: { "alibabacloud.com/eci": "true" } },
    patch: []
  },
  // existing nodeSelector
  {
    name: "existing nodeSelector keeps its keys",
    pod: pod({ labels: { eci: "true" }, spec: { nodeSelector: { "disk/type": "ssd" } } }),
    patch: [{ op: "add", path: "/spec/nodeSelector/type", value: "virtual-kubelet" }, steerOps[1]]
  },
  {
    name: "nodeSelector already type=virtual-kubelet",
    pod: pod({ labels: { eci: "true" }, spec: { nodeSelector: { type: "virtual-kubelet" } } }),
    patch: [steerOps[1]]
  },
  {
    name: "user's nodeSelector type=gpu is kept, with a warning",
    pod: pod({ labels: { eci: "true" }, spec: { nodeSelector: { type: "gpu" } } }),
    patch: [steerOps[1]],
    warnings: [
      "pod asks for ECI (pod label eci=true) but its nodeSelector sets type=gpu; kept as set, so the pod will not be scheduled onto the virtual node (type=virtual-kubelet)"
    ]
  },
  // existing tolerations
  {
    name: "other tolerations are kept; ours is appended",
    pod: pod({ labels: { eci: "true" }, spec: { tolerations: [{ key: "dedicated", operator: "Exists" }] } }),
    patch: [steerOps[0], { op: "add", path: "/spec/tolerations/-", value: toleration }]
  },
  {
    name: "already tolerated with Equal",
    pod: pod({ labels: { eci: "true" }, spec: { tolerations: [toleration] } }),
    patch: [steerOps[0]]
  },
  {
    name: "already tolerated with Exists on the key (no effect)",
    pod: pod({ labels: { eci: "true" }, spec: { tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists" }] } }),
    patch: [steerOps[0]]
  },
  {
    name: "tolerates everything (empty key, Exists)",
    pod: pod({ labels: { eci: "true" }, spec: { tolerations: [{ operator: "Exists" }] } }),
    patch: [steerOps[0]]
  },
  {
    name: "a toleration with another value does not count",
    pod: pod({ labels: { eci: "true" }, spec: { tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Equal", value: "azure" }] } }),
    patch: [steerOps[0], { op: "add", path: "/spec/tolerations/-", value: toleration }]
  },
  {
    name: "a toleration for another effect does not count",
    pod: pod({ labels: { eci: "true" }, spec: { tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoExecute" }] } }),
    patch: [steerOps[0], { op: "add", path: "/spec/tolerations/-", value: toleration }]
  },
  // profile selectors
  {
    name: "a matching selector steers and adds its effect (pod without labels map gets one)",
    pod: pod({ labels: { app: "trainer" } }),
    namespace: apps(),
    profile: profileOf(gpu),
    patch: [
      { op: "add", path: "/metadata/labels/eci.example.com~1gpu", value: "true" },
      { op: "add", path: "/metadata/annotations", value: { "k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge" } },
      ...steerOps
    ]
  },
  {
    name: "both selectors must match: right pod, wrong namespace",
    pod: pod({ labels: { app: "trainer" } }),
    namespace: { name: "other", labels: { "kubernetes.io/metadata.name": "other" } },
    profile: profileOf(gpu),
    patch: []
  },
  {
    name: "both selectors must match: right namespace, wrong pod",
    pod: pod({ labels: { app: "web" } }),
    namespace: apps(),
    profile: profileOf(gpu),
    patch: []
  },
  {
    name: "effects never overwrite the pod's annotations and labels",
    pod: pod({ labels: { app: "trainer", "eci.example.com/gpu": "false" }, annotations: { "k8s.aliyun.com/eci-use-specs": "2-4Gi" } }),
    namespace: apps(),
    profile: profileOf(gpu),
    patch: steerOps
  },
  {
    name: "earlier selectors win",
    pod: pod({ labels: { app: "trainer" } }),
    namespace: apps(),
    profile: profileOf(
      selector({ name: "first", objectSelector: { matchLabels: { app: "trainer" }, matchExpressions: [] }, effect: { annotations: { a: "first" }, labels: {} } }),
      selector({ name: "second", objectSelector: { matchLabels: { app: "trainer" }, matchExpressions: [] }, effect: { annotations: { a: "second", b: "second" }, labels: {} } })
    ),
    patch: [{ op: "add", path: "/metadata/annotations", value: { a: "first", b: "second" } }, ...steerOps]
  },
  {
    name: "namespace-only selector with matchExpressions",
    pod: pod(),
    namespace: apps({ tier: "batch" }),
    profile: profileOf(selector({
      name: "batch",
      namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: "tier", operator: "In", values: ["batch", "spot"] }] }
    })),
    patch: steerOps
  },
  {
    name: "selector chain: a later selector's label makes an earlier one match (one pass, fixpoint)",
    pod: pod({ labels: { app: "web" } }),
    profile: profileOf(
      selector({ name: "needs-spot", objectSelector: { matchLabels: { spot: "yes" }, matchExpressions: [] }, effect: { annotations: { "k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo" }, labels: {} } }),
      selector({ name: "web", objectSelector: { matchLabels: { app: "web" }, matchExpressions: [] }, effect: { annotations: {}, labels: { spot: "yes" } } })
    ),
    patch: [
      { op: "add", path: "/metadata/labels/spot", value: "yes" },
      { op: "add", path: "/metadata/annotations", value: { "k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo" } },
      ...steerOps
    ]
  },
  {
    name: "label keys with ~ and / are escaped",
    pod: pod({ labels: { eci: "true" } }),
    profile: profileOf(selector({ name: "odd", objectSelector: { matchLabels: { eci: "true" }, matchExpressions: [] }, effect: { annotations: {}, labels: { "a~b/c": "1" } } })),
    patch: [{ op: "add", path: "/metadata/labels/a~0b~1c", value: "1" }, ...steerOps]
  },
  // pods that must not be steered
  {
    name: "DaemonSet pods stay on their node",
    pod: { ...pod(), metadata: { name: "ds-x", ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "ds", uid: "u", controller: true }] } },
    namespace: apps({ eci: "true" }),
    patch: []
  },
  {
    name: "a pod bound with spec.nodeName is left alone, with a warning",
    pod: pod({ labels: { eci: "true" }, spec: { nodeName: "worker-1" } }),
    patch: [],
    warnings: ["pod asks for ECI (pod label eci=true) but spec.nodeName is set to worker-1; not steered"]
  }
]

describe("mutatePod", () => {
  it.each(rows)("$name", (row) => {
    const input = { pod: row.pod, namespace: row.namespace ?? apps(), profile: row.profile ?? emptyProfile, steering }
    const result = mutatePod(input)
    expect(result.patch).toEqual(row.patch)
    expect(result.warnings).toEqual(row.warnings ?? [])
    expect(result.applied.length > 0).toBe(row.patch.length > 0)
    // idempotent: the patched pod needs nothing more
    const patched = apply(row.pod, result.patch)
    expect(mutatePod({ ...input, pod: patched }).patch).toEqual([])
  })

  it("says why and what, for the log", () => {
    const result = mutatePod({ pod: pod({ labels: { app: "trainer", eci: "true" } }), namespace: apps(), profile: profileOf(gpu), steering })
    expect(result.steeredBy).toEqual(["pod label eci=true", "eci-profile selector gpu"])
    expect(result.applied).toEqual([
      "label eci.example.com/gpu=true (eci-profile selector gpu)",
      "annotation k8s.aliyun.com/eci-use-specs=ecs.gn6i-c4g1.xlarge (eci-profile selector gpu)",
      "nodeSelector type=virtual-kubelet",
      "toleration virtual-kubelet.io/provider=alibabacloud:NoSchedule"
    ])
  })

  it("never removes or changes what the pod has, and a second pass adds nothing (property)", () => {
    const key = fc.constantFrom("eci", "alibabacloud.com/eci", "app", "a/b", "t~x", "type")
    const value = fc.constantFrom("true", "false", "web", "gpu")
    const labels = fc.dictionary(key, value, { maxKeys: 3 })
    const req = fc.record({ key, operator: fc.constantFrom("In" as const, "NotIn" as const, "Exists" as const, "DoesNotExist" as const), values: fc.array(value, { minLength: 1, maxLength: 2 }) })
      .map((r) => (r.operator === "Exists" || r.operator === "DoesNotExist" ? { ...r, values: [] } : r))
    const labelSelector = fc.option(fc.record({ matchLabels: fc.dictionary(key, value, { maxKeys: 2 }), matchExpressions: fc.array(req, { maxLength: 2 }) }), { nil: undefined })
    const sel = fc.record({
      namespaceSelector: labelSelector,
      objectSelector: labelSelector,
      effect: fc.record({ annotations: fc.dictionary(key, value, { maxKeys: 2 }), labels: fc.dictionary(key, value, { maxKeys: 2 }) })
    })
    const tol = fc.record({ key: fc.constantFrom("virtual-kubelet.io/provider", "other"), operator: fc.constantFrom("Equal", "Exists"), value: fc.constantFrom("alibabacloud", "x") })
    fc.assert(fc.property(
      fc.option(labels, { nil: undefined }),
      fc.option(labels, { nil: undefined }),
      labels,
      fc.option(fc.dictionary(key, value, { maxKeys: 2 }), { nil: undefined }),
      fc.option(fc.array(tol, { maxLength: 2 }), { nil: undefined }),
      fc.array(sel, { maxLength: 3 }),
      (podLabels, podAnnotations, nsLabels, nodeSelector, tolerations, selectors) => {
        const original = pod({
          ...(podLabels === undefined ? {} : { labels: podLabels }),
          ...(podAnnotations === undefined ? {} : { annotations: podAnnotations }),
          spec: { ...(nodeSelector === undefined ? {} : { nodeSelector }), ...(tolerations === undefined ? {} : { tolerations }) }
        })
        const profile = profileOf(...selectors.map((s, i) => selector({ name: `s${i}`, ...s })))
        const input = { pod: original, namespace: { name: "apps", labels: nsLabels }, profile, steering }
        const { patch } = mutatePod(input)
        expect(patch.every((op) => op.op === "add")).toBe(true)
        const patched = apply(original, patch)
        // everything the pod had is still there, unchanged
        for (const [k, v] of Object.entries(podLabels ?? {})) expect(patched.metadata?.labels?.[k]).toBe(v)
        for (const [k, v] of Object.entries(podAnnotations ?? {})) expect(patched.metadata?.annotations?.[k]).toBe(v)
        for (const [k, v] of Object.entries(nodeSelector ?? {})) expect(patched.spec?.nodeSelector?.[k]).toBe(v)
        expect(patched.spec?.tolerations?.slice(0, tolerations?.length ?? 0)).toEqual(tolerations ?? (patched.spec?.tolerations === undefined ? undefined : []))
        expect(mutatePod({ ...input, pod: patched }).patch).toEqual([])
      }
    ), { numRuns: 3000, seed: 20260301 })
  })
})
