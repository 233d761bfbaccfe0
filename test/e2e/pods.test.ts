/**
 * Pods on ECI, end to end (issue 7): the real API server, scheduler and controller-manager, the
 * product under its shipped RBAC, the ECI simulator on the wire reached through the real SDK, and
 * kubectl as a user types it. Every wait polls the real system for a condition, with a bound.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { ensureBinaries } from "../../src/sandbox/binaries.ts"
import { Sandbox, type SandboxInfo } from "../../src/sandbox/sandbox.ts"
import { IDENTITY_TAGS } from "../../src/translate/identity.ts"
import { getJson, getPod, jsonPath, newNamespace } from "./fixtures/kubectl.ts"
import { waitFor, waitUntil } from "./fixtures/wait.ts"

beforeAll(async () => {
  await Effect.runPromise(ensureBinaries())
})

const uidTag = (i: { readonly tags: ReadonlyArray<{ readonly key: string; readonly value: string }> }) =>
  i.tags.find((t) => t.key === IDENTITY_TAGS.podUid)?.value
const namespaceTag = (i: { readonly tags: ReadonlyArray<{ readonly key: string; readonly value: string }> }) =>
  i.tags.find((t) => t.key === IDENTITY_TAGS.namespace)?.value

/** Instances that still exist (not being released) for pods of a namespace. */
const groupsIn = (sb: SandboxInfo, namespace: string) =>
  sb.eci.instances.pipe(Effect.map((all) => all.filter((i) => namespaceTag(i) === namespace && i.status !== "Terminating")))

const podPhase = (sb: SandboxInfo, namespace: string, name: string) =>
  getPod(sb, namespace, name).pipe(Effect.map((p) => p?.status?.phase ?? "absent"))

