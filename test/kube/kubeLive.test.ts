/**
 * KubeLive against a scripted in-process HTTP server: what the contract suite cannot make a real API
 * server do on demand (a watch that expires with 410, bookmarks, a closed connection) and what is on
 * the wire (patch content types, the watch's query). The real API server is test/e2e/kubeContract.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeLive } from "../../src/kube/kubeLive.ts"
import { fakeApiServer } from "./fakeApiServer.ts"

const podJson = (name: string, rv: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", resourceVersion: rv, creationTimestamp: "2030-01-01T00:00:00Z" },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "pause" }] }
})
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`
const status = (code: number, reason: string, message: string, details: object) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message, details })

const withKubeOn = (kubeconfigPath: string) => Effect.provide(Layer.fresh(KubeLive({ kubeconfigPath })))

describe("KubeLive on the wire", () => {
  it.live("watchPods: list, watch with bookmarks, resume from the bookmark, relist after a 410 ERROR event", () =>
    Effect.gen(function*() {
      let lists = 0
      const { kubeconfigPath, seen } = yield* fakeApiServer((req, res) => {
        res.setHeader("content-type", "application/json")
        if (req.query.get("watch") !== "true") {
          lists += 1
          const items = lists === 1 ? [podJson("a", "5")] : [podJson("a", "5"), podJson("c", "29")]
          res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: lists === 1 ? "10" : "30" }, items }))
          return
        }
        switch (req.query.get("resourceVersion")) {
          case "10":
            res.write(line("ADDED", podJson("b", "11")))
            res.end(line("BOOKMARK", { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: "20" } }))
            return
          case "20":
            res.end(line("ERROR", { kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired", message: "too old resource version: 20 (25)" }))
            return
          default:
            res.write(line("DELETED", podJson("a", "31"))) // and stays open
        }
      })
      const events = yield* Effect.gen(function*() {
        const kube = yield* Kube
        return yield* kube.watchPods("n1").pipe(Stream.take(4), Stream.runCollect)
      }).pipe(withKubeOn(kubeconfigPath))

      assert.deepStrictEqual(
        events.map((e) => e.type === "Snapshot" ? `Snapshot[${e.pods.map((p) => p.metadata?.name).join(",")}]` : `${e.type} ${e.pod.metadata?.name}`),
        ["Snapshot[a]", "Added b", "Snapshot[a,c]", "Deleted a"]
      )
      const added = events[1]
      assert.instanceOf(added?.type === "Added" ? added.pod.metadata?.creationTimestamp : undefined, Date)
      assert.deepStrictEqual(
        seen.map((r) => r.query.get("watch") === "true" ? `watch@${r.query.get("resourceVersion")}` : "list"),
        ["list", "watch@10", "watch@20", "list", "watch@30"]
      )
      for (const r of seen) assert.strictEqual(r.query.get("fieldSelector"), "spec.nodeName=n1")
      for (const r of seen.filter((r) => r.query.get("watch") === "true")) assert.strictEqual(r.query.get("allowWatchBookmarks"), "true")
    }))

  it.live("patches carry their content type: strategic by default, merge when asked", () =>
    Effect.gen(function*() {
      const { kubeconfigPath, seen } = yield* fakeApiServer((_req, res) => {
        res.setHeader("content-type", "application/json")
        res.end(JSON.stringify(podJson("a", "7")))
      })
      yield* Effect.gen(function*() {
        const kube = yield* Kube
        yield* kube.patchPodStatus("default", "a", { status: { conditions: [{ type: "Ready", status: "True" }] } })
        yield* kube.patchPod("default", "a", { metadata: { labels: { x: null } } }, "merge")
        yield* kube.patchNodeStatus("n1", { status: {} })
      }).pipe(withKubeOn(kubeconfigPath))
      assert.deepStrictEqual(seen.map((r) => [r.method, r.path, r.contentType]), [
        ["PATCH", "/api/v1/namespaces/default/pods/a/status", "application/strategic-merge-patch+json"],
        ["PATCH", "/api/v1/namespaces/default/pods/a", "application/merge-patch+json"],
        ["PATCH", "/api/v1/nodes/n1/status", "application/strategic-merge-patch+json"]
      ])
      assert.deepStrictEqual(JSON.parse(seen[1]?.body ?? ""), { metadata: { labels: { x: null } } })
    }))

  it.live("a Status body becomes the typed error; an unreachable server is status 0", () =>
    Effect.gen(function*() {
      const { kubeconfigPath, server } = yield* fakeApiServer((req, res) => {
        res.statusCode = req.method === "DELETE" ? 409 : 404
        res.setHeader("content-type", "application/json")
        res.end(
          req.method === "DELETE"
            ? status(409, "Conflict", "Operation cannot be fulfilled on Pod \"a\": the UID in the precondition (x) does not match the UID in record (y)", { name: "a", kind: "Pod" })
            : status(404, "NotFound", "pods \"missing\" not found", { name: "missing", kind: "pods" })
        )
      })
      yield* Effect.gen(function*() {
        const kube = yield* Kube
        const missing = yield* Effect.flip(kube.getPod("default", "missing"))
        assert.deepStrictEqual(missing._tag === "KubeNotFound" ? [missing.kind, missing.name] : [missing._tag], ["pods", "missing"])
        const conflict = yield* Effect.flip(kube.deletePod("default", "a", { uid: "x", gracePeriodSeconds: 0 }))
        assert.deepStrictEqual(conflict._tag === "KubeConflict" ? [conflict.kind, conflict.reason] : [conflict._tag], ["Pod", "Conflict"])

        yield* Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
        const refused = yield* Effect.flip(kube.getPod("default", "a"))
        assert.deepStrictEqual(refused._tag === "KubeApiError" ? [refused.status, refused.reason] : [refused._tag], [0, "ConnectionFailed"])
      }).pipe(withKubeOn(kubeconfigPath))
    }))

  it.live("Event creations do not spend the client's token bucket: Events have a budget of their own", () =>
    Effect.gen(function*() {
      const { kubeconfigPath, seen } = yield* fakeApiServer((req, res) => {
        res.setHeader("content-type", "application/json")
        res.end(req.method === "POST" ? req.body : JSON.stringify(podJson("a", "7")))
      })
      yield* Effect.gen(function*() {
        const kube = yield* Kube
        for (const name of ["e1", "e2", "e3"]) {
          yield* kube.createEvent({ metadata: { name, namespace: "default" }, involvedObject: { kind: "Pod", name: "a" } })
        }
        yield* kube.getPod("default", "a") // the bucket's one token is still there
      }).pipe(
        // One token, the next after 1,000 s: any request but the first through the bucket would time out.
        Effect.provide(Layer.fresh(KubeLive({ kubeconfigPath, qps: 0.001, burst: 1 }))),
        Effect.timeout("10 seconds")
      )
      assert.deepStrictEqual(seen.map((r) => [r.method, r.path]), [
        ["POST", "/api/v1/namespaces/default/events"],
        ["POST", "/api/v1/namespaces/default/events"],
        ["POST", "/api/v1/namespaces/default/events"],
        ["GET", "/api/v1/namespaces/default/pods/a"]
      ])
    }))

  it.live("a kubeconfig that cannot be read fails the layer with a message naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(KubeLive({ kubeconfigPath: "/nonexistent/kubeconfig" })))
      assert.strictEqual(error.reason, "InvalidKubeConfig")
      assert.include(error.message, "/nonexistent/kubeconfig")
    }))
})
