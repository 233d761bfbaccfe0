import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { get, runningPod, startHarness } from "./harness.ts"

describe("the kubelet API over HTTPS", () => {
  it.live("authenticates by client certificate or token and authorises with SubjectAccessReview", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      const admin = KubeInMemoryAdmin.use((a) => a.setTokenReviewer((t) => (t === "good" ? { authenticated: true, user: { username: "system:admin", groups: ["system:masters"] } } : undefined)))
      yield* admin.pipe(Effect.provide(h.context))

      expect(yield* get(h, "/healthz", { as: h.apiserver })).toMatchObject({ status: 200, body: "ok" })
      expect(yield* get(h, "/healthz")).toMatchObject({ status: 401, body: "Unauthorized\n" })
      // Signed by a CA we do not trust: no better than no certificate.
      expect(yield* get(h, "/healthz", { as: h.stranger })).toMatchObject({ status: 401, body: "Unauthorized\n" })
      expect(yield* get(h, "/healthz", { as: h.alice })).toMatchObject({
        status: 403,
        body: "Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[healthz proxy])\n"
      })
      expect(yield* get(h, "/pods", { token: "good" })).toMatchObject({ status: 200 })
      expect(yield* get(h, "/pods", { token: "bad" })).toMatchObject({ status: 401 })
    }).pipe(Effect.scoped))

  it.live("serves /pods, /runningpods/, logs, stats and resource metrics of its pods; 404 for others", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      const id = yield* runningPod(h, "web", ["sh", "-c", "echo hello; echo world; sleep 3600"])

      const pods = yield* get(h, "/pods", { as: h.apiserver })
      expect(pods.status).toBe(200)
      const list = JSON.parse(pods.body) as { kind: string; items: ReadonlyArray<{ metadata: { name: string; annotations: Record<string, string> } }> }
      expect(list.kind).toBe("PodList")
      expect(list.items.map((p) => [p.metadata.name, p.metadata.annotations["k8s.aliyun.com/eci-instance-id"]])).toEqual([["web", id]])

      const running = JSON.parse((yield* get(h, "/runningpods/", { as: h.apiserver })).body) as { items: ReadonlyArray<{ metadata: { name: string; uid: string } }> }
      expect(running.items.map((p) => p.metadata)).toMatchObject([{ name: "web", uid: "uid-web" }])

      expect(yield* get(h, "/containerLogs/default/web/app", { as: h.apiserver })).toMatchObject({ status: 200, body: "hello\nworld\n" })
      expect(yield* get(h, "/containerLogs/default/web/app?tailLines=1", { as: h.apiserver })).toMatchObject({ status: 200, body: "world\n" })
      expect(yield* get(h, "/containerLogs/default/web/app?timestamps=true&tailLines=1", { as: h.apiserver })).toMatchObject({
        status: 200,
        body: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z world\n$/)
      })
      expect(yield* get(h, "/containerLogs/default/web/app?sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z", { as: h.apiserver })).toMatchObject({
        status: 400,
        body: "at most one of `sinceTime` or `sinceSeconds` may be specified\n"
      })
      expect(yield* get(h, "/containerLogs/default/nope/app", { as: h.apiserver })).toMatchObject({ status: 404, body: "pod \"nope\" does not exist\n" })
      expect(yield* get(h, "/containerLogs/default/web/nope", { as: h.apiserver })).toMatchObject({ status: 404, body: "container \"nope\" not found in pod \"web\"\n" })
      expect(yield* get(h, "/containerLogs/default/web/app?previous=true", { as: h.apiserver })).toMatchObject({
        status: 400,
        body: "previous terminated container \"app\" in pod \"web\" not found\n"
      })

      const metrics = yield* get(h, "/metrics/resource", { as: h.apiserver })
      expect(metrics.status).toBe(200)
      expect(metrics.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8")
      expect(metrics.body).toMatch(/^container_cpu_usage_seconds_total\{container="app",namespace="default",pod="web"\} \S+ \d+$/m)
      expect(metrics.body).toMatch(/^pod_memory_working_set_bytes\{namespace="default",pod="web"\} \S+ \d+$/m)
      expect(metrics.body).toContain("\nresource_scrape_error 0\n")

      const summary = JSON.parse((yield* get(h, "/stats/summary", { as: h.apiserver })).body) as { node: { nodeName: string }; pods: ReadonlyArray<{ podRef: { name: string } }> }
      expect(summary.node.nodeName).toBe("vk-test")
      expect(summary.pods.map((p) => p.podRef.name)).toEqual(["web"])

      expect((yield* get(h, "/metrics", { as: h.apiserver })).status).toBe(200)
      expect(yield* get(h, "/nowhere", { as: h.apiserver })).toMatchObject({ status: 404, body: "404 page not found\n" })
      expect(yield* get(h, "/pods", { as: h.apiserver, method: "DELETE" })).toMatchObject({ status: 405 })
    }).pipe(Effect.scoped))

  it.live("refuses attach and port-forward before any upgrade, with a Status that says why", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      for (const [path, what] of [["/attach/default/web/app?output=1", "attach"], ["/portForward/default/web?port=80", "port-forward"]] as const) {
        const r = yield* get(h, path, { as: h.apiserver, method: "POST" })
        expect(r.status).toBe(400)
        expect(JSON.parse(r.body)).toMatchObject({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "BadRequest",
          code: 400,
          message: expect.stringContaining(`${what} is not supported for pods on virtual node vk-test (Alibaba ECI)`)
        })
      }
    }).pipe(Effect.scoped))
})
