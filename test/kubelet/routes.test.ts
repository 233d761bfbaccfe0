import { describe, expect, it } from "vitest"
import { EciAuthFailed, EciIncorrectState, EciInvalidParameter, EciNotFound, EciThrottled, EciUnavailable, EciUnknownError } from "../../src/eci/errors.ts"
import { KubeApiError, KubeConflict, KubeNotFound } from "../../src/kube/Kube.ts"
import { fromEciError, fromKubeError } from "../../src/kubelet/errors.ts"
import { matchRoute } from "../../src/kubelet/routes.ts"

describe("route matching", () => {
  it.each([
    ["GET", "/healthz", { _tag: "Healthz" }],
    ["GET", "/healthz/ping", { _tag: "Healthz" }],
    ["GET", "/pods", { _tag: "Pods" }],
    ["GET", "/pods/", { _tag: "Pods" }],
    ["GET", "/runningpods/", { _tag: "RunningPods" }],
    ["GET", "/stats/summary", { _tag: "StatsSummary" }],
    ["GET", "/metrics", { _tag: "Metrics" }],
    ["GET", "/metrics/resource", { _tag: "MetricsResource" }],
    ["GET", "/metrics/cadvisor", { _tag: "NotFound" }],
    ["GET", "/containerLogs/ns/web/app", { _tag: "ContainerLogs", namespace: "ns", pod: "web", container: "app" }],
    ["GET", "/containerLogs/ns/web%2Dx/app", { _tag: "ContainerLogs", namespace: "ns", pod: "web-x", container: "app" }],
    ["GET", "/containerLogs/ns/web", { _tag: "NotFound" }],
    ["POST", "/exec/ns/web/app", { _tag: "Exec", namespace: "ns", pod: "web", container: "app" }],
    ["GET", "/exec/ns/web/uid-1/app", { _tag: "Exec", namespace: "ns", pod: "web", uid: "uid-1", container: "app" }],
    ["POST", "/attach/ns/web/app", { _tag: "Attach" }],
    ["GET", "/portForward/ns/web", { _tag: "PortForward" }],
    ["POST", "/portForward/ns/web/uid-1", { _tag: "PortForward" }],
    ["DELETE", "/pods", { _tag: "MethodNotAllowed", allowed: ["GET", "HEAD"] }],
    ["PUT", "/exec/ns/web/app", { _tag: "MethodNotAllowed", allowed: ["GET", "POST"] }],
    ["GET", "/configz", { _tag: "NotFound" }],
    ["GET", "/containerLogs/ns/%E0%A4%A/app", { _tag: "NotFound" }]
  ] as const)("%s %s", (method, path, route) => {
    expect(matchRoute(method, path)).toEqual(route)
  })
})

describe("errors map to HTTP in one place", () => {
  const f = { action: "DescribeContainerLog", code: "X", message: "m", requestId: "R-1" }
  it.each([
    [new EciThrottled({ ...f, code: "Throttling.User" }), 429, "TooManyRequests"],
    [new EciUnavailable({ ...f, code: "ServiceUnavailable" }), 503, "ServiceUnavailable"],
    [new EciNotFound({ ...f, code: "InvalidContainerGroup.NotFound" }), 404, "NotFound"],
    [new EciInvalidParameter({ ...f, code: "InvalidParameter" }), 400, "BadRequest"],
    [new EciIncorrectState({ ...f, code: "IncorrectStatus" }), 400, "BadRequest"],
    [new EciAuthFailed({ ...f, code: "Forbidden.RAM" }), 503, "ServiceUnavailable"],
    [new EciUnknownError({ ...f, code: "Weird" }), 500, "InternalError"]
  ] as const)("ECI %s → %i", (e, status, reason) => {
    const mapped = fromEciError(e, "reading the log")
    expect([mapped.status, mapped.reason]).toEqual([status, reason])
    expect(mapped.message).toContain("request id R-1")
  })

  it("throttling says to come back, with Retry-After", () => {
    const e = fromEciError(new EciThrottled({ ...f, code: "Throttling.User" }), "reading the log of container app")
    expect(e.message).toBe("reading the log of container app: ECI is throttling DescribeContainerLog (Throttling.User, request id R-1); try again shortly")
    expect(e.retryAfter).toBe(5)
  })

  it.each([
    [new KubeNotFound({ kind: "pods", name: "x", message: "pods \"x\" not found" }), 404],
    [new KubeApiError({ operation: "get", status: 0, reason: "Unknown", message: "connect ECONNREFUSED" }), 503],
    [new KubeApiError({ operation: "get", status: 500, reason: "InternalError", message: "etcd" }), 503],
    [new KubeApiError({ operation: "get", status: 403, reason: "Forbidden", message: "no" }), 500],
    [new KubeConflict({ kind: "pods", name: "x", reason: "Conflict", message: "c" }), 500]
  ] as const)("Kubernetes %s → %i", (e, status) => {
    expect(fromKubeError(e, "looking up").status).toBe(status)
  })
})