layer(Sandbox.layer({ replicas: 1 }), { excludeTestServices: true, timeout: "30 minutes" })("pods on ECI", (it) => {
  it.effect("an nginx pod runs with a podIP on the virtual node, and deleting it leaves no group", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "web")
      yield* sb.kubectlOk(["-n", "web", "run", "web", "--image", "nginx", "-l", "eci=true"])
      const pod = yield* waitFor(getPod(sb, "web", "web"), (p) => p?.status?.phase === "Running", {
        description: "pod web Running",
        timeout: "90 seconds"
      })
      assert.strictEqual(pod?.spec?.nodeName, sb.nodeName)
      assert.match(pod?.status?.podIP ?? "", /^\d+\.\d+\.\d+\.\d+$/)
      assert.match(pod?.metadata?.annotations?.["k8s.aliyun.com/eci-instance-id"] ?? "", /^eci-/)
      const groups = yield* groupsIn(sb, "web")
      assert.deepStrictEqual(groups.map(uidTag), [pod?.metadata?.uid])
      assert.strictEqual(groups[0]?.intranetIp, pod?.status?.podIP)

      yield* sb.kubectlOk(["-n", "web", "delete", "pod", "web", "--wait=true", "--timeout=90s"])
      yield* waitUntil(groupsIn(sb, "web").pipe(Effect.map((g) => g.length === 0)), { description: "no group left in namespace web" })
    }))

  it.effect("a Job completes: its pod Succeeded, the Job Complete", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "jobs")
      yield* sb.kubectlOk(["label", "namespace", "jobs", "eci=true"])
      yield* sb.kubectlOk(["-n", "jobs", "create", "job", "hello", "--image", "busybox", "--", "sh", "-c", "echo hello; sleep 1"])
      yield* waitUntil(
        jsonPath(sb, ["-n", "jobs", "job", "hello"], `{.status.conditions[?(@.type=="Complete")].status}`).pipe(Effect.map((s) => s === "True")),
        { description: "Job hello Complete", timeout: "120 seconds" }
      )
      const phases = yield* jsonPath(sb, ["-n", "jobs", "pods", "-l", "job-name=hello"], "{.items[*].status.phase}")
      assert.strictEqual(phases, "Succeeded")
    }))

  it.effect("a Deployment of 3 replicas runs, and scaled to 0 leaves no group", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "deploy")
      yield* sb.kubectlOk(["label", "namespace", "deploy", "alibabacloud.com/eci=true"])
      yield* sb.kubectlOk(["-n", "deploy", "create", "deployment", "web", "--image", "nginx", "--replicas", "3"])
      yield* waitUntil(
        jsonPath(sb, ["-n", "deploy", "deployment", "web"], "{.status.readyReplicas}").pipe(Effect.map((n) => n === "3")),
        { description: "3 replicas ready", timeout: "120 seconds" }
      )
      assert.strictEqual((yield* groupsIn(sb, "deploy")).length, 3)
      yield* sb.kubectlOk(["-n", "deploy", "scale", "deployment", "web", "--replicas", "0"])
      yield* waitUntil(groupsIn(sb, "deploy").pipe(Effect.map((g) => g.length === 0)), { description: "all groups deleted", timeout: "120 seconds" })
      yield* waitUntil(jsonPath(sb, ["-n", "deploy", "pods"], "{.items[*].metadata.name}").pipe(Effect.map((s) => s === "")), {
        description: "all pods gone"
      })
    }))

  it.effect("ConfigMap and Secret volumes and env reach the container group as files and values", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "config")
      yield* sb.kubectlOk(["-n", "config", "create", "configmap", "settings", "--from-literal=app.conf=mode=fast"])
      yield* sb.kubectlOk(["-n", "config", "create", "secret", "generic", "creds", "--from-literal=password=hunter2-e2e"])
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "reader", namespace: "config", labels: { eci: "true" } },
        spec: {
          containers: [{
            name: "main",
            image: "busybox",
            command: ["sh", "-c", "cat /etc/app/app.conf; sleep 3600"],
            env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } }],
            volumeMounts: [{ name: "settings", mountPath: "/etc/app" }, { name: "creds", mountPath: "/etc/creds", readOnly: true }]
          }],
          volumes: [{ name: "settings", configMap: { name: "settings" } }, { name: "creds", secret: { secretName: "creds" } }]
        }
      }
      yield* sb.kubectlOk(["apply", "-f", "-"], { stdin: JSON.stringify(pod) })
      yield* waitUntil(podPhase(sb, "config", "reader").pipe(Effect.map((p) => p === "Running")), { description: "reader Running", timeout: "90 seconds" })
      const [group] = yield* groupsIn(sb, "config")
      const request = group?.createRequest as {
        Container?: ReadonlyArray<{ EnvironmentVar?: ReadonlyArray<{ Key?: string; Value?: string }> }>
        Volume?: ReadonlyArray<{ Name?: string; ConfigFileVolume?: { ConfigFileToPath?: ReadonlyArray<{ Path?: string; Content?: string }> } }>
      }
      const env = request.Container?.[0]?.EnvironmentVar?.find((e) => e.Key === "PASSWORD")
      assert.strictEqual(env?.Value, "hunter2-e2e")
      const file = (volume: string, path: string) => {
        const f = request.Volume?.find((v) => v.Name === volume)?.ConfigFileVolume?.ConfigFileToPath?.find((p) => p.Path === path)
        return f?.Content === undefined ? undefined : Buffer.from(f.Content, "base64").toString("utf8")
      }
      assert.strictEqual(file("settings", "app.conf"), "mode=fast")
      assert.strictEqual(file("creds", "password"), "hunter2-e2e")
      // …and the secret value is in no log line of the product.
      const lines = yield* sb.replicas[0]!.logs
      assert.isFalse(lines.some((l) => JSON.stringify(l).includes("hunter2-e2e")))
    }))

  it.effect("a pod ECI cannot run faithfully (hostPath) becomes Failed with an Event naming the field; nothing is created", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "refused")
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "host", namespace: "refused", labels: { eci: "true" } },
        spec: {
          containers: [{ name: "main", image: "busybox", command: ["sleep", "3600"], volumeMounts: [{ name: "h", mountPath: "/host" }] }],
          volumes: [{ name: "h", hostPath: { path: "/var/log" } }]
        }
      }
      yield* sb.kubectlOk(["apply", "-f", "-"], { stdin: JSON.stringify(pod) })
      yield* waitUntil(podPhase(sb, "refused", "host").pipe(Effect.map((p) => p === "Failed")), { description: "pod host Failed" })
      const events = yield* getJson<{ items: ReadonlyArray<{ reason?: string; message?: string }> }>(sb, [
        "-n", "refused", "events", "--field-selector", "involvedObject.name=host"
      ])
      assert.isTrue(
        (events?.items ?? []).some((e) => (e.message ?? "").includes("spec.volumes[0].hostPath")),
        `events: ${JSON.stringify(events?.items.map((e) => [e.reason, e.message]))}`
      )
      assert.strictEqual((yield* groupsIn(sb, "refused")).length, 0)
    }))

  it.effect("killing the virtual node during a burst of 50 pods and restarting it leaves no duplicated or leaked group", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      const vn = sb.replicas[0]!
      yield* newNamespace(sb, "burst")
      yield* sb.kubectlOk(["label", "namespace", "burst", "eci=true"])
      yield* sb.kubectlOk(["-n", "burst", "create", "deployment", "burst", "--image", "nginx", "--replicas", "50"])
      // Kill it while the burst is being created: wait for the first groups, not for a time.
      yield* waitUntil(groupsIn(sb, "burst").pipe(Effect.map((g) => g.length >= 5)), { description: "the burst has begun" })
      yield* vn.stop("SIGKILL")
      yield* vn.start()
      yield* waitUntil(
        jsonPath(sb, ["-n", "burst", "deployment", "burst"], "{.status.readyReplicas}").pipe(Effect.map((n) => n === "50")),
        { description: "50 replicas ready after the restart", timeout: "240 seconds", interval: "1 second" }
      )
      const pods = yield* getJson<{ items: ReadonlyArray<{ metadata?: { uid?: string } }> }>(sb, ["-n", "burst", "pods"])
      const uids = new Set((pods?.items ?? []).map((p) => p.metadata?.uid))
      yield* waitUntil(
        groupsIn(sb, "burst").pipe(Effect.map((g) => g.length === 50)),
        { description: "exactly 50 groups (orphans of the crash collected)", timeout: "180 seconds", interval: "1 second" }
      )
      const groups = yield* groupsIn(sb, "burst")
      const perPod = new Map<string, number>()
      for (const g of groups) perPod.set(uidTag(g) ?? "", (perPod.get(uidTag(g) ?? "") ?? 0) + 1)
      assert.isTrue([...perPod.keys()].every((uid) => uids.has(uid)), "every group belongs to a live pod")
      assert.isTrue([...perPod.values()].every((n) => n === 1), "no pod has two groups")
      assert.strictEqual(perPod.size, 50)
    }))

  it.effect("deleting a namespace removes all its groups", () =>
    Effect.gen(function*() {
      const sb = yield* Sandbox
      yield* newNamespace(sb, "doomed")
      yield* sb.kubectlOk(["label", "namespace", "doomed", "eci=true"])
      yield* sb.kubectlOk(["-n", "doomed", "create", "deployment", "d", "--image", "nginx", "--replicas", "2"])
      yield* waitUntil(groupsIn(sb, "doomed").pipe(Effect.map((g) => g.length === 2)), { description: "2 groups in doomed", timeout: "90 seconds" })
      yield* sb.kubectlOk(["delete", "namespace", "doomed", "--wait=true", "--timeout=180s"])
      yield* waitUntil(groupsIn(sb, "doomed").pipe(Effect.map((g) => g.length === 0)), { description: "no group left in doomed", timeout: "120 seconds" })
    }))
})
