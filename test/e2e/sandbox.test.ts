/**
 * The sandbox every product e2e test stands on (src/sandbox/sandbox.ts): a real control plane, the
 * wire ECI simulator, k8s/'s RBAC and webhook configuration, and the product as child processes under
 * its own ServiceAccount. These tests check the harness itself and what only it can check: that the
 * whole of k8s/ applies to a real API server and that teardown leaves nothing running.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll } from "vitest"
import { ensureBinaries } from "../../src/sandbox/binaries.ts"
import { credentialsSecretRef, K8S_DIR, k8sFile, parseJsonStream } from "../../src/sandbox/manifests.ts"
import { make as makeControlPlane } from "../../src/sandbox/controlPlane.ts"
import { make, Sandbox } from "../../src/sandbox/sandbox.ts"
import { describeContainerGroups } from "./fixtures/eciSdk.ts"
import { getJson, getPod, jsonPath, waitForNodeCondition } from "./fixtures/kubectl.ts"
import { alivePids, processesMentioning } from "./fixtures/processes.ts"
import { sandboxSuite } from "./fixtures/sandbox.ts"
import { waitFor } from "./fixtures/wait.ts"

// Built (or found in the cache) once, under the long hook timeout: a cold build takes minutes.
beforeAll(async () => {
  await Effect.runPromise(ensureBinaries())
})

interface Webhook {
  readonly name: string
  readonly clientConfig: { readonly url?: string; readonly service?: unknown; readonly caBundle?: string }
  readonly [field: string]: unknown
}
interface WebhookConfiguration {
  readonly kind: string
  readonly webhooks: ReadonlyArray<Webhook>
}

const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8")

// The webhook and the Node are awaited by the tests that need them, so the others report on their own parts.
sandboxSuite("sandbox with one replica", { replicas: 1, waitForWebhook: false, waitForNodeReady: false }, (it) => {
  it.effect("runs the control plane, the simulator and one replica under the product's ServiceAccount; the Node is Ready", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      assert.strictEqual(yield* sb.kubectlOk(["get", "--raw", "/readyz"]), "ok")
      assert.deepStrictEqual(yield* sb.eci.admin("GET", "health"), { ok: true })

      // The replica authenticates as the shipped ServiceAccount, and that account is not an admin.
      const whoami = yield* sb.kubectlAsProduct(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
      assert.strictEqual(whoami.stdout, "system:serviceaccount:kube-system:eci-virtual-node")
      assert.strictEqual((yield* sb.kubectlAsProduct(["auth", "can-i", "create", "deployments", "-A"])).stdout.trim(), "no")
      assert.include(sb.replicas[0]?.args.join(" ") ?? "", `--kubeconfig ${sb.productKubeconfig}`)

      // Only the product can have registered the Node: nobody else here creates one.
      const vn = sb.replicas[0]
      assert.isDefined(vn)
      assert.strictEqual((yield* vn!.get("/readyz")).status, 200)
      const ready = yield* waitForNodeCondition(sb, sb.nodeName, "Ready", "True")
      assert.strictEqual(ready.status, "True")
      assert.strictEqual(yield* jsonPath(sb, ["nodes", "-l", "type=virtual-kubelet"], "{.items[*].metadata.name}"), sb.nodeName)
      const holder = yield* jsonPath(sb, ["-n", "kube-node-lease", "lease", sb.nodeName], "{.spec.holderIdentity}")
      assert.strictEqual(holder, sb.nodeName)

      // Its log lines are JSON and captured.
      const line = yield* vn!.waitForLog((l) => l.json !== undefined, { description: "in JSON" })
      assert.isString(line.json?.["msg"] ?? line.json?.["message"])
    }))

  it.effect("the credentials Secret holds the simulator's key pair; the simulator rejects a wrong secret and an unknown key", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const { namespace, name } = credentialsSecretRef()
      const secret = yield* getJson<{ readonly data?: Record<string, string> }>(sb, ["-n", namespace, "secret", name])
      const key = sb.eci.accessKey
      assert.strictEqual(b64(secret?.data?.["access-key-id"]), key.accessKeyId)
      assert.strictEqual(b64(secret?.data?.["access-key-secret"]), Redacted.value(key.accessKeySecret))

      const ok = yield* describeContainerGroups(sb.eci.endpoint, sb.region, key)
      assert.strictEqual(ok._tag, "Ok")
      const wrongSecret = yield* describeContainerGroups(sb.eci.endpoint, sb.region, { ...key, accessKeySecret: Redacted.make("not-the-secret") })
      assert.deepInclude(wrongSecret, { _tag: "Error", code: "SignatureDoesNotMatch", statusCode: 400 })
      const unknownKey = yield* describeContainerGroups(sb.eci.endpoint, sb.region, { ...key, accessKeyId: "LTAInobodyhasthiskey" })
      assert.deepInclude(unknownKey, { _tag: "Error", code: "InvalidAccessKeyId.NotFound", statusCode: 404 })
    }))

  it.effect("registers k8s/webhook.yaml's webhooks, called by URL on loopback; an eci=true pod is steered through it", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const shipped = parseJsonStream(yield* sb.kubectlOk(["create", "--dry-run=client", "-o", "json", "-f", k8sFile("webhook.yaml")]))
      const want = (shipped as ReadonlyArray<WebhookConfiguration>).find((o) => o.kind === "MutatingWebhookConfiguration")
      const got = yield* getJson<WebhookConfiguration>(sb, ["mutatingwebhookconfiguration", "eci-virtual-node"])
      assert.isDefined(want)
      assert.isDefined(got)
      assert.deepStrictEqual(got!.webhooks.map((w) => w.name), want!.webhooks.map((w) => w.name))
      for (const [i, w] of got!.webhooks.entries()) {
        assert.strictEqual(w.clientConfig.url, sb.webhookUrl)
        assert.isUndefined(w.clientConfig.service)
        // Everything but the client config is the shipped entry's (defaults filled in by the server).
        const { clientConfig: _a, ...rest } = w
        const { clientConfig: _b, ...shippedRest } = want!.webhooks[i]!
        for (const [field, value] of Object.entries(shippedRest)) assert.deepStrictEqual(rest[field], value, `${w.name}.${field}`)
      }

      // The replica patched in its CA, and the API server reaches it through the URL.
      yield* sb.awaitWebhook()
      yield* sb.controlPlane.ensureNamespace("steer")
      yield* sb.kubectlOk(["-n", "steer", "run", "web", "--image=nginx", "--labels=eci=true", "--restart=Never"])
      const pod = yield* getPod(sb, "steer", "web")
      assert.deepStrictEqual(pod?.spec?.nodeSelector, { type: "virtual-kubelet" })
      yield* sb.kubectlOk(["-n", "steer", "run", "plain", "--image=nginx", "--restart=Never"])
      assert.isUndefined((yield* getPod(sb, "steer", "plain"))?.spec?.nodeSelector)
    }))

  it.effect("a Secret the simulator rejects makes the Node NotReady with a message; restoring it makes it Ready, without a restart", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const vn = sb.replicas[0]!
      const starts = yield* vn.starts
      yield* waitForNodeCondition(sb, sb.nodeName, "Ready", "True")
      yield* sb.credentials.break("wrong-secret")
      const notReady = yield* waitForNodeCondition(sb, sb.nodeName, "Ready", "False", { timeout: "90 seconds" })
      assert.match(`${notReady.reason} ${notReady.message}`, /SignatureDoesNotMatch|credential|access key/i)
      yield* sb.credentials.restore
      yield* waitForNodeCondition(sb, sb.nodeName, "Ready", "True", { timeout: "90 seconds" })
      assert.strictEqual(yield* vn.starts, starts)
      assert.isTrue(yield* vn.isRunning)
    }))
})

describe("k8s/", () => {
  // On a cluster of its own: applied over the sandbox's objects (its webhook configuration calls a
  // URL, not the Service) a dry run would be a merge with them, not an install.
  it.live("the whole of k8s/ applies cleanly to a fresh API server (kubectl apply -k k8s/ --dry-run=server)", () =>
    Effect.gen(function*() {
      const cp = yield* makeControlPlane()
      const r = yield* cp.kubectl(["apply", "-k", K8S_DIR, "--dry-run=server"])
      assert.strictEqual(r.exitCode, 0, r.stderr)
      for (const kind of ["serviceaccount", "clusterrole.rbac.authorization.k8s.io", "deployment.apps", "mutatingwebhookconfiguration.admissionregistration.k8s.io"]) {
        assert.include(r.stdout, `${kind}/eci-virtual-node created (server dry run)`)
      }
      // "The whole": every manifest in k8s/ is in the kustomization, except the example Secret.
      const kustomization = fs.readFileSync(path.join(K8S_DIR, "kustomization.yaml"), "utf8")
      const manifests = fs.readdirSync(K8S_DIR).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml" && !f.includes(".example."))
      assert.deepStrictEqual(manifests.filter((f) => !new RegExp(`^\\s*-\\s*${f.replace(".", "\\.")}\\s*$`, "m").test(kustomization)), [])
    }).pipe(Effect.scoped), { timeout: 300_000 })
})

describe("sandbox lifecycle", () => {
  it.live("two replicas with distinct ports and identities; one restarts after SIGKILL; teardown leaves no process and no work dir", () =>
    Effect.gen(function*() {
      const seen = new Set<number>()
      const record = (pids: ReadonlyArray<{ readonly pid: number }>) => pids.forEach((p) => seen.add(p.pid))
      const workDir = yield* Effect.scoped(Effect.gen(function*() {
        const sb = yield* make({ replicas: 2, waitForWebhook: false, waitForNodeReady: false })
        const [a, b] = sb.replicas
        assert.isDefined(a)
        assert.isDefined(b)
        const ports = [a!.ports, b!.ports].flatMap((p) => [p.kubelet, p.webhook, p.metrics])
        assert.strictEqual(new Set(ports).size, 6, `distinct ports: ${ports.join(", ")}`)
        assert.include(a!.args.join(" "), "--pod-name virtual-node-0")
        assert.include(b!.args.join(" "), "--pod-name virtual-node-1")
        const running = yield* sb.processes
        assert.deepStrictEqual(running.map((p) => p.name).sort(), [
          "eci-simulator", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "virtual-node-0", "virtual-node-1"
        ])
        record(running)
        assert.deepStrictEqual(alivePids([...seen]), [...seen])

        // Killed without warning, then started again with the same flags: it comes back ready.
        const exit = yield* a!.stop("SIGKILL")
        assert.strictEqual(exit?.signal, "SIGKILL")
        assert.isFalse(yield* a!.isRunning)
        yield* a!.start()
        assert.strictEqual(yield* a!.starts, 2)
        record(yield* sb.processes)
        assert.strictEqual((yield* waitFor(a!.get("/readyz"), (r) => r.status === 200, { description: "replica 0 /readyz" })).status, 200)
        return sb.workDir
      }))
      assert.deepStrictEqual(alivePids([...seen]), [], "every process group is gone after the scope closed")
      assert.deepStrictEqual(processesMentioning(workDir), [])
      assert.isFalse(fs.existsSync(workDir), "the temp work dir is removed after a clean stop")
    }), { timeout: 600_000 })

  it.live("a replica that cannot start fails the sandbox with its own words, and nothing is left running", () =>
    Effect.gen(function*() {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "eci-sandbox-fail-"))
      const exit = yield* Effect.exit(Effect.scoped(make({ workDir, replicas: 1, virtualNode: { args: ["--node-pods", "0"] } })))
      assert.isTrue(Exit.isFailure(exit))
      const message = Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : ""
      assert.include(message, "virtual-node-0")
      assert.include(message, "before /readyz answered 200")
      assert.include(message, "node-pods") // the product's start-up refusal, from the tail of its log
      assert.deepStrictEqual(processesMentioning(workDir), [])
      fs.rmSync(workDir, { recursive: true, force: true })
    }), { timeout: 300_000 })
})
