import { readFileSync } from "node:fs"
import { join } from "node:path"
import { loadAllYaml, type V1MutatingWebhook, type V1MutatingWebhookConfiguration } from "@kubernetes/client-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { type EciProfile, emptyProfile } from "../../src/webhook/profile.ts"
import { desiredWebhooks, normalized, reconcileWebhookConfiguration, sameWebhooks } from "../../src/webhook/webhookConfiguration.ts"
import { captureLogs } from "./helpers.ts"

const manifest = loadAllYaml(readFileSync(join(import.meta.dirname, "../../k8s/webhook.yaml"), "utf8")) as Array<{ kind: string }>
const shipped = manifest.find((o) => o.kind === "MutatingWebhookConfiguration") as V1MutatingWebhookConfiguration
const webhooks = shipped.webhooks ?? []

const profile: EciProfile = {
  ...emptyProfile,
  selectors: [{
    name: "spot",
    namespaceSelector: undefined,
    objectSelector: { matchLabels: { workload: "batch" }, matchExpressions: [{ key: "tier", operator: "Exists", values: [] }] },
    effect: { annotations: {}, labels: {} }
  }]
}

describe("k8s/webhook.yaml", () => {
  it("ships four entries, each limited by a selector and never for kube-system, failing closed", () => {
    assert.deepStrictEqual(webhooks.map((w) => w.name), [
      "pod-eci.eci-virtual-node.io",
      "pod-alibabacloud-eci.eci-virtual-node.io",
      "namespace-eci.eci-virtual-node.io",
      "namespace-alibabacloud-eci.eci-virtual-node.io"
    ])
    for (const w of webhooks) {
      assert.strictEqual(w.failurePolicy, "Fail")
      assert.strictEqual(w.sideEffects, "None")
      assert.deepStrictEqual(w.admissionReviewVersions, ["v1"])
      assert.strictEqual(w.timeoutSeconds, 5)
      assert.strictEqual(w.reinvocationPolicy, "IfNeeded")
      assert.deepStrictEqual(w.rules, [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }])
      assert.deepInclude(w.namespaceSelector?.matchExpressions ?? [], { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] })
      assert.deepStrictEqual(w.clientConfig.service, { name: "eci-virtual-node", namespace: "kube-system", path: "/mutate", port: 443 })
    }
    assert.deepStrictEqual(webhooks.map((w) => w.objectSelector?.matchLabels ?? w.namespaceSelector?.matchLabels), [
      { eci: "true" },
      { "alibabacloud.com/eci": "true" },
      { eci: "true" },
      { "alibabacloud.com/eci": "true" }
    ])
  })
})

describe("desiredWebhooks", () => {
  it("puts the CA bundle everywhere and derives one entry per selector from the first entry", () => {
    const { webhooks: desired, template } = desiredWebhooks(webhooks, "Q0E=", profile)
    assert.strictEqual(template, "pod-eci.eci-virtual-node.io")
    assert.strictEqual(desired.length, 5)
    assert.isTrue(desired.every((w) => w.clientConfig.caBundle === "Q0E="))
    const entry = desired[4]!
    assert.deepStrictEqual({ ...entry, clientConfig: undefined }, {
      ...webhooks[0]!,
      clientConfig: undefined,
      name: "selector-0.profile.eci-virtual-node.io",
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }] },
      objectSelector: { matchLabels: { workload: "batch" }, matchExpressions: [{ key: "tier", operator: "Exists" }] }
    })
    // nothing changes on a second pass, and removing the selector removes its entry
    assert.isTrue(sameWebhooks(desired, desiredWebhooks(desired, "Q0E=", profile).webhooks))
    assert.deepStrictEqual(desiredWebhooks(desired, "Q0E=", emptyProfile).webhooks.map((w) => w.name), webhooks.map((w) => w.name))
  })

  it("without entries to copy there is nothing to derive", () => {
    assert.deepStrictEqual(desiredWebhooks([], "Q0E=", profile), { webhooks: [], template: undefined })
  })

  it("compares as the API server stores: empty selectors and absent ones are the same", () => {
    const a = { name: "x", objectSelector: {}, clientConfig: {}, sideEffects: "None", admissionReviewVersions: ["v1"] } as V1MutatingWebhook
    const b = { admissionReviewVersions: ["v1"], sideEffects: "None", name: "x", clientConfig: {} } as V1MutatingWebhook
    assert.isTrue(sameWebhooks([a], [b]))
    assert.deepStrictEqual(normalized({ b: [], a: { c: undefined, d: 1 } }), { a: { d: 1 } })
  })
})

describe("reconcileWebhookConfiguration (in-memory API server)", () => {
  it.effect("writes once, then finds nothing to do; a missing configuration is KubeNotFound", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      const kube = yield* Kube
      const missing = yield* Effect.flip(reconcileWebhookConfiguration("CA", profile))
      assert.strictEqual(missing._tag, "KubeNotFound")
      yield* admin.putMutatingWebhookConfiguration(shipped)
      assert.isTrue(yield* reconcileWebhookConfiguration("CA", profile))
      assert.isFalse(yield* reconcileWebhookConfiguration("CA", profile))
      const stored = yield* kube.getMutatingWebhookConfiguration("eci-virtual-node")
      assert.strictEqual(stored.webhooks?.length, 5)
      assert.isTrue(stored.webhooks?.every((w) => w.clientConfig.caBundle === Buffer.from("CA").toString("base64")))
      // a new CA (the Secret was replaced) is written again
      assert.isTrue(yield* reconcileWebhookConfiguration("CA2", profile))
    }).pipe(Effect.provide(KubeInMemory()), Effect.provide(captureLogs().layer)))
})
