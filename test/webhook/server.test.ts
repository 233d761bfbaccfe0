import * as https from "node:https"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { X509Certificate } from "node:crypto"
import { loadAllYaml, type V1MutatingWebhookConfiguration } from "@kubernetes/client-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { ProfileWatcher } from "../../src/webhook/profileWatcher.ts"
import { webhookServerLayer } from "../../src/webhook/server.ts"
import { captureLogs, eventually } from "./helpers.ts"

const manifest = loadAllYaml(readFileSync(join(import.meta.dirname, "../../k8s/webhook.yaml"), "utf8")) as Array<{ kind: string }>
const webhookConfiguration = manifest.find((o) => o.kind === "MutatingWebhookConfiguration") as V1MutatingWebhookConfiguration

const steering = {
  nodeSelector: { type: "virtual-kubelet" },
  toleration: { key: "virtual-kubelet.io/provider", value: "alibabacloud", effect: "NoSchedule" }
}
const service = { namespace: "kube-system", name: "eci-virtual-node", clusterDomain: "cluster.local" }

const review = (uid: string, namespace: string, labels: Record<string, string>) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid,
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    requestKind: { group: "", version: "v1", kind: "Pod" },
    requestResource: { group: "", version: "v1", resource: "pods" },
    namespace,
    operation: "CREATE",
    userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts"] },
    object: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { generateName: "web-7d9f8-", namespace, labels },
      spec: { containers: [{ name: "nginx", image: "nginx" }] }
    },
    oldObject: null,
    dryRun: false,
    options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" }
  }
})

/** One HTTPS request, verifying the server's certificate for the Service's DNS name against `ca`. */
const request = (port: number, ca: string, method: "GET" | "POST", path: string, body?: unknown) =>
  Effect.promise(() =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request({
        host: "127.0.0.1",
        port,
        method,
        path,
        ca,
        servername: "eci-virtual-node.kube-system.svc",
        headers: { "content-type": "application/json" }
      }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
      })
      req.on("error", reject)
      req.end(body === undefined ? undefined : JSON.stringify(body))
    })
  )

const serverLayer = webhookServerLayer({ port: 0, host: "127.0.0.1", service, steering }).pipe(
  Layer.provide(ProfileWatcher.layerWith({ reportingInstance: "test" }))
)

const decodeSecret = (data: Record<string, string> | undefined, key: string) => Buffer.from(data?.[key] ?? "", "base64").toString("utf8")

