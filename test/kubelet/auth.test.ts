import type { V1SubjectAccessReviewSpec } from "@kubernetes/client-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { Kube, KubeApiError } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { type Credentials, type KubeletAuth, makeKubeletAuth, requestAttributes } from "../../src/kubelet/auth.ts"

describe("request attributes (kubelet nodeAuthorizerAttributesGetter, fine-grained authz on)", () => {
  it.each([
    ["GET", "/containerLogs/ns/p/c", "get", ["proxy"]],
    ["POST", "/exec/ns/p/c", "create", ["proxy"]],
    ["GET", "/exec/ns/p/c", "get", ["proxy"]],
    ["GET", "/stats/summary", "get", ["stats"]],
    ["GET", "/metrics", "get", ["metrics"]],
    ["GET", "/metrics/resource", "get", ["metrics"]],
    ["GET", "/metricsfoo", "get", ["proxy"]],
    ["GET", "/logs/", "get", ["log"]],
    ["GET", "/pods", "get", ["pods", "proxy"]],
    ["GET", "/runningpods/", "get", ["pods", "proxy"]],
    ["GET", "/healthz", "get", ["healthz", "proxy"]],
    ["GET", "/healthz/ping", "get", ["healthz", "proxy"]],
    ["PUT", "/configz", "update", ["configz", "proxy"]],
    ["DELETE", "/portForward/ns/p", "delete", ["proxy"]],
    ["PATCH", "/run/ns/p/c", "patch", ["proxy"]]
  ] as const)("%s %s → verb %s on %j", (method, path, verb, subresources) => {
    expect(requestAttributes(method, path)).toEqual({ verb, subresources })
  })

  it("without fine-grained authz, /pods is proxy only", () => {
    expect(requestAttributes("GET", "/pods", false)).toEqual({ verb: "get", subresources: ["proxy"] })
  })
})

const NODE = "vk-node"

