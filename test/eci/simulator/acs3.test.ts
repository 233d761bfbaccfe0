import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Result, Stream } from "effect"
import * as EciModels from "@alicloud/eci20180808"
import * as OpenApi from "@alicloud/openapi-client"
import { Credentials, staticAccessKey } from "../../../src/credentials/Credentials.ts"
import { makeSdkTransport, SdkClientClass } from "../../../src/eci/sdkTransport.ts"
import { makeNonceMemory, verifyAcs3 } from "../../../src/eci/simulator/acs3.ts"
import { SimulatorApiError, SimulatorConnectionDropped } from "../../../src/eci/simulator/failures.ts"
import { accessKeyPair, makeAccessKeyStore, startWireServer, type WireApi } from "../../../src/eci/simulator/wireServer.ts"
import { captureSdkRequest } from "./sdkCapture.ts"

const AK = "LTAI-test"
const SECRET = "correct-horse-battery-staple"

// A stand-in core: echoes the decoded request back, or fails as scripted by the container group id.
const stubApi: WireApi = {
  call: (action, request) => {
    if (request["ContainerGroupId"] === "eci-throttle") {
      return Effect.fail(new SimulatorApiError({ code: "Throttling.User", message: "Request was denied due to user flow control.", httpStatus: 400, requestId: "CORE-RID" }))
    }
    if (request["ContainerGroupId"] === "eci-drop") return Effect.fail(new SimulatorConnectionDropped({ phase: "request", requestId: "CORE-RID" }))
    return Effect.succeed({ RequestId: "CORE-RID", Echo: { action, request } })
  }
}

const withServer = <A, E>(f: (endpoint: string) => Effect.Effect<A, E>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const server = yield* startWireServer({ accessKeys: makeAccessKeyStore([accessKeyPair(AK, SECRET)]) }, () =>
        Effect.succeed({ api: stubApi }))
      return yield* f(server.endpoint)
    })
  )

const SdkClient = SdkClientClass as new(config: OpenApi.Config) => {
  describeContainerGroups(r: EciModels.DescribeContainerGroupsRequest): Promise<{ body: { toMap(): Record<string, unknown> } }>
}
const sdk = (endpoint: string, accessKeyId: string, accessKeySecret: string) =>
  new SdkClient(new OpenApi.Config({ accessKeyId, accessKeySecret, endpoint, protocol: "HTTP", regionId: "cn-hangzhou", readTimeout: 5000, connectTimeout: 5000 }))

/** The SDK's thrown error, as a plain record of what it carries. */
const sdkFailure = (p: Promise<unknown>) =>
  Effect.promise(() =>
    p.then(
      () => { throw new Error("expected a failure") },
      (e: { code?: string; statusCode?: number; data?: Record<string, unknown> }) => ({ code: e.code, statusCode: e.statusCode, data: e.data })
    )
  )

const describeRequest = new EciModels.DescribeContainerGroupsRequest({ regionId: "cn-hangzhou", limit: 5 })

describe("ACS3-HMAC-SHA256 on the wire server, driven by the real SDK", () => {
  it.live("a request signed by the SDK with the right key verifies and reaches the core", () =>
    withServer((endpoint) =>
      Effect.gen(function*() {
        const res = yield* Effect.promise(() => sdk(endpoint, AK, SECRET).describeContainerGroups(describeRequest))
        // The SDK keeps only the fields its response model knows: RequestId survives.
        assert.deepStrictEqual(res.body.toMap(), { RequestId: "CORE-RID" })
      })
    ))

  it.live("a wrong secret is refused with SignatureDoesNotMatch (HTTP 400) in ECI's error envelope", () =>
    withServer((endpoint) =>
      Effect.gen(function*() {
        const e = yield* sdkFailure(sdk(endpoint, AK, "wrong-secret").describeContainerGroups(describeRequest))
        assert.strictEqual(e.code, "SignatureDoesNotMatch")
        assert.strictEqual(e.statusCode, 400)
        assert.match(String(e.data?.["RequestId"]), /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/)
        assert.strictEqual(e.data?.["HostId"], "eci.cn-hangzhou.aliyuncs.com")
        assert.include(String(e.data?.["Recommend"]), "SignatureDoesNotMatch")
        assert.isString(e.data?.["Message"])
      })
    ))

  it.live("an unknown access key is refused with InvalidAccessKeyId.NotFound (HTTP 404)", () =>
    withServer((endpoint) =>
      Effect.gen(function*() {
        const e = yield* sdkFailure(sdk(endpoint, "LTAI-nobody", SECRET).describeContainerGroups(describeRequest))
        assert.strictEqual(e.code, "InvalidAccessKeyId.NotFound")
        assert.strictEqual(e.statusCode, 404)
      })
    ))

  it.live("through the live transport: auth failures, core errors and dropped connections become tagged errors", () =>
    withServer((endpoint) =>
      Effect.gen(function*() {
        const transportWith = (secret: string) =>
          makeSdkTransport(
            { regionId: "cn-hangzhou", endpoint, protocol: "HTTP", connectTimeout: "5 seconds", readTimeout: "5 seconds" },
            Credentials.of({ provider: "test", current: Effect.succeed(staticAccessKey(AK, secret)), changes: Stream.empty })
          )
        const good = transportWith(SECRET)
        const bad = yield* Effect.flip(transportWith("nope")("DeleteContainerGroup", { RegionId: "cn-hangzhou", ContainerGroupId: "eci-1" }))
        assert.strictEqual(bad._tag, "EciAuthFailed")
        assert.strictEqual(bad.code, "SignatureDoesNotMatch")
        assert.strictEqual(bad.httpStatus, 400)
        assert.notStrictEqual(bad.requestId, "")

        const throttled = yield* Effect.flip(good("DeleteContainerGroup", { RegionId: "cn-hangzhou", ContainerGroupId: "eci-throttle" }))
        assert.deepInclude(throttled, { _tag: "EciThrottled", code: "Throttling.User", requestId: "CORE-RID", httpStatus: 400 })

        const dropped = yield* Effect.flip(good("DeleteContainerGroup", { RegionId: "cn-hangzhou", ContainerGroupId: "eci-drop" }))
        assert.strictEqual(dropped._tag, "EciUnavailable")
        assert.strictEqual(dropped.code, "NetworkError")
        assert.notInclude(dropped.message, "eci-drop") // the URL (all parameters) never reaches the message

        const ok = yield* good("DeleteContainerGroup", { RegionId: "cn-hangzhou", ContainerGroupId: "eci-1" })
        assert.strictEqual(ok.RequestId, "CORE-RID")
      })
    ))
})