describe("webhook server over HTTPS (in-memory API server, loopback)", () => {
  it.live("generates and stores the certificate, patches the CA bundle, and steers an eci=true pod", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      const kube = yield* Kube
      yield* admin.putNamespace("apps", { "alibabacloud.com/eci": "true" })
      yield* admin.putNamespace("plain")
      yield* admin.putMutatingWebhookConfiguration(webhookConfiguration)
      yield* admin.putConfigMap({
        metadata: { name: "eci-profile", namespace: "kube-system" },
        data: {
          selectors: JSON.stringify([{
            name: "batch",
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "plain" } },
            objectSelector: { matchLabels: { app: "batch" } },
            effect: { annotations: { "k8s.aliyun.com/eci-use-specs": "2-4Gi" } }
          }])
        }
      })

      yield* Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        const port = server.address._tag === "UnixPathAddress" ? 0 : server.address.port

        // the certificate was stored for the other replicas
        const secret = yield* kube.getSecret("kube-system", "eci-virtual-node-webhook-tls")
        assert.strictEqual(secret.type, "kubernetes.io/tls")
        const ca = decodeSecret(secret.data, "ca.crt")
        const cert = new X509Certificate(decodeSecret(secret.data, "tls.crt"))
        assert.isTrue(cert.verify(new X509Certificate(ca).publicKey))
        assert.include(cert.subjectAltName ?? "", "DNS:eci-virtual-node.kube-system.svc.cluster.local")

        // the CA bundle reaches every entry; the profile selector gets an entry of its own
        const caBundle = Buffer.from(ca).toString("base64")
        const configured = yield* eventually(
          kube.getMutatingWebhookConfiguration("eci-virtual-node"),
          (c) => (c.webhooks ?? []).length === 5 && (c.webhooks ?? []).every((w) => w.clientConfig.caBundle === caBundle)
        )
        const selectorEntry = configured.webhooks?.[4]
        assert.strictEqual(selectorEntry?.name, "selector-0.profile.eci-virtual-node.io")
        assert.deepStrictEqual(selectorEntry?.objectSelector, { matchLabels: { app: "batch" } })
        assert.deepStrictEqual(selectorEntry?.namespaceSelector, {
          matchLabels: { "kubernetes.io/metadata.name": "plain" },
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }]
        })
        assert.strictEqual(selectorEntry?.failurePolicy, "Fail")
        assert.strictEqual(selectorEntry?.clientConfig.service?.path, "/mutate")

        // health
        const health = yield* request(port, ca, "GET", "/healthz")
        assert.deepStrictEqual(health, { status: 200, text: "ok" })

        // a pod labelled eci=true in an unlabelled namespace
        const steered = yield* request(port, ca, "POST", "/mutate", review("uid-1", "plain", { eci: "true", app: "web" }))
        assert.strictEqual(steered.status, 200)
        const out = JSON.parse(steered.text)
        assert.strictEqual(out.apiVersion, "admission.k8s.io/v1")
        assert.strictEqual(out.kind, "AdmissionReview")
        assert.strictEqual(out.response.uid, "uid-1")
        assert.strictEqual(out.response.allowed, true)
        assert.strictEqual(out.response.patchType, "JSONPatch")
        assert.deepStrictEqual(JSON.parse(Buffer.from(out.response.patch, "base64").toString("utf8")), [
          { op: "add", path: "/spec/nodeSelector", value: { type: "virtual-kubelet" } },
          { op: "add", path: "/spec/tolerations", value: [{ key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud", effect: "NoSchedule" }] }
        ])
        const line = logs.lines.find((l) => l["msg"] === "steering pod onto the virtual node")
        assert.strictEqual(line?.["pod"], "plain/web-7d9f8-<generated>")
        assert.strictEqual(line?.["steeredBy"], "pod label eci=true")

        // a pod in a namespace labelled alibabacloud.com/eci=true (labels read through Kube)
        const byNamespace = JSON.parse((yield* request(port, ca, "POST", "/mutate", review("uid-2", "apps", {}))).text)
        assert.strictEqual(byNamespace.response.patchType, "JSONPatch")

        // a profile selector: annotation added, pod steered
        const bySelector = JSON.parse((yield* request(port, ca, "POST", "/mutate", review("uid-3", "plain", { app: "batch" }))).text)
        assert.deepStrictEqual(JSON.parse(Buffer.from(bySelector.response.patch, "base64").toString("utf8"))[0], {
          op: "add",
          path: "/metadata/annotations",
          value: { "k8s.aliyun.com/eci-use-specs": "2-4Gi" }
        })

        // anyone else passes unchanged
        const plain = JSON.parse((yield* request(port, ca, "POST", "/mutate", review("uid-4", "plain", { app: "web" }))).text)
        assert.deepStrictEqual(plain.response, { uid: "uid-4", allowed: true })

        // a namespace that cannot be read: decided on the pod's labels, still allowed
        const ghost = JSON.parse((yield* request(port, ca, "POST", "/mutate", review("uid-5", "ghost", { eci: "true" }))).text)
        assert.strictEqual(ghost.response.allowed, true)
        assert.strictEqual(ghost.response.patchType, "JSONPatch")

        // not an AdmissionReview: 400 with the reason
        const junk = yield* request(port, ca, "POST", "/mutate", { hello: "world" })
        assert.deepStrictEqual(junk, {
          status: 400,
          text: "apiVersion/kind is undefined/undefined; expected admission.k8s.io/v1/AdmissionReview (set admissionReviewVersions: [\"v1\"])"
        })

        // hot reload: the selector goes, and so does its entry
        yield* admin.putConfigMap({ metadata: { name: "eci-profile", namespace: "kube-system" }, data: { selectors: "" } })
        yield* eventually(kube.getMutatingWebhookConfiguration("eci-virtual-node"), (c) => (c.webhooks ?? []).length === 4)
        const after = JSON.parse((yield* request(port, ca, "POST", "/mutate", review("uid-6", "plain", { app: "batch" }))).text)
        assert.deepStrictEqual(after.response, { uid: "uid-6", allowed: true })
      }).pipe(Effect.provide(serverLayer))

      // a second replica serves the stored certificate (one caBundle fits both)
      const stored = yield* kube.getSecret("kube-system", "eci-virtual-node-webhook-tls")
      yield* Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        const port = server.address._tag === "UnixPathAddress" ? 0 : server.address.port
        const health = yield* request(port, decodeSecret(stored.data, "ca.crt"), "GET", "/healthz")
        assert.strictEqual(health.status, 200)
        const again = yield* kube.getSecret("kube-system", "eci-virtual-node-webhook-tls")
        assert.strictEqual(again.metadata?.resourceVersion, stored.metadata?.resourceVersion)
      }).pipe(Effect.provide(serverLayer))
    }).pipe(Effect.provide(KubeInMemory()), Effect.provide(logs.layer))
  })
})
