/**
 * Watched objects come without `metadata.managedFields` (as client-go informers' transform does):
 * nothing reads them and they were more than half of each cached pod. Both paths are checked — the
 * shared reflector (`listWatch`, both Kube layers) and the live watch on the wire — and what the
 * controllers do read (uid, annotations, spec, status, times as Dates) is still there.
 */
import { assert, describe, it } from "@effect/vitest"
import type { V1Pod } from "@kubernetes/client-node"
import { Effect, Exit, Layer, Stream } from "effect"
import { fromWire, toWire } from "../../src/kube/codec.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeLive } from "../../src/kube/kubeLive.ts"
import { fakeApiServer } from "./fakeApiServer.ts"
import { listInPages, listWatch, withoutManagedFields } from "../../src/kube/watch.ts"

const managedFields = [
  {
    manager: "kube-controller-manager",
    operation: "Update",
    apiVersion: "v1",
    time: "2030-01-01T00:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:app": {} } }, "f:spec": { "f:containers": { "k:{\"name\":\"c\"}": { ".": {}, "f:image": {} } } } }
  },
  {
    manager: "eci-virtual-node",
    operation: "Update",
    apiVersion: "v1",
    time: "2030-01-01T00:00:05Z",
    fieldsType: "FieldsV1",
    subresource: "status",
    fieldsV1: { "f:status": { "f:phase": {}, "f:podIP": {} } }
  }
]

const podJson = (name: string, rv: string, withManagedFields = true) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "default",
    uid: `uid-${name}`,
    resourceVersion: rv,
    creationTimestamp: "2030-01-01T00:00:00Z",
    labels: { app: "web" },
    annotations: { "k8s.aliyun.com/eci-instance-id": `eci-${name}` },
    ...(withManagedFields ? { managedFields } : {})
  },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "nginx:1.27" }] },
  status: { phase: "Running", podIP: "10.0.0.7", startTime: "2030-01-01T00:00:03Z" }
})

describe("watched objects come without metadata.managedFields", () => {
  it("withoutManagedFields: a decoded model is one decoded without them (the key left undefined); plain JSON loses the key; anything else passes", () => {
    const model = withoutManagedFields(fromWire<V1Pod>("V1Pod", podJson("a", "1")))
    assert.isUndefined(model.metadata?.managedFields)
    assert.deepStrictEqual(toWire("V1Pod", model), toWire("V1Pod", fromWire<V1Pod>("V1Pod", podJson("a", "1", false))))
    assert.instanceOf(model.metadata?.creationTimestamp, Date)

    const plain = withoutManagedFields(podJson("b", "2"))
    assert.deepStrictEqual(plain, podJson("b", "2", false))
    assert.isFalse("managedFields" in plain.metadata)

    for (const x of ["text", 7, null, undefined, { metadata: null }, { spec: {} }]) assert.strictEqual(withoutManagedFields(x), x)
  })

  it.effect("listWatch drops them from the Snapshot and from every event", () =>
    Effect.gen(function*() {
      const source = {
        list: Effect.succeed({ items: [fromWire<V1Pod>("V1Pod", podJson("a", "1"))], resourceVersion: "1" }),
        watch: () =>
          Stream.concat(
            Stream.make({ type: "Modified" as const, object: fromWire<V1Pod>("V1Pod", podJson("a", "2")), resourceVersion: "2" }),
            Stream.never
          )
      }
      const events = yield* listWatch(source).pipe(Stream.take(2), Stream.runCollect)
      const pods = events.flatMap((e) => (e.type === "Snapshot" ? e.items : [e.object]))
      assert.strictEqual(pods.length, 2)
      for (const p of pods) {
        assert.isUndefined(p.metadata?.managedFields)
        assert.strictEqual(p.metadata?.uid, "uid-a")
        assert.strictEqual(p.metadata?.annotations?.["k8s.aliyun.com/eci-instance-id"], "eci-a")
        assert.strictEqual(p.status?.podIP, "10.0.0.7")
      }
    }))

  it.effect("listInPages: follows the continue tokens, drops managedFields page by page, answers the last page's resourceVersion", () =>
    Effect.gen(function*() {
      const asked: Array<string | undefined> = []
      const pages: Record<string, { items: Array<ReturnType<typeof podJson>>; rv: string; next?: string }> = {
        first: { items: [podJson("a", "1"), podJson("b", "1")], rv: "7", next: "t1" },
        t1: { items: [], rv: "7", next: "t2" }, // a page may be empty (the field selector filtered it out)
        t2: { items: [podJson("c", "1")], rv: "7" }
      }
      const listed = yield* listInPages((token) =>
        Effect.sync(() => {
          asked.push(token)
          const p = pages[token ?? "first"]!
          return { items: p.items, resourceVersion: p.rv, continue: p.next }
        })
      )
      assert.deepStrictEqual(asked, [undefined, "t1", "t2"])
      assert.deepStrictEqual(listed.items.map((p) => p.metadata.name), ["a", "b", "c"])
      assert.strictEqual(listed.resourceVersion, "7")
      for (const p of listed.items) assert.isFalse("managedFields" in p.metadata)

      // An expired continue token fails the whole list (listWatch relists from the start).
      const expired = yield* Effect.exit(listInPages((token) =>
        token === undefined ? Effect.succeed({ items: [podJson("a", "1")], resourceVersion: "7", continue: "old" }) : Effect.fail("410 Expired" as const)
      ))
      assert.deepStrictEqual(expired, Exit.fail("410 Expired" as const))
    }))

  it.live("KubeLive.watchPods: neither the list nor the watch's events carry them", () =>
    Effect.gen(function*() {
      const { kubeconfigPath } = yield* fakeApiServer(({ query }, res) => {
        const watch = query.get("watch") === "true"
        res.setHeader("content-type", "application/json")
        if (!watch) {
          res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "10" }, items: [podJson("a", "5")] }))
          return
        }
        res.write(`${JSON.stringify({ type: "ADDED", object: podJson("b", "11") })}\n`) // and stays open
      })
      const events = yield* Effect.gen(function*() {
        const kube = yield* Kube
        return yield* kube.watchPods("n1").pipe(Stream.take(2), Stream.runCollect)
      }).pipe(Effect.provide(Layer.fresh(KubeLive({ kubeconfigPath }))))

      const pods = events.flatMap((e) => (e.type === "Snapshot" ? e.pods : [e.pod]))
      assert.deepStrictEqual(pods.map((p) => p.metadata?.name), ["a", "b"])
      for (const p of pods) {
        assert.isUndefined(p.metadata?.managedFields)
        assert.deepStrictEqual(p.metadata?.labels, { app: "web" })
        assert.strictEqual(p.metadata?.uid, `uid-${p.metadata?.name}`)
        assert.instanceOf(p.metadata?.creationTimestamp, Date)
        assert.strictEqual(p.spec?.containers[0]?.image, "nginx:1.27")
        assert.strictEqual(p.status?.phase, "Running")
      }
    }))
})
