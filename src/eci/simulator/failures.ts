import { Data } from "effect"

/**
 * How the simulator fails a request, in the terms ECI itself uses: an error `Code`, a `Message` and
 * the HTTP status of the answer. The wire face serialises an `ApiError` into the ECI error envelope;
 * the in-memory face hands it to `classifyEciError`. A `ConnectionDropped` has no envelope at all:
 * the wire face destroys the socket, the in-memory face reports a network error.
 */
export class SimulatorApiError extends Data.TaggedError("SimulatorApiError")<{
  readonly code: string
  readonly message: string
  readonly httpStatus: number
  readonly requestId: string
}> {}

export class SimulatorConnectionDropped extends Data.TaggedError("SimulatorConnectionDropped")<{
  /** `request`: the action was not carried out; `response`: it was, and only the answer is lost. */
  readonly phase: "request" | "response"
  readonly requestId: string
}> {}

export type SimulatorFailure = SimulatorApiError | SimulatorConnectionDropped

/** An ECI error before it is bound to a request id. */
export interface ApiErrorInfo {
  readonly code: string
  readonly message: string
  readonly httpStatus: number
}

/**
 * Thrown by the synchronous core (validation, state changes) and turned into a `SimulatorApiError`
 * at the one boundary in simulator.ts. Validation is long and linear; a throw keeps every check on
 * one line, and any other exception reaching the boundary is a defect of the simulator.
 */
export class EciFault extends Error {
  readonly info: ApiErrorInfo
  constructor(info: ApiErrorInfo) {
    super(`${info.code}: ${info.message}`)
    this.info = info
  }
}

const fault = (code: string, httpStatus: number, message: string) => new EciFault({ code, message, httpStatus })

/**
 * Every error code the simulator can return. Codes and messages marked (ref) are those of
 * eci-reference.md §3 or the ECI API pages; the others are our choice where ECI's is UNCONFIRMED
 * (see README.md, "Error codes").
 */
export const Faults = {
  /** (ref) common gateway code; the message names the wire parameter, e.g. `Container.1.Image`. */
  missingParameter: (name: string) =>
    fault(
      "MissingParameter",
      400,
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`
    ),
  /** (ref) common gateway code. */
  invalidParameter: (name: string, why: string) =>
    fault("InvalidParameter", 400, `The specified parameter "${name}" is not valid: ${why}`),
  /** (ref, seen in other Alibaba APIs) */
  idempotentParameterMismatch: () =>
    fault(
      "IdempotentParameterMismatch",
      400,
      "The request uses the same client token as a previous, but non-identical request."
    ),
  /** (ref) `Throttling.User`, HTTP 400. */
  throttled: () => fault("Throttling.User", 400, "Request was denied due to user flow control."),
  /** (ref) */
  serviceUnavailable: () =>
    fault("ServiceUnavailable", 503, "The request has failed due to a temporary failure of the server."),
  /** (ref) */
  internalError: () =>
    fault("InternalError", 500, "The request processing has failed due to some unknown error, exception or failure."),
  /** (ref) unknown action. */
  unknownAction: (action: string) =>
    fault("InvalidApi.NotFound", 404, `Specified api is not found, please check your url and method. (${action})`),
  /** (ref: DeleteContainerGroup/UpdateContainerGroup error table) `IncorrectStatus`, HTTP 400. */
  incorrectStatus: (id: string, status: string, operation: string) =>
    fault("IncorrectStatus", 400, `The container group ${id} is ${status}; ${operation} is not allowed in this status.`),
  /** Assumption: ECS-style NotFound code for an unknown or released container group. */
  containerGroupNotFound: (id: string) =>
    fault("InvalidContainerGroupId.NotFound", 404, `The specified ContainerGroupId "${id}" does not exist.`),
  /** Assumption. */
  imageCacheNotFound: (id: string) =>
    fault("InvalidImageCacheId.NotFound", 404, `The specified ImageCacheId "${id}" does not exist.`),
  /** Assumption (ECS vocabulary), only with a configured topology. */
  regionNotFound: (id: string) => fault("InvalidRegionId.NotFound", 404, `The specified RegionId "${id}" does not exist.`),
  /** Assumption (ECS vocabulary), only with a configured topology. */
  vSwitchNotFound: (id: string) =>
    fault("InvalidVSwitchId.NotFound", 404, `The specified VSwitchId "${id}" does not exist.`),
  /** Assumption (ECS vocabulary), only with a configured topology. */
  securityGroupNotFound: (id: string) =>
    fault("InvalidSecurityGroupId.NotFound", 404, `The specified SecurityGroupId "${id}" does not exist.`),
  /** Assumption (ECS vocabulary). */
  securityGroupVpcMismatch: (sg: string, vsw: string) =>
    fault("InvalidSecurityGroup.VpcMismatch", 400, `The security group ${sg} and the vSwitch ${vsw} are not in the same VPC.`),
  /** Assumption (ECS vocabulary): every vSwitch offered is out of free addresses. */
  ipExhausted: (vSwitches: ReadonlyArray<string>) =>
    fault(
      "InvalidVSwitchId.IpNotEnough",
      400,
      `The specified vSwitch has not enough IP addresses: ${vSwitches.join(",")}.`
    ),
  /** Assumption (ECS vocabulary), only when stock-out is configured to fail synchronously. */
  noStock: (what: string) =>
    fault("OperationDenied.NoStock", 403, `The resource is out of stock in the specified zone: ${what}.`),
  /** (ref: ECI error-code page lists `DryRun.Success`) the request would have succeeded. */
  dryRunSuccess: () => fault("DryRun.Success", 400, "Request validation has been passed with DryRun flag set.")
} as const