describe("verifyAcs3 on captured SDK requests", () => {
  const captured = () =>
    Effect.promise(async () => {
      const c = await captureSdkRequest("DescribeContainerGroups", { RegionId: "cn-hangzhou", ContainerGroupIds: "[\"eci-a\"]" })
      const headers = { ...c.headers } // signed by captureSdkRequest's key pair AK / SK
      return { method: c.method, url: c.url, headers, body: new Uint8Array(), date: Date.parse(String(headers["x-acs-date"])) }
    })
  const verifyWith = (secret: string) => (id: string) => (id === "AK" ? Redacted.make(secret) : undefined)
  const code = <A>(r: Result.Result<A, { code: string }>) => (Result.isFailure(r) ? r.failure.code : "ok")

  it.effect("accepts once, refuses the replayed nonce, a skewed clock, tampering and garbled headers", () =>
    Effect.gen(function*() {
      const req = yield* captured()
      const ok = verifyWith("SK")
      assert.strictEqual(code(verifyAcs3(req, ok, req.date, makeNonceMemory())), "ok")

      const nonces = makeNonceMemory()
      assert.strictEqual(code(verifyAcs3(req, ok, req.date, nonces)), "ok")
      assert.strictEqual(code(verifyAcs3(req, ok, req.date + 1000, nonces)), "SignatureNonceUsed")

      assert.strictEqual(code(verifyAcs3(req, ok, req.date + 16 * 60_000, makeNonceMemory())), "InvalidTimeStamp.Expired")
      assert.strictEqual(code(verifyAcs3(req, ok, req.date - 16 * 60_000, makeNonceMemory())), "InvalidTimeStamp.Expired")
      assert.strictEqual(code(verifyAcs3(req, ok, req.date + 14 * 60_000, makeNonceMemory())), "ok")

      assert.strictEqual(code(verifyAcs3(req, verifyWith("other"), req.date, makeNonceMemory())), "SignatureDoesNotMatch")
      const tamperedQuery = { ...req, url: req.url.replace("eci-a", "eci-b") }
      assert.strictEqual(code(verifyAcs3(tamperedQuery, ok, req.date, makeNonceMemory())), "SignatureDoesNotMatch")
      const tamperedAction = { ...req, headers: { ...req.headers, "x-acs-action": "DeleteContainerGroup" } }
      assert.strictEqual(code(verifyAcs3(tamperedAction, ok, req.date, makeNonceMemory())), "SignatureDoesNotMatch")
      const withBody = { ...req, body: new TextEncoder().encode("x") }
      assert.strictEqual(code(verifyAcs3(withBody, ok, req.date, makeNonceMemory())), "SignatureDoesNotMatch")

      const noAuth = { ...req, headers: { ...req.headers, authorization: undefined } }
      assert.strictEqual(code(verifyAcs3(noAuth, ok, req.date, makeNonceMemory())), "IncompleteSignature")
      const garbled = { ...req, headers: { ...req.headers, authorization: "ACS3-HMAC-SHA256 garbage" } }
      assert.strictEqual(code(verifyAcs3(garbled, ok, req.date, makeNonceMemory())), "IncompleteSignature")
      const auth = String(req.headers["authorization"])
      const unsignedAction = { ...req, headers: { ...req.headers, authorization: auth.replace("x-acs-action;", "") } }
      assert.strictEqual(code(verifyAcs3(unsignedAction, ok, req.date, makeNonceMemory())), "IncompleteSignature")
      const badDate = { ...req, headers: { ...req.headers, "x-acs-date": "yesterday" } }
      assert.strictEqual(code(verifyAcs3(badDate, ok, req.date, makeNonceMemory())), "InvalidTimeStamp.Format")
      const unknownKey = { ...req, headers: { ...req.headers, authorization: auth.replace("Credential=AK,", "Credential=NOPE,") } }
      assert.strictEqual(code(verifyAcs3(unknownKey, ok, req.date, makeNonceMemory())), "InvalidAccessKeyId.NotFound")
    }))
})
