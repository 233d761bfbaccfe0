import { assert, describe, it } from "@effect/vitest"
import { ApiException } from "@kubernetes/client-node"
import { fromClientError, fromStatus } from "../../src/kube/errors.ts"
import { KubeApiError, KubeConflict, KubeNotFound } from "../../src/kube/Kube.ts"

const target = { operation: "getPod", kind: "pods", name: "web" }
const status = (code: number, reason: string, message: string, details?: object) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message, ...(details ? { details } : {}) })

describe("Kube error mapping", () => {
  it("404 → KubeNotFound; the Status details name the resource (a missing namespace on create)", () => {
    const e = fromClientError(
      new ApiException(404, "Unknown API Status Code!", status(404, "NotFound", "namespaces \"x\" not found", { name: "x", kind: "namespaces" }), {}),
      target
    )
    assert.deepStrictEqual(e, new KubeNotFound({ kind: "namespaces", name: "x", message: "namespaces \"x\" not found" }))
  })

  it("409 → KubeConflict with the Status reason (Conflict or AlreadyExists)", () => {
    const e = fromClientError(new ApiException(409, "", status(409, "AlreadyExists", "pods \"web\" already exists", { name: "web", kind: "pods" }), {}), target)
    assert.deepStrictEqual(e, new KubeConflict({ kind: "pods", name: "web", reason: "AlreadyExists", message: "pods \"web\" already exists" }))
  })

  it("other statuses → KubeApiError with status and reason; a non-JSON body becomes the message", () => {
    assert.deepStrictEqual(
      fromClientError(new ApiException(422, "", status(422, "Invalid", "Pod \"web\" is invalid"), {}), target),
      new KubeApiError({ operation: "getPod", status: 422, reason: "Invalid", message: "Pod \"web\" is invalid" })
    )
    assert.deepStrictEqual(
      fromClientError(new ApiException(502, "", "Bad Gateway", {}), target),
      new KubeApiError({ operation: "getPod", status: 502, reason: "Unknown", message: "Bad Gateway" })
    )
    // client-node answers 401 without a body.
    assert.deepStrictEqual(
      fromClientError(new ApiException(401, "Unauthorized", undefined, {}), target),
      new KubeApiError({ operation: "getPod", status: 401, reason: "Unknown", message: "HTTP 401" })
    )
  })

  it("a request that never reached the server → status 0, with the cause", () => {
    const refused = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") })
    assert.deepStrictEqual(
      fromClientError(refused, target),
      new KubeApiError({ operation: "getPod", status: 0, reason: "ConnectionFailed", message: "fetch failed: connect ECONNREFUSED 127.0.0.1:1" })
    )
  })

  it("a watch ERROR event carries a Status object (not a string)", () => {
    assert.deepStrictEqual(
      fromStatus(500, { kind: "Status", code: 500, reason: "InternalError", message: "etcd down" }, target),
      new KubeApiError({ operation: "getPod", status: 500, reason: "InternalError", message: "etcd down" })
    )
  })
})
