import { Schema } from "effect"

/**
 * Every failure of an ECI call becomes one of these tagged errors, chosen by the error `Code` the API
 * returned (see `classifyEciError`). Each carries what an operator needs to chase it with Alibaba
 * support: the action, the raw code and message, and the RequestId.
 */
const fields = {
  action: Schema.String,
  code: Schema.String,
  message: Schema.String,
  requestId: Schema.String,
  httpStatus: Schema.optionalKey(Schema.Number)
}

/** Flow control (`Throttling*`, `Degrade.*`): retry with backoff. */
export class EciThrottled extends Schema.TaggedError<EciThrottled>()("EciThrottled", fields) {}
/** Temporary server trouble (5xx, `ServiceUnavailable`, `InternalError`, timeouts, dropped connections). */
export class EciUnavailable extends Schema.TaggedError<EciUnavailable>()("EciUnavailable", fields) {}
/** The instance, cache or action does not exist. */
export class EciNotFound extends Schema.TaggedError<EciNotFound>()("EciNotFound", fields) {}
/** A request ECI refuses as malformed or unsupported (`InvalidParameter*`, `Missing*`, `Invalid*`). */
export class EciInvalidParameter extends Schema.TaggedError<EciInvalidParameter>()("EciInvalidParameter", fields) {}
/** No capacity for the requested spec or zone (`*NoStock*`, `*Stock*`, `ResourceInsufficient`). */
export class EciOutOfStock extends Schema.TaggedError<EciOutOfStock>()("EciOutOfStock", fields) {}
/** Credentials or permissions are wrong (`InvalidAccessKeyId*`, `SignatureDoesNotMatch`, `Forbidden*`, arrears). */
export class EciAuthFailed extends Schema.TaggedError<EciAuthFailed>()("EciAuthFailed", fields) {}
/** The instance is in a state that does not allow the operation (`Incorrect*Status*`): retry once it settles. */
export class EciIncorrectState extends Schema.TaggedError<EciIncorrectState>()("EciIncorrectState", fields) {}
/** Anything else, including answers we could not parse. */
export class EciUnknownError extends Schema.TaggedError<EciUnknownError>()("EciUnknownError", fields) {}

export type EciError =
  | EciThrottled
  | EciUnavailable
  | EciNotFound
  | EciInvalidParameter
  | EciOutOfStock
  | EciAuthFailed
  | EciIncorrectState
  | EciUnknownError

export interface EciFailure {
  readonly action: string
  readonly code: string
  readonly message: string
  readonly requestId: string
  readonly httpStatus?: number
}

const startsWithAny = (code: string, prefixes: ReadonlyArray<string>) => prefixes.some((p) => code.startsWith(p))

/**
 * Maps an ECI error code (and HTTP status) to its tagged error. The table follows the reference's
 * recommended classification: throttling and 5xx are transient; capacity, state, auth and parameter
 * errors are not helped by an immediate retry.
 */
export const classifyEciError = (f: EciFailure): EciError => {
  const c = f.code
  const props = f.httpStatus === undefined
    ? { action: f.action, code: c, message: f.message, requestId: f.requestId }
    : { action: f.action, code: c, message: f.message, requestId: f.requestId, httpStatus: f.httpStatus }
  if (startsWithAny(c, ["Throttling", "Degrade.", "SignatureNonceUsed"])) return new EciThrottled(props)
  if (startsWithAny(c, ["ServiceUnavailable", "InternalError", "RequestTimeout", "NetworkError"])) {
    return new EciUnavailable(props)
  }
  if (
    startsWithAny(c, ["InvalidAccessKeyId", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidTimeStamp"])
    || startsWithAny(c, ["Forbidden", "InvalidAction", "ActionUnauthorized", "Account.Arrearage"])
    || startsWithAny(c, ["InsufficientBalance", "InvalidSecurityToken", "CreateServiceLinkedRole.Denied"])
  ) return new EciAuthFailed(props)
  if (/NoStock|Stock(Exhaust|Close)|ResourceInsufficient|RecommendEmpty|IpNotEnough/.test(c)) return new EciOutOfStock(props)
  // A placement id ECI does not know (vSwitch, security group, region) is a bad request, not a
  // missing instance: callers read EciNotFound as "the group is gone".
  if (/^Invalid(VSwitchId|SecurityGroupId|SecurityGroup|RegionId|ZoneId)\./.test(c)) return new EciInvalidParameter(props)
  if (/^Incorrect.*Status|^IncorrectStatus/.test(c)) return new EciIncorrectState(props)
  if (c.endsWith(".NotFound") || c === "NotFound" || startsWithAny(c, ["InvalidApi.NotFound"])) return new EciNotFound(props)
  if (startsWithAny(c, ["InvalidParameter", "MissingParameter", "Missing", "Invalid", "IdempotentParameterMismatch"])) {
    return new EciInvalidParameter(props)
  }
  if (f.httpStatus !== undefined && f.httpStatus >= 500) return new EciUnavailable(props)
  if (f.httpStatus === 404) return new EciNotFound(props)
  return new EciUnknownError(props)
}

/** Only these are worth retrying on the spot; the others need a different request or a person. */
export const isRetryable = (e: EciError): boolean => e._tag === "EciThrottled" || e._tag === "EciUnavailable"
