import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Ref, Schedule, Stream } from "effect"
import { Credentials, staticAccessKey } from "../../../src/credentials/Credentials.ts"
import { Eci } from "../../../src/eci/Eci.ts"
import { EciLive } from "../../../src/eci/eciLive.ts"
import { serveSimulator, type SimulatorWire } from "../../../src/eci/simulator/wireFace.ts"
import { accessKeyPair } from "../../../src/eci/simulator/wireServer.ts"
import { channel, execSession } from "./execClient.ts"
import { createRequest } from "./support.ts"

// The whole wire face: the real SDK (through EciLive and its policy) → HTTP → the simulator core,
// plus the admin API and exec WebSockets of the same server.

const admin = (wire: SimulatorWire, method: string, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const res = await fetch(`${wire.url}/admin${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  })

/** A served simulator and an EciLive against it whose access key the test can change. */
const setup = Effect.gen(function*() {
  const wire = yield* serveSimulator({ accessKeys: [accessKeyPair("AK-1", "secret-1")], simulator: { profile: "fast", seed: 7 } })
  const key = yield* Ref.make(staticAccessKey("AK-1", "secret-1"))
  const credentials = Layer.succeed(Credentials, Credentials.of({ provider: "test", current: Ref.get(key), changes: Stream.empty }))
  const eci = yield* Layer.build(
    EciLive({ regionId: "cn-hangzhou", endpoint: wire.endpoint, protocol: "HTTP", retry: { maxAttempts: 1 } }).pipe(
      Layer.provide(credentials)
    )
  ).pipe(Effect.map((ctx) => Context.get(ctx, Eci)))
  return { wire, key, eci }
})

const waitUntilRunning = (eci: typeof Eci.Service, id: string) =>
  eci.call("DescribeContainerGroups", { ContainerGroupIds: JSON.stringify([id]) }).pipe(
    Effect.map((r) => r.ContainerGroups?.[0]?.Status),
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (s) => s === "Running" }),
    Effect.timeout("10 seconds")
  )

describe("the simulator on the wire", () => {
  it.live("the admin API lists instances with the create request exactly as the SDK sent it", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { wire, eci } = yield* setup
        const request = createRequest({ ClientToken: "tok-1", Tag: [{ Key: "k8s/pod", Value: "web" }] }, { Cpu: 0.5, Memory: 1, Command: ["sleep", "infinity"] })
        const { ContainerGroupId } = yield* eci.call("CreateContainerGroup", request)
        const listed = yield* admin(wire, "GET", "/instances")
        assert.strictEqual(listed.status, 200)
        const instances = listed.body["instances"] as Array<Record<string, unknown>>
        assert.strictEqual(instances.length, 1)
        assert.strictEqual(instances[0]!["containerGroupId"], ContainerGroupId)
        assert.deepStrictEqual(instances[0]!["createRequest"], request)
      })
    ))

  it.live("a 300 KB ConfigFileVolume travels in the query string and arrives intact", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { wire, eci } = yield* setup
        const bytes = Buffer.from(Array.from({ length: 230_000 }, (_, i) => (i * 7919 + 13) % 256))
        const content = bytes.toString("base64")
        assert.isAbove(content.length, 300_000)
        const request = createRequest(
          { Volume: [{ Name: "cfg", Type: "ConfigFileVolume", ConfigFileVolume: { ConfigFileToPath: [{ Path: "blob", Content: content }] } }] },
          { VolumeMount: [{ Name: "cfg", MountPath: "/etc/cfg" }] }
        )
        const { ContainerGroupId } = yield* eci.call("CreateContainerGroup", request)
        const stored = yield* admin(wire, "GET", `/instances/${ContainerGroupId}/create-request`)
        assert.deepStrictEqual(stored.body as unknown, request)
      })
    ))

  it.live("access keys rotate and revoke at run time", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { wire, key, eci } = yield* setup
        const describe = eci.call("DescribeContainerGroups", {})
        yield* describe
        assert.strictEqual((yield* admin(wire, "PUT", "/access-keys", { keys: [{ accessKeyId: "AK-2", accessKeySecret: "secret-2" }] })).status, 200)
        assert.deepStrictEqual((yield* admin(wire, "GET", "/access-keys")).body, { accessKeyIds: ["AK-2"] })
        const revoked = yield* Effect.flip(describe)
        assert.deepInclude(revoked, { _tag: "EciAuthFailed", code: "InvalidAccessKeyId.NotFound", httpStatus: 404 })
        yield* Ref.set(key, staticAccessKey("AK-2", "secret-2"))
        yield* describe
        yield* Ref.set(key, staticAccessKey("AK-2", "not-the-secret"))
        assert.deepInclude(yield* Effect.flip(describe), { code: "SignatureDoesNotMatch", httpStatus: 400 })
      })
    ))

  it.live("injected failures reach the client as ECI would send them: error envelopes and dropped connections", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { wire, eci } = yield* setup
        const del = eci.call("DeleteContainerGroup", { ContainerGroupId: "eci-nope" })
        yield* admin(wire, "POST", "/fail-next/DeleteContainerGroup", { failure: { kind: "error", code: "InternalError" } })
        assert.deepInclude(yield* Effect.flip(del), { _tag: "EciUnavailable", code: "InternalError", httpStatus: 500 })
        yield* admin(wire, "POST", "/fail-next/DeleteContainerGroup", { failure: { kind: "drop", phase: "request" } })
        assert.deepInclude(yield* Effect.flip(del), { _tag: "EciUnavailable", code: "NetworkError" })
        yield* admin(wire, "PUT", "/quotas/DeleteContainerGroup", { perMinute: 60, burst: 1 })
        const first = yield* Effect.flip(del)
        assert.strictEqual(first.code, "InvalidContainerGroupId.NotFound")
        assert.deepInclude(yield* Effect.flip(del), { _tag: "EciThrottled", code: "Throttling.User", httpStatus: 400 })
        yield* admin(wire, "DELETE", "/quotas/DeleteContainerGroup")
        assert.strictEqual((yield* Effect.flip(del)).code, "InvalidContainerGroupId.NotFound")
      })
    ))

  it.live("bad admin requests are refused with a reason", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { wire } = yield* setup
        const badBody = yield* admin(wire, "PUT", "/faults/*", { errorRate: 2 })
        assert.strictEqual(badBody.status, 400)
        assert.include(String(badBody.body["error"]), "errorRate")
        assert.strictEqual((yield* admin(wire, "PUT", "/faults/NoSuchAction", {})).status, 404)
        assert.strictEqual((yield* admin(wire, "GET", "/nothing-here")).status, 404)
        assert.strictEqual((yield* admin(wire, "POST", "/instances/eci-nope/reclaim-spot")).status, 400)
        assert.strictEqual((yield* admin(wire, "POST", "/reset")).status, 200)
      })
    ))

  it.live("ExecContainerCommand's WebSocketUri runs the scripted shell on this server", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { wire, eci } = yield* setup
        const { ContainerGroupId } = yield* eci.call("CreateContainerGroup", createRequest({}, { Command: ["sleep", "infinity"] }))
        yield* waitUntilRunning(eci, ContainerGroupId!)
        const { WebSocketUri } = yield* eci.call("ExecContainerCommand", {
          ContainerGroupId: ContainerGroupId!,
          ContainerName: "app",
          Command: JSON.stringify(["sh", "-c", "echo out; cat; echo err >&2; exit 3"])
        })
        assert.match(WebSocketUri!, new RegExp(`^ws://${wire.endpoint}/exec/`))
        const t = yield* execSession(WebSocketUri!, ["from stdin\n"])
        assert.strictEqual(channel(t, 1), "out\nfrom stdin\n")
        assert.strictEqual(channel(t, 2), "err\n")
        assert.strictEqual(JSON.parse(channel(t, 3)).details.causes[0].message, "3")
        assert.strictEqual(t.closeCode, 1000)
      })
    ))
})
