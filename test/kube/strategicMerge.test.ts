import { assert, describe, it } from "@effect/vitest"
import { jsonMergePatch, nodeStrategies, podStrategies, strategicMerge } from "../../src/kube/strategicMerge.ts"

const pod = {
  metadata: { name: "p", labels: { a: "1", b: "2" }, finalizers: ["x"], ownerReferences: [{ uid: "u1", name: "rs" }] },
  spec: { containers: [{ name: "c", image: "i:1", env: [{ name: "A", value: "1" }] }], tolerations: [{ key: "t1" }] },
  status: {
    conditions: [{ type: "Ready", status: "False" }, { type: "example.com/gate", status: "True" }],
    podIPs: [{ ip: "10.0.0.1" }],
    containerStatuses: [{ name: "c", ready: false }, { name: "sidecar", ready: true }]
  }
}

describe("strategic merge patch (core/v1 list strategies)", () => {
  it("conditions merge by type: the patched one changes, the others stay, new ones are appended", () => {
    const out = strategicMerge(pod, { status: { conditions: [{ type: "Ready", status: "True" }, { type: "PodScheduled", status: "True" }] } }, podStrategies)
    assert.deepStrictEqual(out["status"], {
      ...pod.status,
      conditions: [{ type: "Ready", status: "True" }, { type: "example.com/gate", status: "True" }, { type: "PodScheduled", status: "True" }]
    })
  })

  it("containerStatuses and tolerations have no strategy: the patch replaces the list", () => {
    const out = strategicMerge(pod, { status: { containerStatuses: [{ name: "c", ready: true }] }, spec: { tolerations: [{ key: "t2" }] } }, podStrategies)
    assert.deepStrictEqual((out["status"] as typeof pod.status).containerStatuses, [{ name: "c", ready: true }])
    assert.deepStrictEqual((out["spec"] as typeof pod.spec).tolerations, [{ key: "t2" }])
  })

  it("podIPs merge by ip; nested lists merge by their own key (containers[].env by name)", () => {
    const out = strategicMerge(pod, {
      status: { podIPs: [{ ip: "fd00::1" }] },
      spec: { containers: [{ name: "c", env: [{ name: "B", value: "2" }] }] }
    }, podStrategies)
    assert.deepStrictEqual((out["status"] as typeof pod.status).podIPs, [{ ip: "10.0.0.1" }, { ip: "fd00::1" }])
    assert.deepStrictEqual((out["spec"] as typeof pod.spec).containers, [
      { name: "c", image: "i:1", env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }
    ])
  })

  it("null deletes a key; finalizers union; ownerReferences merge by uid", () => {
    const out = strategicMerge(pod, {
      metadata: { labels: { a: null, c: "3" }, finalizers: ["y", "x"], ownerReferences: [{ uid: "u1", controller: true }] }
    }, podStrategies)
    assert.deepStrictEqual(out["metadata"], {
      name: "p",
      labels: { b: "2", c: "3" },
      finalizers: ["x", "y"],
      ownerReferences: [{ uid: "u1", name: "rs", controller: true }]
    })
  })

  it("directives: $patch delete and replace in lists and maps, $retainKeys, $deleteFromPrimitiveList, $setElementOrder ignored", () => {
    const deleted = strategicMerge(pod, { status: { conditions: [{ type: "Ready", $patch: "delete" }] } }, podStrategies)
    assert.deepStrictEqual((deleted["status"] as typeof pod.status).conditions, [{ type: "example.com/gate", status: "True" }])

    const replaced = strategicMerge(pod, { status: { conditions: [{ $patch: "replace" }, { type: "Only", status: "True" }] } }, podStrategies)
    assert.deepStrictEqual((replaced["status"] as typeof pod.status).conditions, [{ type: "Only", status: "True" }])

    const mapReplaced = strategicMerge(pod, { metadata: { labels: { $patch: "replace", z: "9" } } }, podStrategies)
    assert.deepStrictEqual((mapReplaced["metadata"] as { labels?: unknown }).labels, { z: "9" })

    const mapDeleted = strategicMerge(pod, { metadata: { labels: { $patch: "delete" } } }, podStrategies)
    assert.isUndefined((mapDeleted["metadata"] as Partial<typeof pod.metadata>).labels)

    const retained = strategicMerge({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ["b", "c"], c: 3 } }, podStrategies)
    assert.deepStrictEqual(retained, { spec: { b: 2, c: 3 } })

    const fromPrimitive = strategicMerge(pod, { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } }, podStrategies)
    assert.deepStrictEqual((fromPrimitive["metadata"] as typeof pod.metadata).finalizers, [])

    const ordered = strategicMerge(pod, { status: { "$setElementOrder/conditions": [{ type: "Ready" }], conditions: [{ type: "Ready", status: "True" }] } }, podStrategies)
    assert.deepStrictEqual(Object.keys(ordered["status"] as object), ["conditions", "podIPs", "containerStatuses"])
  })

  it("node status: conditions and addresses merge by type", () => {
    const node = { status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }], conditions: [{ type: "Ready", status: "False" }] } }
    const out = strategicMerge(node, {
      status: { addresses: [{ type: "Hostname", address: "vk" }], conditions: [{ type: "Ready", status: "True" }] }
    }, nodeStrategies)
    assert.deepStrictEqual(out, {
      status: {
        addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: "vk" }],
        conditions: [{ type: "Ready", status: "True" }]
      }
    })
  })

  it("the inputs are not modified", () => {
    const before = JSON.stringify(pod)
    strategicMerge(pod, { status: { conditions: [{ type: "Ready", status: "True" }] }, metadata: { labels: { a: null } } }, podStrategies)
    assert.strictEqual(JSON.stringify(pod), before)
  })
})

describe("JSON merge patch (RFC 7386)", () => {
  it("objects merge, null deletes, arrays are replaced, scalars replace objects", () => {
    assert.deepStrictEqual(
      jsonMergePatch({ a: { b: 1, c: 2 }, l: [1, 2], s: { x: 1 } }, { a: { b: null, d: 3 }, l: [3], s: "flat" }),
      { a: { c: 2, d: 3 }, l: [3], s: "flat" }
    )
    assert.strictEqual(jsonMergePatch({ a: 1 }, "whole"), "whole")
  })
})
