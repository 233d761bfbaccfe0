import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type AdmissionDeps, reviewAdmission } from "../../src/webhook/admission.ts"
import { emptyProfile } from "../../src/webhook/profile.ts"
import { captureLogs } from "./helpers.ts"

const deps = (over: Partial<AdmissionDeps> = {}): AdmissionDeps => ({
  steering: { nodeSelector: { type: "virtual-kubelet" }, toleration: { key: "k", value: "v", effect: "NoSchedule" } },
  profile: Effect.succeed(emptyProfile),
  namespaceLabels: () => Effect.succeed({}),
  ...over
})

const review = (request: Record<string, unknown>) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "u1",
    kind: { group: "", version: "v1", kind: "Pod" },
    operation: "CREATE",
    namespace: "apps",
    object: { metadata: { name: "p", labels: { eci: "true" } }, spec: {} },
    ...request
  }
})

const run = (body: unknown, d: AdmissionDeps = deps()) => reviewAdmission(body, d).pipe(Effect.provide(captureLogs().layer))

describe("reviewAdmission", () => {
  it.effect("patches a CREATE of a pod", () =>
    Effect.gen(function*() {
      const out = yield* run(review({}))
      assert.strictEqual(out.response.patchType, "JSONPatch")
      assert.strictEqual(out.response.uid, "u1")
    }))

  it.effect.each([
    ["an UPDATE", { operation: "UPDATE" }],
    ["another kind", { kind: { group: "apps", version: "v1", kind: "Deployment" } }],
    ["a subresource", { subResource: "ephemeralcontainers" }],
    ["a pod in kube-system", { namespace: "kube-system" }],
    ["a request without an object", { object: null }]
  ] as const)("allows %s unchanged", ([, request]) =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* run(review(request))).response, { uid: "u1", allowed: true })
    }))

  it.effect("a failure anywhere lets the pod pass unchanged, and is logged", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const out = yield* reviewAdmission(review({}), deps({ profile: Effect.die(new Error("boom")) }))
      assert.deepStrictEqual(out.response, { uid: "u1", allowed: true })
      assert.strictEqual(logs.lines.find((l) => l["level"] === "error")?.["msg"], "steering failed; the pod passes unchanged")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("namespace labels that cannot be read: the pod's own labels decide", () =>
    Effect.gen(function*() {
      const out = yield* run(review({}), deps({ namespaceLabels: () => Effect.fail({ message: "forbidden" }) }))
      assert.strictEqual(out.response.patchType, "JSONPatch")
    }))

  it.effect("warnings reach the user (kubectl prints them)", () =>
    Effect.gen(function*() {
      const out = yield* run(review({ object: { metadata: { name: "p", labels: { eci: "true" } }, spec: { nodeName: "n1" } } }))
      assert.deepStrictEqual(out.response, {
        uid: "u1",
        allowed: true,
        warnings: ["pod asks for ECI (pod label eci=true) but spec.nodeName is set to n1; not steered"]
      })
    }))

  it.effect.each([
    ["not an object", [1, 2], "body is not a JSON object; expected an AdmissionReview"],
    ["v1beta1", { apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: { uid: "u" } }, "apiVersion/kind is \"admission.k8s.io/v1beta1\"/\"AdmissionReview\"; expected admission.k8s.io/v1/AdmissionReview (set admissionReviewVersions: [\"v1\"])"],
    ["no uid", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: {} }, "request.uid is missing; expected an AdmissionReview request"]
  ] as const)("refuses a body that is %s", ([, body, message]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(run(body))
      assert.strictEqual(error.message, message)
    }))
})
