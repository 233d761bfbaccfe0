import { assert, describe, it } from "@effect/vitest"
import { classifyEciError, type EciError, isRetryable } from "../../src/eci/errors.ts"

// The classification table of eci-reference §3.2: code (and HTTP status) → tag → retried or not.
const table: ReadonlyArray<readonly [code: string, httpStatus: number | undefined, tag: EciError["_tag"], retried: boolean]> = [
  ["Throttling", 400, "EciThrottled", true],
  ["Throttling.User", 400, "EciThrottled", true],
  ["Throttling.Api", 400, "EciThrottled", true],
  ["Degrade.Api", 400, "EciThrottled", true],
  ["SignatureNonceUsed", 400, "EciThrottled", true],
  ["ServiceUnavailable", 503, "EciUnavailable", true],
  ["InternalError", 500, "EciUnavailable", true],
  ["RequestTimeout", undefined, "EciUnavailable", true],
  ["NetworkError", undefined, "EciUnavailable", true],
  ["NetworkError.BadResponse", undefined, "EciUnavailable", true],
  ["SomethingNew", 502, "EciUnavailable", true],
  ["MissingParameter", 400, "EciInvalidParameter", false],
  ["MissingContainerGroupName", 400, "EciInvalidParameter", false],
  ["InvalidParameter", 400, "EciInvalidParameter", false],
  ["InvalidParameter.CpuMemory", 400, "EciInvalidParameter", false],
  ["InvalidContainerGroupName", 400, "EciInvalidParameter", false],
  ["IdempotentParameterMismatch", 400, "EciInvalidParameter", false],
  ["InvalidAccessKeyId.NotFound", 404, "EciAuthFailed", false],
  ["InvalidAccessKeyId.Inactive", 400, "EciAuthFailed", false],
  ["SignatureDoesNotMatch", 400, "EciAuthFailed", false],
  ["IncompleteSignature", 400, "EciAuthFailed", false],
  ["InvalidTimeStamp.Expired", 400, "EciAuthFailed", false],
  ["InvalidTimeStamp.Format", 400, "EciAuthFailed", false],
  ["Forbidden.RAM", 403, "EciAuthFailed", false],
  ["Forbidden.RiskControl", 403, "EciAuthFailed", false],
  ["Account.Arrearage", 400, "EciAuthFailed", false],
  ["InsufficientBalance", 400, "EciAuthFailed", false],
  ["CreateServiceLinkedRole.Denied", 403, "EciAuthFailed", false],
  ["OperationDenied.NoStock", 403, "EciOutOfStock", false],
  ["RecommendEmpty.InstanceTypeNoStock", 400, "EciOutOfStock", false],
  ["ResourceInsufficient", 400, "EciOutOfStock", false],
  ["IncorrectStatus.ContainerGroup", 403, "EciIncorrectState", false],
  ["IncorrectInstanceStatus", 403, "EciIncorrectState", false],
  ["InvalidApi.NotFound", 404, "EciNotFound", false],
  ["ContainerGroup.NotFound", 404, "EciNotFound", false],
  ["SomethingNew", 404, "EciNotFound", false],
  ["SomethingNew", 400, "EciUnknownError", false],
  ["DryRun.Success", 400, "EciUnknownError", false]
]

describe("classifyEciError", () => {
  for (const [code, httpStatus, tag, retried] of table) {
    it(`${code} (${httpStatus ?? "no status"}) → ${tag}, ${retried ? "retried" : "not retried"}`, () => {
      const e = classifyEciError({
        action: "CreateContainerGroup",
        code,
        message: "m",
        requestId: "RID-1",
        ...(httpStatus === undefined ? {} : { httpStatus })
      })
      assert.strictEqual(e._tag, tag)
      assert.strictEqual(isRetryable(e), retried)
      // What an operator needs to chase the failure survives classification.
      assert.strictEqual(e.code, code)
      assert.strictEqual(e.requestId, "RID-1")
      assert.strictEqual(e.action, "CreateContainerGroup")
      assert.strictEqual(e.httpStatus, httpStatus)
    })
  }
})
