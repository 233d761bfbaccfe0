/**
 * The Kube contract: one suite of Kube-service behaviour, run against the in-memory layer
 * (contract.inMemory.test.ts) and against the live layer on a real kube-apiserver
 * (test/e2e/kubeContract.test.ts) with the same assertions. When both pass, the fake tells the truth.
 *
 * Runs on real time in both cases. Waiting is for events (the next watch element, with a generous
 * bound so a missing event fails instead of hanging), never a sleep.
 */
import { assert, layer, type Vitest } from "@effect/vitest"
import {
  type CoreV1Event,
  type V1Lease,
  V1MicroTime,
  type V1MutatingWebhookConfiguration,
  type V1Node,
  type V1Pod,
  type V1Service
} from "@kubernetes/client-node"
import { type Cause, Context, Duration, Effect, type Layer, Queue, Stream } from "effect"
import { toWire } from "../../src/kube/codec.ts"
import { Kube, type KubeError, type PodWatchEvent } from "../../src/kube/Kube.ts"
import type { ListWatchEvent } from "../../src/kube/watch.ts"
import { imageCacheContract } from "./imageCacheContract.ts"

/** Fixtures the suite needs that the Kube service (a kubelet's view) cannot create. */
export class ContractAdmin extends Context.Service<ContractAdmin, {
  /** Creates the namespace if missing and returns once pods can be created in it. */
  readonly ensureNamespace: (name: string) => Effect.Effect<void>
  /** Creates or replaces an Opaque Secret with these (plain-text) values. */
  readonly putSecret: (namespace: string, name: string, data: Record<string, string>) => Effect.Effect<void>
  readonly deleteSecret: (namespace: string, name: string) => Effect.Effect<void>
  readonly putConfigMap: (namespace: string, name: string, data: Record<string, string>) => Effect.Effect<void>
  readonly createServiceAccount: (namespace: string, name: string) => Effect.Effect<void>
  /** Creates (or updates) a ClusterIP Service with these TCP ports (name → port); the server allocates its IP. */
  readonly createService: (namespace: string, name: string, ports: Record<string, number>) => Effect.Effect<void>
  readonly deleteService: (namespace: string, name: string) => Effect.Effect<void>
  readonly createMutatingWebhookConfiguration: (configuration: V1MutatingWebhookConfiguration) => Effect.Effect<void>
}>()("test/kube/ContractAdmin") {}

export interface ContractOptions {
  /** Bound on building the layer (a live control plane may need a build first). */
  readonly setupTimeout?: Duration.Input
  /** Tests only one layer can run (e.g. timing of a real connection), added to the same block. */
  readonly extraTests?: (it: Vitest.MethodsNonLive<Kube | ContractAdmin>) => void
}

const eventTimeout = Duration.seconds(20)

const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64")

/** A stream consumed in the background; `next` takes the next element, `until` skips to a matching one. */
export const subscribe = <A>(stream: Stream.Stream<A, KubeError>) =>
  Effect.gen(function*() {
    const queue = yield* Stream.toQueue(stream, { capacity: "unbounded" })
    const seen: Array<A> = []
    const next: Effect.Effect<A, KubeError | Cause.Done> = Queue.take(queue).pipe(
      Effect.tap((a) => Effect.sync(() => seen.push(a))),
      Effect.timeoutOrElse({
        duration: eventTimeout,
        orElse: () => Effect.die(new Error(`no stream element within ${Duration.format(eventTimeout)}; seen so far: ${JSON.stringify(seen)}`))
      })
    )
    const until = (predicate: (a: A) => boolean): Effect.Effect<A, KubeError | Cause.Done> =>
      Effect.flatMap(next, (a) => (predicate(a) ? Effect.succeed(a) : until(predicate)))
    return { next, until, seen }
  })

/** The typed error of an effect that must fail; success fails the test with what came back. */
const failureOf = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<E> =>
  Effect.flip(effect).pipe(Effect.catch((a) => Effect.die(new Error(`expected a failure, got ${JSON.stringify(a)}`))))

const isEvent = (type: PodWatchEvent["type"], name: string) => (e: PodWatchEvent) =>
  e.type !== "Snapshot" && e.type === type && e.pod.metadata?.name === name

const podOf = (e: PodWatchEvent): V1Pod => {
  if (e.type === "Snapshot") throw new Error("expected a pod event, got a Snapshot")
  return e.pod
}

const pod = (namespace: string, name: string, options: { readonly nodeName?: string; readonly serviceAccountName?: string } = {}): V1Pod => ({
  metadata: { namespace, name, labels: { app: "contract" } },
  spec: {
    // Pods left unbound must not be picked up by a real scheduler during the test.
    ...(options.nodeName === undefined ? { schedulerName: "contract-no-scheduler" } : { nodeName: options.nodeName }),
    ...(options.serviceAccountName === undefined ? {} : { serviceAccountName: options.serviceAccountName }),
    containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }]
  }
})

/** A Node for the test; tainted so that a real scheduler places nothing else on it. */
const node = (name: string): V1Node => ({
  metadata: { name, labels: { "contract.example/suite": "kube" } },
  spec: { taints: [{ key: "contract.example/no-schedule", value: "true", effect: "NoSchedule" }] }
})

