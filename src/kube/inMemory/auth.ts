import type { V1SubjectAccessReviewSpec, V1SubjectAccessReviewStatus, V1TokenReviewStatus } from "@kubernetes/client-node"
import { invalid } from "./store.ts"

/** Answers TokenReview for a token; `undefined` falls back to the built-in answer. */
export type TokenReviewer = (token: string) => V1TokenReviewStatus | undefined
/** Answers SubjectAccessReview; `undefined` falls back to the built-in answer. */
export type AccessReviewer = (spec: V1SubjectAccessReviewSpec) => V1SubjectAccessReviewStatus | undefined

interface IssuedToken {
  readonly namespace: string
  readonly serviceAccount: string
  readonly serviceAccountUid: string
  readonly audiences: ReadonlyArray<string>
  readonly expiresAtMillis: number
  readonly boundPod: { readonly name: string; readonly uid: string } | undefined
}

/**
 * Service-account tokens and reviews for the in-memory layer. Tokens are deterministic
 * (`inmemory-token-<n>`); a review accepts a token that this fake issued, that has not expired, whose
 * service account still exists with the same UID, and whose audiences meet the API server's — the
 * rules a real API server applies to its own tokens. SubjectAccessReview allows `system:masters`
 * (as the real privileged-group authorizer does) and denies everyone else unless told otherwise.
 */
export const makeAuth = (apiAudiences: ReadonlyArray<string>) => {
  const tokens = new Map<string, IssuedToken>()
  let issued = 0
  let tokenReviewer: TokenReviewer | undefined
  let accessReviewer: AccessReviewer | undefined

  return {
    setTokenReviewer: (f: TokenReviewer | undefined) => {
      tokenReviewer = f
    },
    setAccessReviewer: (f: AccessReviewer | undefined) => {
      accessReviewer = f
    },
    issue: (request: Omit<IssuedToken, "audiences" | "expiresAtMillis"> & {
      readonly audiences: ReadonlyArray<string>
      readonly expirationSeconds: number
      readonly nowMillis: number
    }) => {
      if (request.expirationSeconds < 600) {
        throw invalid(
          "createServiceAccountToken",
          `TokenRequest.authentication.k8s.io "${request.serviceAccount}" is invalid: spec.expirationSeconds: Invalid value: ${request.expirationSeconds}: may not specify a duration less than 10 minutes`
        )
      }
      issued += 1
      const token = `inmemory-token-${issued}`
      tokens.set(token, {
        namespace: request.namespace,
        serviceAccount: request.serviceAccount,
        serviceAccountUid: request.serviceAccountUid,
        audiences: request.audiences.length === 0 ? apiAudiences : request.audiences,
        expiresAtMillis: request.nowMillis + request.expirationSeconds * 1000,
        boundPod: request.boundPod
      })
      return { token, expirationTimestamp: new Date(request.nowMillis + request.expirationSeconds * 1000) }
    },
    review: (
      token: string,
      nowMillis: number,
      serviceAccountUid: (namespace: string, name: string) => string | undefined
    ): V1TokenReviewStatus => {
      const custom = tokenReviewer?.(token)
      if (custom !== undefined) return custom
      const t = tokens.get(token)
      const rejected = (reason: string): V1TokenReviewStatus => ({ user: {}, error: `[invalid bearer token, ${reason}]` })
      if (t === undefined) return rejected("token not issued by this server")
      if (t.expiresAtMillis <= nowMillis) return rejected("token has expired")
      if (serviceAccountUid(t.namespace, t.serviceAccount) !== t.serviceAccountUid) {
        return rejected(`service account ${t.namespace}/${t.serviceAccount} has been deleted`)
      }
      const audiences = t.audiences.filter((a) => apiAudiences.includes(a))
      if (audiences.length === 0) {
        return rejected(`token audiences ${JSON.stringify(t.audiences)} is invalid for the target audiences ${JSON.stringify(apiAudiences)}`)
      }
      return {
        authenticated: true,
        audiences,
        user: {
          username: `system:serviceaccount:${t.namespace}:${t.serviceAccount}`,
          uid: t.serviceAccountUid,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${t.namespace}`, "system:authenticated"],
          ...(t.boundPod === undefined ? {} : {
            extra: {
              "authentication.kubernetes.io/pod-name": [t.boundPod.name],
              "authentication.kubernetes.io/pod-uid": [t.boundPod.uid]
            }
          })
        }
      }
    },
    reviewAccess: (spec: V1SubjectAccessReviewSpec): V1SubjectAccessReviewStatus =>
      accessReviewer?.(spec) ?? { allowed: (spec.groups ?? []).includes("system:masters") }
  }
}
