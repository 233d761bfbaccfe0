import type { CoreV1Event, V1ConfigMap } from "@kubernetes/client-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Queue, Stream } from "effect"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { ProfileWatcher } from "../../src/webhook/profileWatcher.ts"
import { captureLogs, eventually } from "./helpers.ts"

const good = (selector: string): Record<string, string> => ({
  vSwitchIds: "vsw-a",
  selectors: JSON.stringify([{ name: selector, objectSelector: { matchLabels: { app: selector } } }])
})
const configMap = (data: Record<string, string>): V1ConfigMap => ({ metadata: { name: "eci-profile", namespace: "kube-system" }, data })

const selectorNames = Effect.gen(function*() {
  const watcher = yield* ProfileWatcher
  return (yield* watcher.current).selectors.map((s) => s.name)
})
const defaults = Effect.flatMap(ProfileWatcher.useSync((w) => w), (w) => w.defaults)

describe("ProfileWatcher (in-memory API server)", () => {
  it.live("loads the profile, hot-reloads it, keeps the last good one on a malformed update and says so twice", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      const kube = yield* Kube
      yield* admin.putConfigMap(configMap(good("first")))
      yield* Effect.gen(function*() {
        // building the layer waited for the first read
        assert.deepStrictEqual(yield* selectorNames, ["first"])

        yield* admin.putConfigMap(configMap(good("second")))
        yield* eventually(selectorNames, (names) => names[0] === "second")

        const bad = yield* admin.putConfigMap(configMap({ ...good("third"), enableClusterIp: "sometimes" }))
        const events = yield* eventually(kube.listEvents("kube-system"), (es) => es.length > 0)
        assert.deepStrictEqual(yield* selectorNames, ["second"]) // the last good one
        assert.strictEqual(events.length, 1)
        const event = events[0]!
        assert.strictEqual(event.type, "Warning")
        assert.strictEqual(event.reason, "InvalidEciProfile")
        assert.strictEqual(
          event.message,
          "eci-profile is invalid: enableClusterIp: \"sometimes\" is not a boolean; expected true or false; keeping the last good profile"
        )
        assert.strictEqual(event.involvedObject.kind, "ConfigMap")
        assert.strictEqual(event.involvedObject.namespace, "kube-system")
        assert.strictEqual(event.involvedObject.name, "eci-profile")
        assert.strictEqual(event.involvedObject.uid, bad.metadata?.uid)
        assert.strictEqual(event.reportingInstance, "eci-virtual-node-0")
        assert.match(event.metadata?.name ?? "", /^eci-profile\.[0-9a-f]+$/)
        const warning = logs.lines.find((l) => l["msg"] === "eci-profile is invalid; keeping the last good profile")
        assert.isDefined(warning)
        assert.deepStrictEqual(warning?.["problems"], ["enableClusterIp: \"sometimes\" is not a boolean; expected true or false"])

        // fixed: taken at once
        yield* admin.putConfigMap(configMap(good("fourth")))
        yield* eventually(selectorNames, (names) => names[0] === "fourth")
        // deleted: back to no selectors
        yield* admin.deleteConfigMap("kube-system", "eci-profile")
        yield* eventually(selectorNames, (names) => names.length === 0)
      }).pipe(Effect.provide(ProfileWatcher.layerWith({ reportingInstance: "eci-virtual-node-0" })))
    }).pipe(Effect.provide(KubeInMemory()), Effect.provide(logs.layer))
  })

  it.live("exposes the defaults for pod translation; a missing ConfigMap means product defaults", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* Effect.gen(function*() {
        const initial = yield* defaults
        assert.deepStrictEqual(initial.vSwitchIds, [])
        assert.isTrue(initial.enableClusterIp)
        yield* admin.putConfigMap(configMap({ vSwitchIds: "vsw-a, vsw-b", enableClusterIp: "false" }))
        const next = yield* eventually(defaults, (d) => d.vSwitchIds.length === 2)
        assert.deepStrictEqual(next.vSwitchIds, ["vsw-a", "vsw-b"])
        assert.isFalse(next.enableClusterIp)
      }).pipe(Effect.provide(ProfileWatcher.layerWith({ reportingInstance: "x" })))
    }).pipe(Effect.provide(KubeInMemory()), Effect.provide(captureLogs().layer)))
})

/** A test double with only the two methods the watcher uses; the watch is a queue the test feeds. */
const scriptedKube = (feed: Queue.Queue<V1ConfigMap | undefined>, events: Array<CoreV1Event>) =>
  Layer.succeed(Kube, {
    watchConfigMap: () => Stream.fromQueue(feed),
    createEvent: (event: CoreV1Event) => Effect.sync(() => (events.push(event), event))
  } as Partial<Kube["Service"]> as Kube["Service"])

describe("ProfileWatcher (scripted watch)", () => {
  it.live("a re-list that delivers the same bad version again does not repeat the Event", () =>
    Effect.gen(function*() {
      const events: Array<CoreV1Event> = []
      const feed = yield* Queue.unbounded<V1ConfigMap | undefined>()
      const version = (rv: string, vpcId: string): V1ConfigMap => ({
        metadata: { name: "eci-profile", namespace: "kube-system", resourceVersion: rv },
        data: { vpcId }
      })
      const vpc = Effect.map(defaults, (d) => d.vpcId)
      yield* Queue.offerAll(feed, [version("1", "vpc-1"), version("2", "sg-wrong"), version("2", "sg-wrong"), version("2", "sg-wrong"), version("3", "vpc-3")])
      yield* Effect.gen(function*() {
        yield* eventually(vpc, (v) => v === "vpc-3")
        assert.strictEqual(events.length, 1)
        assert.strictEqual(events[0]?.involvedObject.resourceVersion, "2")
        // a new bad version is reported again
        yield* Queue.offerAll(feed, [version("4", "sg-wrong"), version("5", "vpc-5")])
        yield* eventually(vpc, (v) => v === "vpc-5")
        assert.strictEqual(events.length, 2)
      }).pipe(Effect.provide(ProfileWatcher.layerWith({ reportingInstance: "x" }).pipe(Layer.provide(scriptedKube(feed, events)))))
    }).pipe(Effect.provide(captureLogs().layer)))
})
