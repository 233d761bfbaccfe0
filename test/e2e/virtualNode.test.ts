/**
 * The virtual node end to end (issue 5): registration and heartbeats on a real API server, steering
 * through the real scheduler, and leader election between two replicas — each replica a real
 * process under the shipped RBAC, killed and stopped as a cluster would.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { ensureBinaries } from "../../src/sandbox/binaries.ts"
import { Sandbox, type SandboxInfo } from "../../src/sandbox/sandbox.ts"
import { getNode, getPod, jsonPath, newNamespace } from "./fixtures/kubectl.ts"
import { sandboxSuite } from "./fixtures/sandbox.ts"
import { waitFor, waitUntil } from "./fixtures/wait.ts"

beforeAll(async () => {
  await Effect.runPromise(ensureBinaries())
})

const leaseRenewTime = (sb: SandboxInfo) => jsonPath(sb, ["-n", "kube-node-lease", "lease", sb.nodeName], "{.spec.renewTime}")
const leaderOf = (sb: SandboxInfo) =>
  jsonPath(sb, ["-n", "kube-system", "lease", `eci-virtual-node-${sb.nodeName}`], "{.spec.holderIdentity}")
const readyStatus = (sb: SandboxInfo) =>
  getNode(sb, sb.nodeName).pipe(Effect.map((n) => n?.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "absent"))

sandboxSuite("the virtual node with two replicas", { replicas: 2 }, (it) => {
  it.effect("is Ready, with the labels and taint users select on, and renews its Lease every 10 s", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const node = yield* getNode(sb, sb.nodeName)
      assert.strictEqual(node?.metadata?.labels?.["type"], "virtual-kubelet")
      assert.strictEqual(node?.metadata?.labels?.["kubernetes.io/role"], "agent")
      assert.deepInclude(node?.spec?.taints ?? [], { key: "virtual-kubelet.io/provider", value: "alibabacloud", effect: "NoSchedule" })
      const first = yield* leaseRenewTime(sb)
      const next = yield* waitFor(leaseRenewTime(sb), (t) => t !== first, { description: "the Lease renewed", timeout: "25 seconds" })
      const gap = Date.parse(next) - Date.parse(first)
      assert.isAtLeast(gap, 9_000)
      assert.isAtMost(gap, 12_000)
    }))

  it.effect("steers a pod of an eci=true namespace onto the virtual node through the real scheduler", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "steered")
      yield* sb.kubectlOk(["label", "namespace", "steered", "eci=true"])
      yield* sb.kubectlOk(["-n", "steered", "run", "a", "--image", "nginx"])
      const pod = yield* waitFor(getPod(sb, "steered", "a"), (p) => p?.spec?.nodeName !== undefined, { description: "pod a scheduled" })
      assert.strictEqual(pod?.spec?.nodeName, sb.nodeName)
      assert.deepStrictEqual(pod?.spec?.nodeSelector, { type: "virtual-kubelet" })
      yield* newNamespace(sb, "plain")
      yield* sb.kubectlOk(["-n", "plain", "run", "b", "--image", "nginx"])
      const plain = yield* waitFor(
        getPod(sb, "plain", "b"),
        (p) => p?.status?.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable") === true,
        { description: "pod b found unschedulable (it tolerates no virtual node)" }
      )
      assert.isUndefined(plain?.spec?.nodeName)
      assert.isUndefined(plain?.spec?.nodeSelector)
    }))

  it.effect("a killed leader is replaced by the standby inside the 50 s grace period; the node stays Ready", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const leaderId = yield* waitFor(leaderOf(sb), (h) => h !== "", { description: "a leader elected" })
      const leader = sb.replicas.find((r) => r.id === leaderId)!
      const standby = sb.replicas.find((r) => r.id !== leaderId)!
      const killedAt = Date.now()
      yield* leader.stop("SIGKILL")
      yield* waitUntil(leaderOf(sb).pipe(Effect.map((h) => h === standby.id)), {
        description: `${standby.id} takes over`,
        timeout: "45 seconds",
        interval: "500 millis"
      })
      const takeoverSeconds = (Date.now() - killedAt) / 1000
      assert.isAtMost(takeoverSeconds, 40, "well inside the node-monitor grace period")
      // The new leader heartbeats: the node Lease moves on, and the node never went NotReady.
      const renewed = yield* leaseRenewTime(sb)
      yield* waitUntil(leaseRenewTime(sb).pipe(Effect.map((t) => t !== renewed)), { description: "the new leader renews the Lease", timeout: "25 seconds" })
      assert.strictEqual(yield* readyStatus(sb), "True")
      yield* leader.start()
    }))

  it.effect("a leader stopped with SIGTERM hands over at once", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const leaderId = yield* waitFor(leaderOf(sb), (h) => h !== "", { description: "a leader elected" })
      const leader = sb.replicas.find((r) => r.id === leaderId)!
      const standby = sb.replicas.find((r) => r.id !== leaderId)!
      yield* standby.awaitReady
      const stoppedAt = Date.now()
      yield* leader.stop("SIGTERM")
      yield* waitUntil(leaderOf(sb).pipe(Effect.map((h) => h === standby.id)), {
        description: `${standby.id} takes over after a graceful stop`,
        timeout: "20 seconds",
        interval: "200 millis"
      })
      assert.isAtMost((Date.now() - stoppedAt) / 1000, 8, "released, not expired (the lease lasts 15 s)")
      yield* leader.start()
    }))

  it.effect("a deleted Node is registered again", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const before = (yield* getNode(sb, sb.nodeName))?.metadata?.uid
      yield* sb.kubectlOk(["delete", "node", sb.nodeName, "--wait=true"])
      const again = yield* waitFor(getNode(sb, sb.nodeName), (n) => n !== undefined && n.metadata?.uid !== before, {
        description: "the Node registered again",
        timeout: "90 seconds",
        interval: "1 second"
      })
      assert.strictEqual(again?.metadata?.labels?.["type"], "virtual-kubelet")
      yield* waitUntil(readyStatus(sb).pipe(Effect.map((s) => s === "True")), { description: "Ready again", timeout: "60 seconds" })
    }))
})