const condition = (type: string, status: string) => ({
  type,
  status,
  lastTransitionTime: new Date("2030-01-01T00:00:00Z")
})

/**
 * The suite, against whatever layer provides `Kube` and `ContractAdmin`. Each test works in its own
 * namespace and nodes (named after the test), so the tests share one layer without interfering.
 */
export const kubeContract = (
  name: string,
  kubeLayer: Layer.Layer<Kube | ContractAdmin, unknown>,
  options: ContractOptions = {}
) =>
  layer(kubeLayer, { excludeTestServices: true, ...(options.setupTimeout === undefined ? {} : { timeout: options.setupTimeout }) })(name, (it) => {
    const setup = (key: string) =>
      Effect.gen(function*() {
        const kube = yield* Kube
        const admin = yield* ContractAdmin
        const ns = `kc-${key}`
        yield* admin.ensureNamespace(ns)
        return { kube, admin, ns }
      })

    it.effect("watchPods: a Snapshot first, then Added for a pod created on the node", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("watch")
        yield* kube.createNode(node("kc-watch-node"))
        const watch = yield* subscribe(kube.watchPods("kc-watch-node"))
        assert.deepStrictEqual(yield* watch.next, { type: "Snapshot", pods: [] })

        const created = yield* kube.createPod(pod(ns, "p1", { nodeName: "kc-watch-node" }))
        const added = podOf(yield* watch.next)
        assert.strictEqual(watch.seen[1]?.type, "Added")
        assert.strictEqual(added.metadata?.name, "p1")
        assert.strictEqual(added.metadata?.uid, created.metadata?.uid)
        assert.strictEqual(added.spec?.nodeName, "kc-watch-node")
        assert.strictEqual(added.status?.phase, "Pending")
        assert.instanceOf(added.metadata?.creationTimestamp, Date)
      }))

    it.effect("watchPods: only the node's pods arrive, and the Snapshot holds the pods already there", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("filter")
        yield* kube.createNode(node("kc-filter-a"))
        yield* kube.createNode(node("kc-filter-b"))
        yield* kube.createPod(pod(ns, "a1", { nodeName: "kc-filter-a" }))
        yield* kube.createPod(pod(ns, "b1", { nodeName: "kc-filter-b" }))

        const watch = yield* subscribe(kube.watchPods("kc-filter-a"))
        const snapshot = yield* watch.next
        assert.strictEqual(snapshot.type, "Snapshot")
        assert.deepStrictEqual(snapshot.type === "Snapshot" ? snapshot.pods.map((p) => p.metadata?.name) : [], ["a1"])

        // b2 is written first: were the filter leaking, it would arrive before a2.
        yield* kube.createPod(pod(ns, "b2", { nodeName: "kc-filter-b" }))
        yield* kube.createPod(pod(ns, "a2", { nodeName: "kc-filter-a" }))
        const next = yield* watch.next
        assert.isTrue(isEvent("Added", "a2")(next), `expected Added a2, got ${next.type}`)

        const onA = yield* kube.listPods({ nodeName: "kc-filter-a" })
        assert.deepStrictEqual(onA.map((p) => p.metadata?.name).sort(), ["a1", "a2"])
        const inNs = yield* kube.listPods({ namespace: ns })
        assert.deepStrictEqual(inNs.map((p) => p.metadata?.name).sort(), ["a1", "a2", "b1", "b2"])
      }))

    it.effect("patchPodStatus (strategic): conditions merge by type, containerStatuses are replaced", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("status")
        yield* kube.createNode(node("kc-status-node"))
        yield* kube.createPod(pod(ns, "s1", { nodeName: "kc-status-node" }))

        // Someone else (a readiness-gate controller) owns this condition.
        yield* kube.patchPodStatus(ns, "s1", { status: { conditions: [condition("example.com/gate", "True")] } })
        const running = (image: string) => ({
          name: "c",
          image,
          imageID: "",
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: new Date("2030-01-01T00:00:00Z") } }
        })
        yield* kube.patchPodStatus(ns, "s1", {
          status: {
            phase: "Running",
            conditions: [condition("Ready", "True")],
            containerStatuses: [running("registry.k8s.io/pause:3.10")]
          }
        })
        const after = yield* kube.getPod(ns, "s1")
        assert.strictEqual(after.status?.phase, "Running")
        const conditions = Object.fromEntries((after.status?.conditions ?? []).map((c) => [c.type, c.status]))
        assert.strictEqual(conditions["example.com/gate"], "True")
        assert.strictEqual(conditions["Ready"], "True")
        assert.deepStrictEqual(after.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime, new Date("2030-01-01T00:00:00Z"))

        const second = yield* kube.patchPodStatus(ns, "s1", {
          status: { containerStatuses: [{ ...running("registry.k8s.io/pause:3.10"), ready: false, restartCount: 1 }] }
        })
        assert.deepStrictEqual(second.status?.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount]), [["c", false, 1]])
        assert.strictEqual(second.status?.conditions?.length, 2)
        // The status subresource leaves the spec alone.
        assert.strictEqual(second.spec?.nodeName, "kc-status-node")
      }))

    it.effect("patchPodStatus: the status reads back in the server's JSON encoding (null times, {} states, whole seconds); resending it is no write", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("encoding")
        yield* kube.createNode(node("kc-encoding-node"))
        const base = pod(ns, "e1", { nodeName: "kc-encoding-node" })
        yield* kube.createPod({
          ...base,
          spec: { ...base.spec!, initContainers: [{ name: "i", image: "registry.k8s.io/pause:3.10" }], containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }, { name: "d", image: "registry.k8s.io/pause:3.10" }] }
        })
        const watch = yield* subscribe(kube.watchPods("kc-encoding-node"))
        yield* watch.next // the Snapshot
        const patched = yield* kube.patchPodStatus(ns, "e1", {
          status: {
            phase: "Running",
            reason: "",
            podIP: "",
            podIPs: [],
            conditions: [
              { type: "Ready", status: "True", reason: "", message: "" },
              { type: "X", status: "False", lastTransitionTime: "2030-01-01T00:00:05.999Z", lastProbeTime: "2030-01-01T00:00:06.5+01:00" }
            ],
            initContainerStatuses: [{ name: "i" }],
            containerStatuses: [
              {
                name: "c",
                image: "",
                imageID: "",
                containerID: "",
                ready: false,
                restartCount: 0,
                started: false,
                state: { running: {} },
                lastState: { terminated: { exitCode: 0, signal: 0, reason: "", message: "" } }
              },
              { name: "d", state: { waiting: { reason: "", message: "" } } }
            ],
            startTime: "2030-01-01T00:00:00.5Z"
          }
        })
        const expected = {
          phase: "Running",
          conditions: [
            { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: null },
            { type: "X", status: "False", lastProbeTime: "2029-12-31T23:00:06.000Z", lastTransitionTime: "2030-01-01T00:00:05.000Z" }
          ],
          initContainerStatuses: [{ name: "i", image: "", imageID: "", lastState: {}, ready: false, restartCount: 0, state: {} }],
          containerStatuses: [
            {
              name: "c",
              image: "",
              imageID: "",
              ready: false,
              restartCount: 0,
              started: false,
              state: { running: { startedAt: null } },
              lastState: { terminated: { exitCode: 0, startedAt: null, finishedAt: null } }
            },
            { name: "d", image: "", imageID: "", lastState: {}, ready: false, restartCount: 0, state: { waiting: {} } }
          ],
          startTime: "2030-01-01T00:00:00.000Z"
        }
        const { qosClass: _q, ...fromPatch } = toWire("V1PodStatus", patched.status)
        assert.deepStrictEqual(fromPatch, expected)
        const { qosClass: _r, ...fromGet } = toWire("V1PodStatus", (yield* kube.getPod(ns, "e1")).status)
        assert.deepStrictEqual(fromGet, expected)
        const modified = podOf(yield* watch.until(isEvent("Modified", "e1")))
        const { qosClass: _w, ...fromWatch } = toWire("V1PodStatus", modified.status)
        assert.deepStrictEqual(fromWatch, expected)

        // The status as read, sent back: the server stores nothing new and tells no watcher.
        const again = yield* kube.patchPodStatus(ns, "e1", { status: patched.status })
        assert.strictEqual(again.metadata?.resourceVersion, patched.metadata?.resourceVersion)
      }))

    it.effect("patchPod: merge patch sets and removes labels; a stale resourceVersion in the patch is a KubeConflict; spec is immutable", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("patch")
        const created = yield* kube.createPod(pod(ns, "m1"))
        const labelled = yield* kube.patchPod(ns, "m1", { metadata: { labels: { tier: "web" } } }, "merge")
        assert.deepStrictEqual(labelled.metadata?.labels, { app: "contract", tier: "web" })
        assert.notStrictEqual(labelled.metadata?.resourceVersion, created.metadata?.resourceVersion)

        const relabelled = yield* kube.patchPod(ns, "m1", { metadata: { labels: { tier: null, zone: "a" } } }, "merge")
        assert.deepStrictEqual(relabelled.metadata?.labels, { app: "contract", zone: "a" })
        // A patch that changes nothing is no write: same resourceVersion.
        const unchanged = yield* kube.patchPod(ns, "m1", { metadata: { labels: { zone: "a" } } })
        assert.strictEqual(unchanged.metadata?.resourceVersion, relabelled.metadata?.resourceVersion)
        // The status subresource ignores spec but, for pods, still takes labels and annotations (the
        // controller writes its write-back annotations with the status); the main resource ignores status.
        const viaStatus = yield* kube.patchPodStatus(ns, "m1", {
          metadata: { labels: { via: "status" }, annotations: { "example.com/via": "status" } },
          spec: { restartPolicy: "Never" },
          status: { message: "hi" }
        })
        assert.strictEqual(viaStatus.metadata?.labels?.["via"], "status")
        assert.strictEqual(viaStatus.metadata?.annotations?.["example.com/via"], "status")
        assert.strictEqual(viaStatus.spec?.restartPolicy, "Always")
        assert.strictEqual(viaStatus.status?.message, "hi")
        const viaMain = yield* kube.patchPod(ns, "m1", { status: { message: "ignored" } }, "merge")
        assert.strictEqual(viaMain.status?.message, "hi")

        const stale = yield* failureOf(
          kube.patchPod(ns, "m1", { metadata: { resourceVersion: created.metadata?.resourceVersion, labels: { x: "y" } } }, "merge")
        )
        assert.strictEqual(stale._tag, "KubeConflict")
        assert.strictEqual(stale._tag === "KubeConflict" ? stale.name : "", "m1")

        const immutable = yield* failureOf(kube.patchPod(ns, "m1", { spec: { restartPolicy: "Never" } }))
        assert.strictEqual(immutable._tag, "KubeApiError")
        assert.strictEqual(immutable._tag === "KubeApiError" ? immutable.status : 0, 422)
        // An image is one of the few mutable spec fields.
        const updated = yield* kube.patchPod(ns, "m1", { spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.9" }] } })
        assert.strictEqual(updated.spec?.containers[0]?.image, "registry.k8s.io/pause:3.9")
      }))

    it.effect("missing objects are KubeNotFound naming the resource; a duplicate create is KubeConflict AlreadyExists", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("missing")
        const notFound = (e: KubeError) => e._tag === "KubeNotFound" ? [e.kind, e.name] : [e._tag]
        assert.deepStrictEqual(notFound(yield* failureOf(kube.getPod(ns, "nope"))), ["pods", "nope"])
        assert.deepStrictEqual(notFound(yield* failureOf(kube.getSecret(ns, "nope"))), ["secrets", "nope"])
        assert.deepStrictEqual(notFound(yield* failureOf(kube.getConfigMap(ns, "nope"))), ["configmaps", "nope"])
        assert.deepStrictEqual(notFound(yield* failureOf(kube.getLease(ns, "nope"))), ["leases", "nope"])
        assert.deepStrictEqual(notFound(yield* failureOf(kube.getNode("kc-missing-node"))), ["nodes", "kc-missing-node"])
        assert.deepStrictEqual(notFound(yield* failureOf(kube.getNamespace("kc-missing-ns"))), ["namespaces", "kc-missing-ns"])
        assert.deepStrictEqual(notFound(yield* failureOf(kube.deletePod(ns, "nope"))), ["pods", "nope"])
        // Creating in a namespace that does not exist is a 404 about the namespace.
        assert.deepStrictEqual(notFound(yield* failureOf(kube.createPod(pod("kc-missing-ns", "p")))), ["namespaces", "kc-missing-ns"])

        yield* kube.createPod(pod(ns, "dup"))
        const dup = yield* failureOf(kube.createPod(pod(ns, "dup")))
        assert.deepStrictEqual(dup._tag === "KubeConflict" ? [dup.kind, dup.name, dup.reason] : [dup._tag], ["pods", "dup", "AlreadyExists"])
        const ok = yield* kube.getNamespace(ns)
        assert.strictEqual(ok.metadata?.name, ns)
      }))

    it.effect("updateLease: the current resourceVersion wins, a stale one is KubeConflict", () =>
      Effect.gen(function*() {
        const { kube } = yield* setup("lease")
        const now = new V1MicroTime("2030-01-01T00:00:00.123Z")
        const lease: V1Lease = {
          metadata: { name: "kc-lease", namespace: "kube-node-lease" },
          spec: { holderIdentity: "kc-lease-node", leaseDurationSeconds: 40, renewTime: now }
        }
        const first = yield* kube.createLease(lease)
        assert.strictEqual(first.spec?.holderIdentity, "kc-lease-node")
        // V1MicroTime is a Date (millisecond precision) that prints six fractional digits, as MicroTime must.
        const renewed = yield* kube.updateLease({ ...first, spec: { ...first.spec, renewTime: new V1MicroTime("2030-01-01T00:00:10.250Z") } })
        assert.notStrictEqual(renewed.metadata?.resourceVersion, first.metadata?.resourceVersion)
        assert.strictEqual(String(renewed.spec?.renewTime), "2030-01-01T00:00:10.250000Z")

        const stale = yield* failureOf(kube.updateLease({ ...first, spec: { ...first.spec, holderIdentity: "intruder" } }))
        assert.deepStrictEqual(stale._tag === "KubeConflict" ? [stale.kind, stale.name, stale.reason] : [stale._tag], ["leases", "kc-lease", "Conflict"])
        const read = yield* kube.getLease("kube-node-lease", "kc-lease")
        assert.strictEqual(read.spec?.holderIdentity, "kc-lease-node")

        const duplicate = yield* failureOf(kube.createLease(lease))
        assert.strictEqual(duplicate._tag === "KubeConflict" ? duplicate.reason : duplicate._tag, "AlreadyExists")

        // Rewriting the same content is no write: the resourceVersion stays.
        const same = yield* kube.updateLease(renewed)
        assert.strictEqual(same.metadata?.resourceVersion, renewed.metadata?.resourceVersion)
        // Leases take no unconditional update: without a resourceVersion the server refuses.
        const { resourceVersion: _, ...unversioned } = renewed.metadata ?? {}
        const blind = yield* failureOf(kube.updateLease({ ...renewed, metadata: unversioned }))
        assert.deepStrictEqual(blind._tag === "KubeApiError" ? [blind.status, blind.reason] : [blind._tag], [422, "Invalid"])
        // A plain Date prints three fractional digits; MicroTime needs six, so the server refuses it.
        const millis = yield* failureOf(kube.updateLease({ ...renewed, spec: { ...renewed.spec, renewTime: new Date("2030-01-01T00:00:20.500Z") } }))
        assert.deepStrictEqual(millis._tag === "KubeApiError" ? millis.status : millis._tag, 400)
      }))

    it.effect("deletePod with a UID precondition that does not match is a KubeConflict and deletes nothing", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("uid")
        yield* kube.createNode(node("kc-uid-node"))
        const created = yield* kube.createPod(pod(ns, "u1", { nodeName: "kc-uid-node" }))
        const conflict = yield* failureOf(kube.deletePod(ns, "u1", { uid: "00000000-0000-0000-0000-000000000000", gracePeriodSeconds: 0 }))
        // The server names the Kind here, not the resource (its graceful-deletion step builds this error).
        assert.deepStrictEqual(conflict._tag === "KubeConflict" ? [conflict.kind, conflict.name, conflict.reason] : [conflict._tag], [
          "Pod",
          "u1",
          "Conflict"
        ])
        assert.include(conflict.message, "does not match the UID in record")
        const still = yield* kube.getPod(ns, "u1")
        assert.strictEqual(still.metadata?.uid, created.metadata?.uid)
        assert.isUndefined(still.metadata?.deletionTimestamp)
      }))

    it.effect("graceful delete sets deletionTimestamp and the grace period (Modified); grace 0 removes the pod (Deleted)", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("graceful")
        yield* kube.createNode(node("kc-graceful-node"))
        const watch = yield* subscribe(kube.watchPods("kc-graceful-node"))
        yield* watch.until((e) => e.type === "Snapshot")
        const created = yield* kube.createPod(pod(ns, "g1", { nodeName: "kc-graceful-node" }))
        yield* watch.until(isEvent("Added", "g1"))

        yield* kube.deletePod(ns, "g1", { uid: created.metadata?.uid ?? "", gracePeriodSeconds: 30 })
        const marked = podOf(yield* watch.until(isEvent("Modified", "g1")))
        assert.instanceOf(marked.metadata?.deletionTimestamp, Date)
        assert.strictEqual(marked.metadata?.deletionGracePeriodSeconds, 30)
        const read = yield* kube.getPod(ns, "g1")
        assert.deepStrictEqual(read.metadata?.deletionTimestamp, marked.metadata?.deletionTimestamp)
        const created_ = created.metadata?.creationTimestamp?.getTime() ?? 0
        const deadline = marked.metadata?.deletionTimestamp?.getTime() ?? 0
        // now + 30 s, at second precision
        assert.isAtLeast(deadline - created_, 29_000)

        // A longer grace period does not postpone the deletion.
        yield* kube.deletePod(ns, "g1", { gracePeriodSeconds: 60 })
        assert.strictEqual((yield* kube.getPod(ns, "g1")).metadata?.deletionGracePeriodSeconds, 30)

        yield* kube.deletePod(ns, "g1", { uid: created.metadata?.uid ?? "", gracePeriodSeconds: 0 })
        const deleted = podOf(yield* watch.until(isEvent("Deleted", "g1")))
        assert.strictEqual(deleted.metadata?.uid, created.metadata?.uid)
        const gone = yield* failureOf(kube.getPod(ns, "g1"))
        assert.strictEqual(gone._tag, "KubeNotFound")
      }))

    it.effect("a finalizer holds a force-deleted pod (Modified) until it is removed (Deleted)", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("finalizer")
        yield* kube.createNode(node("kc-finalizer-node"))
        const watch = yield* subscribe(kube.watchPods("kc-finalizer-node"))
        yield* watch.until((e) => e.type === "Snapshot")
        const held = pod(ns, "f1", { nodeName: "kc-finalizer-node" })
        yield* kube.createPod({ ...held, metadata: { ...held.metadata, finalizers: ["contract.example/hold"] } })
        yield* watch.until(isEvent("Added", "f1"))

        yield* kube.deletePod(ns, "f1", { gracePeriodSeconds: 0 })
        const marked = podOf(yield* watch.until(isEvent("Modified", "f1")))
        assert.strictEqual(marked.metadata?.deletionGracePeriodSeconds, 0)
        assert.instanceOf(marked.metadata?.deletionTimestamp, Date)
        assert.strictEqual((yield* kube.getPod(ns, "f1")).metadata?.finalizers?.[0], "contract.example/hold")

        yield* kube.patchPod(ns, "f1", { metadata: { finalizers: null } }, "merge")
        yield* watch.until(isEvent("Deleted", "f1"))
        assert.strictEqual((yield* failureOf(kube.getPod(ns, "f1")))._tag, "KubeNotFound")
      }))

    it.effect("deleting an unscheduled pod is immediate; evictPod starts a graceful deletion of a bound one", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("evict")
        yield* kube.createPod(pod(ns, "loose"))
        yield* kube.deletePod(ns, "loose", { gracePeriodSeconds: 30 })
        assert.strictEqual((yield* failureOf(kube.getPod(ns, "loose")))._tag, "KubeNotFound")

        yield* kube.createNode(node("kc-evict-node"))
        yield* kube.createPod(pod(ns, "bound", { nodeName: "kc-evict-node" }))
        yield* kube.evictPod(ns, "bound")
        const evicted = yield* kube.getPod(ns, "bound")
        assert.instanceOf(evicted.metadata?.deletionTimestamp, Date)
        assert.strictEqual(evicted.metadata?.deletionGracePeriodSeconds, 30)
        assert.strictEqual((yield* failureOf(kube.evictPod(ns, "nope")))._tag, "KubeNotFound")
      }))

    it.effect("Events are created and listed", () =>
      Effect.gen(function*() {
        const { kube, ns } = yield* setup("events")
        const at = new Date("2030-01-01T00:00:00Z")
        const event: CoreV1Event = {
          metadata: { name: "kc-event.1", namespace: ns },
          involvedObject: { apiVersion: "v1", kind: "Pod", namespace: ns, name: "web", uid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427" },
          reason: "ProviderCreateSuccess",
          message: "container group created",
          type: "Normal",
          count: 1,
          firstTimestamp: at,
          lastTimestamp: at,
          source: { component: "eci-virtual-node", host: "kc-events-node" },
          reportingComponent: "eci-virtual-node",
          reportingInstance: "kc-events-node"
        }
        const created = yield* kube.createEvent(event)
        assert.strictEqual(created.reason, "ProviderCreateSuccess")
        const listed = yield* kube.listEvents(ns)
        const found = listed.find((e) => e.metadata?.name === "kc-event.1")
        assert.strictEqual(found?.message, "container group created")
        assert.strictEqual(found?.involvedObject.name, "web")
        assert.deepStrictEqual(found?.lastTimestamp, at)
        const duplicate = yield* failureOf(kube.createEvent(event))
        assert.strictEqual(duplicate._tag === "KubeConflict" ? duplicate.reason : duplicate._tag, "AlreadyExists")
      }))

    it.effect("Secrets: get decodes, watchSecret sees the value, an update and the deletion; createSecret races safely", () =>
      Effect.gen(function*() {
        const { admin, kube, ns } = yield* setup("secret")
        yield* admin.putSecret(ns, "creds", { "access-key-id": "AK1" })
        const secret = yield* kube.getSecret(ns, "creds")
        assert.strictEqual(secret.data?.["access-key-id"], base64("AK1"))

        const watch = yield* subscribe(kube.watchSecret(ns, "creds"))
        assert.strictEqual((yield* watch.next)?.data?.["access-key-id"], base64("AK1"))
        yield* admin.putSecret(ns, "creds", { "access-key-id": "AK2" })
        assert.strictEqual((yield* watch.until((s) => s?.data?.["access-key-id"] !== base64("AK1")))?.data?.["access-key-id"], base64("AK2"))
        yield* admin.deleteSecret(ns, "creds")
        assert.isUndefined(yield* watch.until((s) => s === undefined))

        const absent = yield* subscribe(kube.watchSecret(ns, "later"))
        assert.isUndefined(yield* absent.next)
        yield* kube.createSecret({ metadata: { name: "later", namespace: ns }, type: "Opaque", data: { k: base64("v") } })
        assert.strictEqual((yield* absent.next)?.data?.["k"], base64("v"))
        const again = yield* failureOf(kube.createSecret({ metadata: { name: "later", namespace: ns }, data: {} }))
        assert.deepStrictEqual(again._tag === "KubeConflict" ? [again.kind, again.reason] : [again._tag], ["secrets", "AlreadyExists"])
      }))

    it.effect("ConfigMaps: get and watchConfigMap", () =>
      Effect.gen(function*() {
        const { admin, kube, ns } = yield* setup("configmap")
        yield* admin.putConfigMap(ns, "settings", { mode: "a" })
        assert.strictEqual((yield* kube.getConfigMap(ns, "settings")).data?.["mode"], "a")
        const watch = yield* subscribe(kube.watchConfigMap(ns, "settings"))
        assert.strictEqual((yield* watch.next)?.data?.["mode"], "a")
        yield* admin.putConfigMap(ns, "settings", { mode: "b" })
        assert.strictEqual((yield* watch.until((c) => c?.data?.["mode"] !== "a"))?.data?.["mode"], "b")
      }))

    it.effect("Services: the API server's own kubernetes Service, and a namespace's Services with defaults", () =>
      Effect.gen(function*() {
        const { admin, kube, ns } = yield* setup("services")
        const apiserver = yield* kube.getService("default", "kubernetes")
        assert.deepStrictEqual(apiserver.spec?.ports?.map((p) => [p.name, p.port, p.protocol]), [["https", 443, "TCP"]])
        assert.match(apiserver.spec?.clusterIP ?? "", /^\d+\.\d+\.\d+\.\d+$/)

        assert.deepStrictEqual(yield* kube.listServices(ns), [])
        yield* admin.createService(ns, "web", { http: 80, metrics: 9090 })
        yield* admin.createService(ns, "api", { grpc: 8443 })
        const listed = yield* kube.listServices(ns)
        assert.deepStrictEqual(listed.map((svc) => svc.metadata?.name), ["api", "web"])
        const web = listed.find((svc) => svc.metadata?.name === "web")
        assert.strictEqual(web?.spec?.type, "ClusterIP")
        assert.match(web?.spec?.clusterIP ?? "", /^\d+\.\d+\.\d+\.\d+$/)
        assert.notStrictEqual(web?.spec?.clusterIP, apiserver.spec?.clusterIP)
        // Each port defaults its protocol to TCP and its targetPort to the port.
        assert.deepStrictEqual(web?.spec?.ports?.map((p) => [p.name, p.port, p.protocol, p.targetPort]), [
          ["http", 80, "TCP", 80],
          ["metrics", 9090, "TCP", 9090]
        ])
        const missing = yield* failureOf(kube.getService(ns, "nope"))
        assert.deepStrictEqual(missing._tag === "KubeNotFound" ? [missing.kind, missing.name] : [missing._tag], ["services", "nope"])
      }))

    it.effect("watchServices: a Snapshot of the cluster's Services, then a Service added, updated and deleted", () =>
      Effect.gen(function*() {
        const { admin, kube, ns } = yield* setup("svcwatch")
        yield* admin.createService(ns, "before", { http: 80 })
        const watch = yield* subscribe(kube.watchServices)
        const first = yield* watch.next
        const names = first.type === "Snapshot" ? first.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`) : []
        assert.includeMembers(names, ["default/kubernetes", `${ns}/before`])

        // Cluster-wide: other namespaces' Services may pass by; only this namespace's are looked at.
        // (An element that never comes fails the test when `until` times out, naming what was seen.)
        const web = (type: string, port: number) => (e: ListWatchEvent<V1Service>) =>
          e.type === type && e.type !== "Snapshot" && e.object.metadata?.namespace === ns && e.object.metadata.name === "web" &&
          e.object.spec?.ports?.[0]?.port === port
        yield* admin.createService(ns, "web", { http: 80 })
        yield* watch.until(web("Added", 80))
        yield* admin.createService(ns, "web", { http: 8080 })
        yield* watch.until(web("Modified", 8080))
        yield* admin.deleteService(ns, "web")
        yield* watch.until(web("Deleted", 8080))
      }))

    it.effect("Nodes: status conditions merge by type; patchNode keeps status; a duplicate is AlreadyExists; delete", () =>
      Effect.gen(function*() {
        const { kube } = yield* setup("node")
        const created = yield* kube.createNode(node("kc-node"))
        // Admission (TaintNodesByCondition) marks every new node not-ready until its Ready condition says otherwise.
        assert.deepStrictEqual(created.spec?.taints?.map((t) => [t.key, t.effect]), [
          ["contract.example/no-schedule", "NoSchedule"],
          ["node.kubernetes.io/not-ready", "NoSchedule"]
        ])
        yield* kube.patchNodeStatus("kc-node", { status: { conditions: [{ ...condition("example.com/Disk", "False"), lastHeartbeatTime: new Date("2030-01-01T00:00:00Z") }] } })
        const patched = yield* kube.patchNodeStatus("kc-node", {
          status: {
            conditions: [{ ...condition("Ready", "True"), lastHeartbeatTime: new Date("2030-01-01T00:00:00Z"), reason: "KubeletReady" }],
            capacity: { cpu: "1000", memory: "4Ti", pods: "5000" }
          }
        })
        const types = (patched.status?.conditions ?? []).map((c) => c.type)
        assert.includeMembers(types, ["Ready", "example.com/Disk"])
        // Quantities come back in canonical form.
        assert.deepStrictEqual(patched.status?.capacity, { cpu: "1k", memory: "4Ti", pods: "5k" })
        // Node defaulting: no allocatable means allocatable = capacity.
        assert.deepStrictEqual(patched.status?.allocatable, patched.status?.capacity)

        const labelled = yield* kube.patchNode("kc-node", { metadata: { labels: { "type": "virtual-kubelet" } }, status: { capacity: { pods: "1" } } })
        assert.strictEqual(labelled.metadata?.labels?.["type"], "virtual-kubelet")
        assert.strictEqual(labelled.status?.capacity?.["pods"], "5k")

        const dup = yield* failureOf(kube.createNode(node("kc-node")))
        assert.deepStrictEqual(dup._tag === "KubeConflict" ? [dup.kind, dup.reason] : [dup._tag], ["nodes", "AlreadyExists"])
        yield* kube.deleteNode("kc-node")
        assert.strictEqual((yield* failureOf(kube.getNode("kc-node")))._tag, "KubeNotFound")
      }))

    it.effect("TokenRequest issues a token TokenReview accepts; foreign audiences, garbage and wrong bindings are refused", () =>
      Effect.gen(function*() {
        const { admin, kube, ns } = yield* setup("token")
        yield* admin.createServiceAccount(ns, "runner")
        const { expirationTimestamp, token } = yield* kube.createServiceAccountToken(ns, "runner", { audiences: [], expirationSeconds: 3600 })
        assert.isAbove(token.length, 10)
        assert.instanceOf(expirationTimestamp, Date)
        const review = yield* kube.reviewToken(token)
        assert.isTrue(review.authenticated)
        assert.strictEqual(review.user?.username, `system:serviceaccount:${ns}:runner`)
        assert.include(review.user?.groups ?? [], `system:serviceaccounts:${ns}`)

        const foreign = yield* kube.createServiceAccountToken(ns, "runner", { audiences: ["contract.example/other"], expirationSeconds: 3600 })
        assert.notStrictEqual((yield* kube.reviewToken(foreign.token)).authenticated, true)
        assert.notStrictEqual((yield* kube.reviewToken("not-a-token")).authenticated, true)

        const missing = yield* failureOf(kube.createServiceAccountToken(ns, "nobody", { audiences: [], expirationSeconds: 3600 }))
        assert.deepStrictEqual(missing._tag === "KubeNotFound" ? [missing.kind, missing.name] : [missing._tag], ["serviceaccounts", "nobody"])

        // Bound to a pod running as that account: the review names the pod.
        yield* kube.createNode(node("kc-token-node"))
        const bound = yield* kube.createPod(pod(ns, "t1", { nodeName: "kc-token-node", serviceAccountName: "runner" }))
        const uid = bound.metadata?.uid ?? ""
        const podToken = yield* kube.createServiceAccountToken(ns, "runner", {
          audiences: [],
          expirationSeconds: 3600,
          boundPod: { name: "t1", uid }
        })
        const podReview = yield* kube.reviewToken(podToken.token)
        assert.isTrue(podReview.authenticated)
        assert.deepStrictEqual(podReview.user?.extra?.["authentication.kubernetes.io/pod-name"], ["t1"])
        const wrongUid = yield* failureOf(kube.createServiceAccountToken(ns, "runner", {
          audiences: [],
          expirationSeconds: 3600,
          boundPod: { name: "t1", uid: "00000000-0000-0000-0000-000000000000" }
        }))
        assert.strictEqual(wrongUid._tag, "KubeConflict")
        const wrongAccount = yield* failureOf(kube.createServiceAccountToken(ns, "default", {
          audiences: [],
          expirationSeconds: 3600,
          boundPod: { name: "t1", uid }
        }))
        assert.deepStrictEqual(wrongAccount._tag === "KubeApiError" ? wrongAccount.status : wrongAccount._tag, 400)
      }))

    it.effect("SubjectAccessReview: system:masters is allowed, an unknown user is not", () =>
      Effect.gen(function*() {
        const { kube } = yield* setup("sar")
        const attributes = { verb: "delete", resource: "nodes", group: "" }
        const admin = yield* kube.reviewAccess({ user: "kc-admin", groups: ["system:masters"], resourceAttributes: attributes })
        assert.isTrue(admin.allowed)
        const stranger = yield* kube.reviewAccess({ user: "kc-stranger", groups: ["system:authenticated"], resourceAttributes: attributes })
        assert.isFalse(stranger.allowed)
      }))

    it.effect("MutatingWebhookConfiguration: get, and a strategic patch merges webhooks by name", () =>
      Effect.gen(function*() {
        const { admin, kube } = yield* setup("webhook")
        // Matches nothing (an object label nobody sets) and ignores failures: harmless on a shared cluster.
        const hook = (name: string) => ({
          name,
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy: "Ignore",
          clientConfig: { url: "https://127.0.0.1:9/never" },
          objectSelector: { matchLabels: { "contract.example/never": "true" } },
          rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] }]
        })
        yield* admin.createMutatingWebhookConfiguration({
          metadata: { name: "kc-webhook" },
          webhooks: [hook("a.contract.example"), hook("b.contract.example")]
        })
        const before = yield* kube.getMutatingWebhookConfiguration("kc-webhook")
        assert.deepStrictEqual(before.webhooks?.map((w) => w.name), ["a.contract.example", "b.contract.example"])
        const caBundle = base64("-----BEGIN CERTIFICATE-----\ncontract\n-----END CERTIFICATE-----\n")
        const patched = yield* kube.patchMutatingWebhookConfiguration("kc-webhook", {
          webhooks: [{ name: "b.contract.example", clientConfig: { caBundle } }]
        })
        assert.deepStrictEqual(patched.webhooks?.map((w) => w.name), ["a.contract.example", "b.contract.example"])
        const b = patched.webhooks?.find((w) => w.name === "b.contract.example")
        assert.strictEqual(b?.clientConfig.caBundle, caBundle)
        assert.strictEqual(b?.clientConfig.url, "https://127.0.0.1:9/never")
        assert.isUndefined(patched.webhooks?.find((w) => w.name === "a.contract.example")?.clientConfig.caBundle)
      }))

    imageCacheContract(it, { subscribe, failureOf })

    options.extraTests?.(it)
  })
