/**
 * One AdmissionReview in, one out. A steering webhook never blocks pod creation: every answer
 * to a well-formed review is `allowed: true`, and when anything goes wrong the pod passes
 * unchanged and the reason is logged.
 */
import type { V1Pod } from "@kubernetes/client-node"
import { Cause, Effect, Schema } from "effect"
import { isRecord, type Labels } from "./labelSelector.ts"
import { EXCLUDED_NAMESPACES, mutatePod, type Steering } from "./mutation.ts"
import type { EciProfile } from "./profile.ts"

export const ADMISSION_API_VERSION = "admission.k8s.io/v1"

export interface AdmissionResponse {
  readonly uid: string
  readonly allowed: true
  readonly patchType?: "JSONPatch"
  /** base64 of the JSON Patch document. */
  readonly patch?: string
  readonly warnings?: ReadonlyArray<string>
}

export interface AdmissionReviewOut {
  readonly apiVersion: typeof ADMISSION_API_VERSION
  readonly kind: "AdmissionReview"
  readonly response: AdmissionResponse
}

/** What the handler needs from the world, so tests can hand in plain values. */
export interface AdmissionDeps {
  readonly steering: Steering
  readonly profile: Effect.Effect<EciProfile>
  /** Labels of a namespace; failures are the caller's to log (the pod then sees no namespace labels). */
  readonly namespaceLabels: (name: string) => Effect.Effect<Labels, { readonly message: string }>
}

export class MalformedAdmissionReview extends Schema.TaggedError<MalformedAdmissionReview>()("MalformedAdmissionReview", {
  message: Schema.String
}) {}

interface AdmissionRequest {
  readonly uid: string
  readonly kind: string
  readonly operation: string
  readonly subResource: string | undefined
  readonly namespace: string | undefined
  readonly object: unknown
}

/** Only what we read; anything else in the review is ignored. */
export const readAdmissionRequest = (body: unknown): AdmissionRequest | MalformedAdmissionReview => {
  if (!isRecord(body)) return new MalformedAdmissionReview({ message: "body is not a JSON object; expected an AdmissionReview" })
  if (body["apiVersion"] !== ADMISSION_API_VERSION || body["kind"] !== "AdmissionReview") {
    return new MalformedAdmissionReview({
      message: `apiVersion/kind is ${JSON.stringify(body["apiVersion"])}/${JSON.stringify(body["kind"])}; expected ${ADMISSION_API_VERSION}/AdmissionReview (set admissionReviewVersions: ["v1"])`
    })
  }
  const request = body["request"]
  if (!isRecord(request) || typeof request["uid"] !== "string" || request["uid"] === "") {
    return new MalformedAdmissionReview({ message: "request.uid is missing; expected an AdmissionReview request" })
  }
  const kind = isRecord(request["kind"]) ? request["kind"]["kind"] : undefined
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined)
  return {
    uid: request["uid"],
    kind: text(kind) ?? "",
    operation: text(request["operation"]) ?? "",
    subResource: text(request["subResource"]),
    namespace: text(request["namespace"]),
    object: request["object"]
  }
}

const allow = (uid: string, extra: Omit<AdmissionResponse, "uid" | "allowed"> = {}): AdmissionReviewOut => ({
  apiVersion: ADMISSION_API_VERSION,
  kind: "AdmissionReview",
  response: { uid, allowed: true, ...extra }
})

const podRef = (pod: V1Pod, namespace: string) =>
  `${namespace}/${pod.metadata?.name ?? `${pod.metadata?.generateName ?? ""}<generated>`}`

const mutate = (request: AdmissionRequest, deps: AdmissionDeps) =>
  Effect.gen(function*() {
    if (request.kind !== "Pod" || request.operation !== "CREATE" || request.subResource !== undefined || !isRecord(request.object)) {
      return allow(request.uid)
    }
    const pod = request.object as V1Pod
    const namespace = request.namespace ?? pod.metadata?.namespace ?? "default"
    const read = EXCLUDED_NAMESPACES.includes(namespace)
      ? {}
      : yield* deps.namespaceLabels(namespace).pipe(
        Effect.catch((e) =>
          Effect.as(
            Effect.logWarning("namespace labels unavailable; deciding on the pod's own labels").pipe(
              Effect.annotateLogs({ namespace, error: e.message })
            ),
            {} as Labels
          )
        )
      )
    // The API server sets this label on every namespace (1.22+) and selectors use it to name
    // namespaces; it is known even when the namespace could not be read.
    const labels: Labels = { ...read, "kubernetes.io/metadata.name": namespace }
    const result = mutatePod({ pod, namespace: { name: namespace, labels }, profile: yield* deps.profile, steering: deps.steering })
    const ref = podRef(pod, namespace)
    for (const warning of result.warnings) yield* Effect.logWarning(warning).pipe(Effect.annotateLogs({ pod: ref }))
    const warnings = result.warnings.length > 0 ? { warnings: result.warnings } : {}
    if (result.patch.length === 0) return allow(request.uid, warnings)
    yield* Effect.logInfo("steering pod onto the virtual node").pipe(
      Effect.annotateLogs({ pod: ref, steeredBy: result.steeredBy.join(", "), applied: result.applied.join("; ") })
    )
    const patch = Buffer.from(JSON.stringify(result.patch)).toString("base64")
    return allow(request.uid, { patchType: "JSONPatch", patch, ...warnings })
  })

/**
 * The answer to a review. A malformed review (no uid to echo) is the only failure; everything
 * else, defects included, ends in `allowed: true` without a patch.
 */
export const reviewAdmission = (body: unknown, deps: AdmissionDeps): Effect.Effect<AdmissionReviewOut, MalformedAdmissionReview> => {
  const request = readAdmissionRequest(body)
  if (request instanceof MalformedAdmissionReview) return Effect.fail(request)
  return mutate(request, deps).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(
          Effect.logError("steering failed; the pod passes unchanged").pipe(
            Effect.annotateLogs({ uid: request.uid, error: Cause.pretty(cause) })
          ),
          allow(request.uid)
        )
    )
  )
}
