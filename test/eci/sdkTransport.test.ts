import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Ref, Stream } from "effect"
import { type AccessKey, Credentials, CredentialsUnavailable, staticAccessKey } from "../../src/credentials/Credentials.ts"
import { defaultEndpoint, fromSdkError, makeSdkTransport } from "../../src/eci/sdkTransport.ts"
import { accessKeyPair, makeAccessKeyStore, startWireServer, type WireApi } from "../../src/eci/simulator/wireServer.ts"

const echo: WireApi = { call: (action, request) => Effect.succeed({ RequestId: "RID", ContainerGroupId: `${action}:${JSON.stringify(request)}` }) }

const credentialsFrom = (current: Effect.Effect<AccessKey, CredentialsUnavailable>) =>
  Credentials.of({ provider: "test", current, changes: Stream.empty })

describe("fromSdkError: what the SDK throws → tagged errors", () => {
  const url = "POST http://127.0.0.1:1/?ImageRegistryCredential.1.Password=hunter2&RegionId=r failed."
  it("an ECI answer keeps its Code, HTTP status, Message and RequestId", () => {
    const e = fromSdkError("CreateContainerGroup", {
      code: "Throttling.User",
      statusCode: 400,
      message: "Throttling.User: code: 400, m request id: RID-9",
      data: { RequestId: "RID-9", Code: "Throttling.User", Message: "Request was denied due to user flow control." }
    })
    assert.deepInclude(e, {
      _tag: "EciThrottled",
      code: "Throttling.User",
      httpStatus: 400,
      requestId: "RID-9",
      message: "Request was denied due to user flow control."
    })
  })
  it("timeouts, unreadable answers and socket errors are EciUnavailable, without the URL (it carries every parameter)", () => {
    const timeout = fromSdkError("CreateContainerGroup", Object.assign(new Error(`ReadTimeout(3000). ${url}`), { name: "RequestTimeoutError" }))
    assert.deepInclude(timeout, { _tag: "EciUnavailable", code: "RequestTimeout", message: "no answer from ECI: ReadTimeout(3000)" })
    const syntax = fromSdkError("CreateContainerGroup", new SyntaxError("Unexpected end of JSON input"))
    assert.deepInclude(syntax, { _tag: "EciUnavailable", code: "NetworkError.BadResponse" })
    const reset = fromSdkError("CreateContainerGroup", Object.assign(new Error(`socket hang up${url}`), { code: "ECONNRESET" }))
    assert.deepInclude(reset, { _tag: "EciUnavailable", code: "NetworkError", message: "connection failed: ECONNRESET" })
    const refused = fromSdkError(
      "CreateContainerGroup",
      Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:1${url}`), { code: "ECONNREFUSED", syscall: "connect" })
    )
    assert.deepInclude(refused, { _tag: "EciUnavailable", code: "NetworkError", message: "connection failed: ECONNREFUSED (connect)" })
    const other = fromSdkError("CreateContainerGroup", Object.assign(new Error(`something odd ${url}`), { code: "ParameterMissing" }))
    assert.deepInclude(other, { _tag: "EciUnknownError", code: "ParameterMissing", message: "something odd" })
    for (const e of [timeout, syntax, reset, refused, other]) assert.notInclude(e.message, "hunter2")
  })
  it("the default endpoint is the region's VPC endpoint", () => {
    assert.strictEqual(defaultEndpoint("cn-shanghai"), "eci-vpc.cn-shanghai.aliyuncs.com")
  })
})

describe("the SDK transport against the wire server", () => {
  it.live("reads credentials on every call: a rotated key is used at once, a revoked one is refused", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const keys = makeAccessKeyStore([accessKeyPair("AK-1", "secret-1")])
        const server = yield* startWireServer({ accessKeys: keys }, () => Effect.succeed({ api: echo }))
        const current = yield* Ref.make(staticAccessKey("AK-1", "secret-1"))
        const transport = makeSdkTransport(
          { regionId: "cn-hangzhou", endpoint: server.endpoint, protocol: "HTTP", connectTimeout: "5 seconds", readTimeout: "5 seconds" },
          credentialsFrom(Ref.get(current))
        )
        const call = transport("DeleteContainerGroup", { RegionId: "cn-hangzhou", ContainerGroupId: "eci-1" })
        assert.strictEqual((yield* call).RequestId, "RID")

        // Rotation: the server accepts only the new key, the Credentials service hands it out.
        yield* keys.replace([accessKeyPair("AK-2", "secret-2")])
        const stale = yield* Effect.flip(call)
        assert.deepInclude(stale, { _tag: "EciAuthFailed", code: "InvalidAccessKeyId.NotFound", httpStatus: 404 })
        yield* Ref.set(current, staticAccessKey("AK-2", "secret-2"))
        assert.strictEqual((yield* call).RequestId, "RID")

        // Same id, new secret (a re-issued key): the cached client is rebuilt too.
        yield* keys.replace([accessKeyPair("AK-2", "secret-3")])
        yield* Ref.set(current, staticAccessKey("AK-2", "secret-3"))
        assert.strictEqual((yield* call).RequestId, "RID")
      })
    ))

  it.effect("no credentials → EciAuthFailed naming the provider's problem, no call made", () =>
    Effect.gen(function*() {
      const transport = makeSdkTransport(
        { regionId: "cn-hangzhou", endpoint: "127.0.0.1:1", protocol: "HTTP" },
        credentialsFrom(Effect.fail(new CredentialsUnavailable({ provider: "secret", message: "Secret kube-system/alibaba-addon-secret not found" })))
      )
      const e = yield* Effect.flip(transport("DeleteContainerGroup", { ContainerGroupId: "eci-1" }))
      assert.deepInclude(e, { _tag: "EciAuthFailed", code: "CredentialsUnavailable", requestId: "" })
      assert.include(e.message, "alibaba-addon-secret")
    }))

  it.live("nested models and arrays arrive as sent; responses come back with wire names", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const seen: Array<Record<string, unknown>> = []
        const api: WireApi = {
          call: (_action, request) => {
            seen.push(request)
            return Effect.succeed({
              RequestId: "RID",
              TotalCount: 1,
              ContainerGroups: [{ ContainerGroupId: "eci-1", Tags: [{ Key: "k", Value: "v" }], Containers: [{ Name: "c", CurrentState: { State: "Running", ExitCode: 0 } }] }]
            })
          }
        }
        const server = yield* startWireServer({ accessKeys: makeAccessKeyStore([accessKeyPair("AK", "SK")]) }, () =>
          Effect.succeed({ api }))
        const transport = makeSdkTransport(
          { regionId: "cn-hangzhou", endpoint: server.endpoint, protocol: "HTTP" },
          credentialsFrom(Effect.succeed({ accessKeyId: "AK", accessKeySecret: Redacted.make("SK") }))
        )
        const request = { RegionId: "cn-hangzhou", Tag: [{ Key: "a", Value: "1" }, { Key: "b", Value: "" }], Limit: 20, WithEvent: true }
        const response = yield* transport("DescribeContainerGroups", request)
        assert.deepStrictEqual(seen, [request])
        assert.deepStrictEqual(response, {
          RequestId: "RID",
          TotalCount: 1,
          ContainerGroups: [{ ContainerGroupId: "eci-1", Tags: [{ Key: "k", Value: "v" }], Containers: [{ Name: "c", CurrentState: { State: "Running", ExitCode: 0 } }] }]
        })
      })
    ))
})