const apiserver: Credentials = {
  certificate: { verified: true, commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"] },
  bearerToken: undefined
}
const alice: Credentials = { certificate: { verified: true, commonName: "alice", organizations: ["dev"] }, bearerToken: undefined }
const forged: Credentials = { certificate: { verified: false, commonName: "admin", organizations: ["system:masters"] }, bearerToken: undefined }
const token = (t: string): Credentials => ({ certificate: undefined, bearerToken: t })
const anonymous: Credentials = { certificate: undefined, bearerToken: undefined }

/** RBAC of the test: metrics-server may read stats and metrics, bob only pods, the masters everything. */
const rbac = (spec: V1SubjectAccessReviewSpec) => {
  const a = spec.resourceAttributes
  const groups = spec.groups ?? []
  const ok = a?.resource === "nodes" && a.name === NODE && a.version === "v1" && a.group === "" && groups.includes("system:authenticated")
  if (!ok) return { allowed: false }
  if (groups.includes("system:masters")) return { allowed: true }
  if (spec.user === "system:serviceaccount:kube-system:metrics-server") return { allowed: a.verb === "get" && ["stats", "metrics"].includes(a.subresource ?? "") }
  if (spec.user === "bob") return { allowed: a.verb === "get" && a.subresource === "pods" }
  return { allowed: false }
}

const tokens: Record<string, { readonly username: string; readonly groups: Array<string> }> = {
  "ms-token": { username: "system:serviceaccount:kube-system:metrics-server", groups: ["system:serviceaccounts"] },
  "bob-token": { username: "bob", groups: [] }
}

/** "200 <user>" or "<status> <message>": the decision for a request. */
const decider = (auth: typeof KubeletAuth.Service) => (credentials: Credentials, method: string, path: string) =>
  auth.authenticate(credentials).pipe(
    Effect.flatMap((user) => Effect.as(auth.authorize(user, method, path), user.username)),
    Effect.match({ onFailure: (e) => `${e.status} ${e.message}`, onSuccess: (user) => `200 ${user}` })
  )

const setup = Effect.gen(function*() {
  const admin = yield* KubeInMemoryAdmin
  const counts = { token: 0, access: 0 }
  yield* admin.setTokenReviewer((t) => {
    counts.token++
    const u = tokens[t]
    return u === undefined ? { authenticated: false, error: "invalid bearer token" } : { authenticated: true, user: u }
  })
  yield* admin.setAccessReviewer((spec) => {
    counts.access++
    return rbac(spec)
  })
  const decide = decider(yield* makeKubeletAuth({ nodeName: NODE }))
  return { decide, counts }
})

describe("authentication and authorisation decisions", () => {
  it.effect("table: who gets in where", () =>
    Effect.gen(function*() {
      const { decide } = yield* setup
      const table: ReadonlyArray<readonly [Credentials, string, string, string]> = [
        [apiserver, "GET", "/containerLogs/ns/p/c", "200 kube-apiserver-kubelet-client"],
        [apiserver, "POST", "/exec/ns/p/c", "200 kube-apiserver-kubelet-client"],
        [token("ms-token"), "GET", "/metrics/resource", "200 system:serviceaccount:kube-system:metrics-server"],
        [token("ms-token"), "GET", "/stats/summary", "200 system:serviceaccount:kube-system:metrics-server"],
        [token("ms-token"), "GET", "/containerLogs/ns/p/c", "403 Forbidden (user=system:serviceaccount:kube-system:metrics-server, verb=get, resource=nodes, subresource(s)=[proxy])"],
        [token("bob-token"), "GET", "/pods", "200 bob"],
        [token("bob-token"), "GET", "/runningpods/", "200 bob"],
        [token("bob-token"), "GET", "/healthz", "403 Forbidden (user=bob, verb=get, resource=nodes, subresource(s)=[healthz proxy])"],
        [alice, "GET", "/pods", "403 Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[pods proxy])"],
        [alice, "POST", "/exec/ns/p/c", "403 Forbidden (user=alice, verb=create, resource=nodes, subresource(s)=[proxy])"],
        [token("stolen"), "GET", "/pods", "401 Unauthorized"],
        [forged, "GET", "/pods", "401 Unauthorized"],
        [anonymous, "GET", "/healthz", "401 Unauthorized"],
        // An unverified certificate does not hide a good token.
        [{ ...forged, bearerToken: "bob-token" }, "GET", "/pods", "200 bob"]
      ]
      for (const [credentials, method, path, expected] of table) {
        expect([method, path, yield* decide(credentials, method, path)]).toEqual([method, path, expected])
      }
    }).pipe(Effect.provide(KubeInMemory())))

  it.effect("allow decisions are cached 5 minutes, denials 30 seconds", () =>
    Effect.gen(function*() {
      const { decide, counts } = yield* setup
      yield* decide(token("ms-token"), "GET", "/metrics/resource")
      yield* decide(token("ms-token"), "GET", "/containerLogs/ns/p/c")
      expect(counts.access).toBe(2)
      yield* TestClock.adjust("29 seconds")
      yield* decide(token("ms-token"), "GET", "/metrics/resource")
      yield* decide(token("ms-token"), "GET", "/containerLogs/ns/p/c")
      expect(counts.access).toBe(2)
      yield* TestClock.adjust("2 seconds")
      yield* decide(token("ms-token"), "GET", "/containerLogs/ns/p/c")
      expect(counts.access).toBe(3) // the denial expired
      yield* decide(token("ms-token"), "GET", "/metrics/resource")
      expect(counts.access).toBe(3) // the allow did not
      yield* TestClock.adjust("5 minutes")
      yield* decide(token("ms-token"), "GET", "/metrics/resource")
      expect(counts.access).toBe(4)
    }).pipe(Effect.provide(KubeInMemory())))

  it.effect("token reviews are cached 2 minutes, rejections 10 seconds; certificates need no review", () =>
    Effect.gen(function*() {
      const { decide, counts } = yield* setup
      yield* decide(token("bob-token"), "GET", "/pods")
      yield* decide(token("stolen"), "GET", "/pods")
      expect(counts.token).toBe(2)
      yield* TestClock.adjust("9 seconds")
      yield* decide(token("bob-token"), "GET", "/pods")
      yield* decide(token("stolen"), "GET", "/pods")
      expect(counts.token).toBe(2)
      yield* TestClock.adjust("2 seconds")
      yield* decide(token("stolen"), "GET", "/pods")
      yield* decide(token("bob-token"), "GET", "/pods")
      expect(counts.token).toBe(3)
      yield* TestClock.adjust("2 minutes")
      yield* decide(token("bob-token"), "GET", "/pods")
      expect(counts.token).toBe(4)
      yield* decide(apiserver, "GET", "/pods")
      expect(counts.token).toBe(4)
    }).pipe(Effect.provide(KubeInMemory())))

  it.effect("a review that fails is a 500 for authorisation and a 401 for authentication, and is not cached", () =>
    Effect.gen(function*() {
      yield* setup
      const kube = yield* Kube
      let down = true
      const unavailable = new KubeApiError({ operation: "create", status: 503, reason: "ServiceUnavailable", message: "etcd is down" })
      const flaky = Kube.of({
        ...kube,
        reviewAccess: (spec) => (down ? Effect.fail(unavailable) : kube.reviewAccess(spec)),
        reviewToken: (t) => (down ? Effect.fail(unavailable) : kube.reviewToken(t))
      })
      const decideWith = decider(yield* makeKubeletAuth({ nodeName: NODE }).pipe(Effect.provideService(Kube, flaky)))
      const decide = (credentials: Credentials) => decideWith(credentials, "GET", "/pods")
      expect(yield* decide(apiserver)).toBe(
        "500 Authorization error (user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource=pods): etcd is down"
      )
      expect(yield* decide(token("bob-token"))).toBe("401 Unauthorized")
      down = false
      expect(yield* decide(apiserver)).toBe("200 kube-apiserver-kubelet-client")
      expect(yield* decide(token("bob-token"))).toBe("200 bob")
    }).pipe(Effect.provide(KubeInMemory())))
})
