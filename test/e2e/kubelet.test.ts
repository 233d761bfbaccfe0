/**
 * The kubelet API end to end (issue 8): kubectl → kube-apiserver → our kubelet port → ECI (the
 * simulator on the wire), and metrics-server scraping us for `kubectl top`. kube-apiserver reaches
 * the node at its InternalIP (127.0.0.1) and verifies our serving certificate with the cluster CA;
 * we verify its kubelet-client certificate with the same CA and ask SubjectAccessReview whether it
 * may — which it may through the binding every kubeadm cluster has (applied below).
 */
import * as fs from "node:fs"
import * as https from "node:https"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { ensureBinaries } from "../../src/sandbox/binaries.ts"
import { runCommand } from "../../src/sandbox/process.ts"
import { Sandbox, type SandboxInfo } from "../../src/sandbox/sandbox.ts"
import { getPod } from "./fixtures/kubectl.ts"
import { waitFor } from "./fixtures/wait.ts"

beforeAll(async () => {
  await Effect.runPromise(ensureBinaries({ metricsServer: true }))
})

const NS = "kubelet-e2e"

const kubeletPort = (sb: SandboxInfo) => {
  const args = sb.replicas[0]!.args
  return Number(args[args.indexOf("--kubelet-port") + 1])
}

/** A request straight to the kubelet port, verifying its certificate with the cluster CA. */
const direct = (sb: SandboxInfo, path: string, client?: { readonly certPath: string; readonly keyPath: string }) =>
  Effect.callback<{ readonly status: number; readonly body: string }, Error>((resume) => {
    const req = https.request({
      host: "127.0.0.1",
      port: kubeletPort(sb),
      path,
      ca: sb.controlPlane.caPem,
      servername: "localhost",
      ...(client === undefined ? {} : { cert: fs.readFileSync(client.certPath), key: fs.readFileSync(client.keyPath) })
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
  })

const running = (sb: SandboxInfo, name: string) =>
  waitFor(getPod(sb, NS, name), (p) => p?.status?.phase === "Running", { description: `pod ${name} Running`, timeout: "90 seconds" })

layer(Sandbox.layer({ replicas: 1, metricsServer: true, }), { excludeTestServices: true, timeout: "30 minutes" })(
  "kubectl logs, exec and top on the virtual node",
  (it) => {
    it.effect("kubectl logs, --tail and -f", () =>
      Effect.gen(function*() {
        const sb = yield* Sandbox
        yield* sb.controlPlane.ensureNamespace(NS)
        yield* sb.kubectlOk(["-n", NS, "run", "printer", "--image", "busybox", "-l", "eci=true", "--", "sh", "-c", "echo line 1; echo line 2; echo line 3; sleep 3600"])
        yield* running(sb, "printer")
        const logs = yield* waitFor(sb.kubectl(["-n", NS, "logs", "printer"]), (r) => r.exitCode === 0 && r.stdout === "line 1\nline 2\nline 3\n", {
          description: "kubectl logs printer"
        })
        assert.strictEqual(logs.stdout, "line 1\nline 2\nline 3\n")
        assert.strictEqual(yield* sb.kubectlOk(["-n", NS, "logs", "printer", "--tail=1"]), "line 3\n")

        // nginx logs a line every 200 ms in the simulator's fast profile: follow a few seconds of it.
        yield* sb.kubectlOk(["-n", NS, "run", "web", "--image", "nginx", "-l", "eci=true"])
        yield* running(sb, "web")
        const kubectl = sb.controlPlane.binDir + "/kubectl"
        const follow = yield* runCommand("timeout", ["6", kubectl, `--kubeconfig=${sb.controlPlane.kubeconfigPath}`, "-n", NS, "logs", "-f", "web", "--tail=2"])
        assert.strictEqual(follow.exitCode, 124, follow.stderr) // still following when timeout stopped it
        const requests = follow.stdout.trimEnd().split("\n").map((l) => Number(/request=(\d+)/.exec(l)?.[1]))
        assert.isAtLeast(requests.length, 10, follow.stdout)
        assert.deepStrictEqual(requests, requests.map((_, i) => requests[0]! + i), "every line once, none missing")
      }))

    it.effect("kubectl exec: output, exit codes, stdin", () =>
      Effect.gen(function*() {
        const sb = yield* Sandbox
        const hi = yield* sb.kubectl(["-n", NS, "exec", "printer", "--", "echo", "hi"])
        assert.deepStrictEqual([hi.exitCode, hi.stdout], [0, "hi\n"], hi.stderr)
        const three = yield* sb.kubectl(["-n", NS, "exec", "printer", "--", "sh", "-c", "exit 3"])
        assert.strictEqual(three.exitCode, 3, three.stderr)
        const cat = yield* sb.kubectl(["-n", NS, "exec", "-i", "printer", "--", "cat"], { stdin: "hello through stdin\n" })
        assert.deepStrictEqual([cat.exitCode, cat.stdout], [0, "hello through stdin\n"], cat.stderr)
        const attach = yield* sb.kubectl(["-n", NS, "attach", "printer"])
        assert.notStrictEqual(attach.exitCode, 0)
        assert.include(attach.stderr, "attach is not supported for pods on virtual node")
      }))

    it.effect("kubectl top pod lists our pods (metrics-server scrapes /metrics/resource)", () =>
      Effect.gen(function*() {
        const sb = yield* Sandbox
        // metrics-server needs two scrapes 15 s apart before it has a rate.
        const top = yield* waitFor(sb.kubectl(["-n", NS, "top", "pod", "--no-headers"]), (r) => r.exitCode === 0 && r.stdout.includes("printer") && r.stdout.includes("web"), {
          description: "kubectl top pod lists printer and web",
          timeout: "120 seconds",
          interval: "2 seconds"
        })
        for (const line of top.stdout.trim().split("\n")) assert.match(line.trim(), /^\S+\s+\d+m\s+\d+Mi$/)
      }))

    it.effect("the kubelet port: 401 without a certificate, 403 for a user without RBAC", () =>
      Effect.gen(function*() {
        const sb = yield* Sandbox
        assert.deepStrictEqual(yield* direct(sb, "/pods"), { status: 401, body: "Unauthorized\n" })
        const nobody = yield* sb.controlPlane.issueCertificate({ name: "nobody", commonName: "nobody", organizations: ["nobodies"], usage: "client" })
        assert.deepStrictEqual(yield* direct(sb, "/pods", nobody), {
          status: 403,
          body: "Forbidden (user=nobody, verb=get, resource=nodes, subresource(s)=[pods proxy])\n"
        })
        const kubeletClient = yield* sb.controlPlane.issueCertificate({ name: "kubelet-client-2", commonName: "kube-apiserver-kubelet-client", usage: "client" })
        assert.strictEqual((yield* direct(sb, "/pods", kubeletClient)).status, 200)
      }))
  }
)
