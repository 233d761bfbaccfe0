import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { CredentialsFromEnv } from "../../src/credentials/fromEnv.ts"
import { Eci } from "../../src/eci/Eci.ts"
import { EciLive } from "../../src/eci/eciLive.ts"

/**
 * `npm run test:eci-live`: the non-destructive part of the Eci contract against real Alibaba Cloud
 * ECI, through exactly the layer the product uses (EciLive: the real SDK, our signing, timeouts and
 * client policy).
 *
 * Needs ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and ECI_REGION (a RAM user with
 * at least eci:Describe* and eci:CreateContainerGroup, for the DryRun case). Optional: ECI_ENDPOINT
 * (default the public `eci.<region>.aliyuncs.com`, since this usually runs outside the VPC) and
 * ECI_PROTOCOL (HTTPS; HTTP only to rehearse the suite against `npm run eci-simulator`). Without the
 * required variables it fails, naming them; it never skips.
 *
 * Non-destructive means nothing is created, changed or deleted: only reads, requests ECI must refuse
 * before acting (more than 20 ids, a bad signature, an unknown key), and CreateContainerGroup with
 * DryRun=true. The contract cases that create instances, or drive the simulator's admin API, cannot
 * run here; they are covered by test/eci/contract.*.test.ts against the simulator, whose answers
 * these cases hold to the same documented behaviour (eci-reference §1.3, §3.1–3.2).
 */

const required = ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ECI_REGION"] as const
const env = (name: string) => {
  const v = process.env[name]
  return v === undefined || v.trim() === "" ? undefined : v.trim()
}
const missing = required.filter((name) => env(name) === undefined)

if (missing.length > 0) {
  it("real ECI credentials are configured", () => {
    throw new Error(
      `npm run test:eci-live needs ${missing.join(", ")} (missing). Set ALIBABA_CLOUD_ACCESS_KEY_ID, `
        + "ALIBABA_CLOUD_ACCESS_KEY_SECRET and ECI_REGION (e.g. cn-hangzhou); optionally ECI_ENDPOINT."
    )
  })
} else {
  const region = env("ECI_REGION")!
  const endpoint = env("ECI_ENDPOINT") ?? `eci.${region}.aliyuncs.com`
  const protocol = env("ECI_PROTOCOL") === "HTTP" ? "HTTP" : "HTTPS"
  const runId = `live-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`
  const requestIdPattern = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/

  /** EciLive with the given key; one attempt per call, so refusals are seen as they are. */
  const eciWith = (accessKeyId: string, accessKeySecret: string) =>
    Layer.build(
      EciLive({ regionId: region, endpoint, protocol, retry: { maxAttempts: 1 } }).pipe(
        Layer.provide(CredentialsFromEnv({ accessKeyId, accessKeySecret: Redacted.make(accessKeySecret) }))
      )
    ).pipe(Effect.map((context) => Context.get(context, Eci)))

  const eci = eciWith(env("ALIBABA_CLOUD_ACCESS_KEY_ID")!, env("ALIBABA_CLOUD_ACCESS_KEY_SECRET")!)
  const tag = { Key: "eci-virtual-node-live-test", Value: runId }

  describe(`Eci contract, non-destructive part (real ECI, ${region} via ${endpoint})`, () => {
    it.live("a signed DescribeContainerGroups by a tag nobody uses answers an empty page with a RequestId", () =>
      Effect.scoped(
        Effect.gen(function*() {
          const r = yield* (yield* eci).call("DescribeContainerGroups", { Tag: [tag], Limit: 20 })
          assert.match(r.RequestId ?? "", requestIdPattern)
          assert.deepStrictEqual(r.ContainerGroups ?? [], [])
          assert.strictEqual(r.TotalCount ?? 0, 0)
        })
      ))

    it.live("an id that does not exist is an empty list, not an error", () =>
      Effect.scoped(
        Effect.gen(function*() {
          const r = yield* (yield* eci).call("DescribeContainerGroups", {
            ContainerGroupIds: JSON.stringify([`eci-doesnotexist${runId.replace(/[^a-z0-9]/g, "")}`.slice(0, 24)])
          })
          assert.deepStrictEqual(r.ContainerGroups ?? [], [])
        })
      ))

    it.live("more than 20 ids is InvalidParameter", () =>
      Effect.scoped(
        Effect.gen(function*() {
          const ids = JSON.stringify(Array.from({ length: 21 }, (_, k) => `eci-doesnotexist${k}`))
          const e = yield* Effect.flip((yield* eci).call("DescribeContainerGroups", { ContainerGroupIds: ids }))
          assert.strictEqual(e._tag, "EciInvalidParameter", `${e.code}: ${e.message}`)
          assert.match(e.requestId, requestIdPattern)
        })
      ))

    it.live("a wrong secret is SignatureDoesNotMatch; an unknown access key is InvalidAccessKeyId.NotFound", () =>
      Effect.scoped(
        Effect.gen(function*() {
          const wrong = yield* eciWith(env("ALIBABA_CLOUD_ACCESS_KEY_ID")!, "not-the-secret")
          const bad = yield* Effect.flip(wrong.call("DescribeContainerGroups", { Tag: [tag] }))
          assert.deepInclude(bad, { _tag: "EciAuthFailed", code: "SignatureDoesNotMatch" })
          const unknown = yield* eciWith(`LTAI${runId.replace(/[^A-Za-z0-9]/g, "")}`.slice(0, 24), "whatever")
          const nobody = yield* Effect.flip(unknown.call("DescribeContainerGroups", { Tag: [tag] }))
          assert.deepInclude(nobody, { _tag: "EciAuthFailed", code: "InvalidAccessKeyId.NotFound" })
        })
      ))

    it.live("CreateContainerGroup with DryRun and no container is refused, and nothing is created", () =>
      Effect.scoped(
        Effect.gen(function*() {
          const live = yield* eci
          const e = yield* Effect.flip(live.call("CreateContainerGroup", { ContainerGroupName: runId, DryRun: true, Tag: [tag] }))
          assert.notStrictEqual(e._tag, "EciAuthFailed", `${e.code}: ${e.message}`)
          assert.notStrictEqual(e._tag, "EciUnavailable", `${e.code}: ${e.message}`)
          const after = yield* live.call("DescribeContainerGroups", { Tag: [tag] })
          assert.deepStrictEqual(after.ContainerGroups ?? [], [])
        })
      ))

    it.live("DescribeImageCaches by a name nobody uses is an empty list", () =>
      Effect.scoped(
        Effect.gen(function*() {
          const r = yield* (yield* eci).call("DescribeImageCaches", { ImageCacheName: runId })
          assert.match(r.RequestId ?? "", requestIdPattern)
          assert.deepStrictEqual(r.ImageCaches ?? [], [])
        })
      ))
  })
}
