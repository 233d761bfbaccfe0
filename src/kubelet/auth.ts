/**
 * Who is asking, and may they (kubelet-reference §1.5; kubelet `pkg/kubelet/server/auth.go` and
 * `server.go InstallAuthFilter`, 1.36):
 *
 * Authentication, first match wins:
 * 1. a client certificate that verifies against the client CA (the API server's kubelet-client
 *    certificate): user = CN, groups = O;
 * 2. a bearer token, through TokenReview (successes cached 2 min, rejections 10 s);
 * 3. nobody: 401 "Unauthorized" — anonymous access is off, never "allow everything".
 * Authenticated users also get `system:authenticated`, as the kubelet's authenticator adds it.
 *
 * Authorization: SubjectAccessReview on `nodes/<subresource>` named after this node, verb from the
 * method (GET get, POST create, PUT update, PATCH patch, DELETE delete). The subresource comes from
 * the path — `stats`, `metrics`, `log` (for /logs/), otherwise `proxy`; with fine-grained
 * authorization (KEP-2862, on by default in 1.36) /pods and /runningpods/ first try `pods` and
 * /healthz `healthz`, then `proxy`: any allowed attribute admits the request. Decisions are cached:
 * allowed 5 min, denied 30 s; review failures are not cached (500).
 */
import { createHash } from "node:crypto"
import type { V1SubjectAccessReviewSpec } from "@kubernetes/client-node"
import { Cache, Context, Duration, Effect, Exit, Layer } from "effect"
import { Kube } from "../kube/Kube.ts"
import { forbidden, KubeletHttpError, unauthorized } from "./errors.ts"

export interface UserInfo {
  readonly username: string
  readonly uid?: string
  readonly groups: ReadonlyArray<string>
  readonly extra?: Readonly<Record<string, ReadonlyArray<string>>>
}

/** What TLS told us about the peer's certificate. */
export interface ClientCertificate {
  /** Verified against the client CA by the TLS layer (`socket.authorized`). */
  readonly verified: boolean
  readonly commonName: string | undefined
  readonly organizations: ReadonlyArray<string>
}

export interface Credentials {
  readonly certificate: ClientCertificate | undefined
  readonly bearerToken: string | undefined
}

export interface RequestAttributes {
  readonly verb: string
  /** Tried in order; the first allowed one admits the request. */
  readonly subresources: ReadonlyArray<string>
}

const isSubpath = (subpath: string, path: string) => {
  const p = path.replace(/\/$/, "")
  return subpath === p || (subpath.startsWith(p) && subpath[p.length] === "/")
}

const verbs: Readonly<Record<string, string>> = { POST: "create", GET: "get", HEAD: "get", PUT: "update", PATCH: "patch", DELETE: "delete" }

/** `nodeAuthorizerAttributesGetter.GetRequestAttributes`, for a request path (no query). */
export const requestAttributes = (method: string, path: string, fineGrained = true): RequestAttributes => {
  const subresources: Array<string> = []
  if (fineGrained) {
    if (isSubpath(path, "/pods")) subresources.push("pods")
    else if (isSubpath(path, "/healthz")) subresources.push("healthz")
    else if (isSubpath(path, "/configz")) subresources.push("configz")
    else if (isSubpath(path, "/runningpods/")) subresources.push("pods")
  }
  if (isSubpath(path, "/stats/")) subresources.push("stats")
  else if (isSubpath(path, "/metrics")) subresources.push("metrics")
  else if (isSubpath(path, "/logs/")) subresources.push("log")
  else if (isSubpath(path, "/checkpoint")) subresources.push("checkpoint")
  else if (isSubpath(path, "/statusz")) subresources.push("statusz")
  else if (isSubpath(path, "/flagz")) subresources.push("configz")
  else subresources.push("proxy")
  return { verb: verbs[method.toUpperCase()] ?? "", subresources }
}

export interface KubeletAuthOptions {
  readonly nodeName: string
  readonly fineGrained?: boolean
  readonly tokenTtl?: Duration.Input
  readonly tokenFailureTtl?: Duration.Input
  readonly allowTtl?: Duration.Input
  readonly denyTtl?: Duration.Input
}

export class KubeletAuth extends Context.Service<KubeletAuth, {
  readonly authenticate: (credentials: Credentials) => Effect.Effect<UserInfo, KubeletHttpError>
  /** Fails with 403 (denied) or 500 (the review itself failed). */
  readonly authorize: (user: UserInfo, method: string, path: string) => Effect.Effect<void, KubeletHttpError>
}>()("eci-virtual-node/KubeletAuth") {}

const AUTHENTICATED = "system:authenticated"

const withAuthenticatedGroup = (groups: ReadonlyArray<string>) => (groups.includes(AUTHENTICATED) ? groups : [...groups, AUTHENTICATED])

type TokenAnswer = { readonly _tag: "User"; readonly user: UserInfo } | { readonly _tag: "Rejected" }
type Decision = "allow" | "deny"

const reviewFailed = (message: string) => new KubeletHttpError({ status: 500, reason: "InternalError", message })

export const makeKubeletAuth = (options: KubeletAuthOptions): Effect.Effect<typeof KubeletAuth.Service, never, Kube> =>
  Effect.gen(function*() {
    const kube = yield* Kube
    // Keyed by the token's hash: the cache never holds a usable credential.
    const pendingTokens = new Map<string, string>()
    const tokens = yield* Cache.makeWith(
      (hash: string) =>
        Effect.gen(function*() {
          const token = pendingTokens.get(hash) ?? ""
          const status = yield* kube.reviewToken(token).pipe(
            Effect.mapError((e) => reviewFailed(`TokenReview failed: ${e.message}`))
          )
          if (status.authenticated !== true || status.user?.username === undefined) return { _tag: "Rejected" } as TokenAnswer
          const u = status.user
          return {
            _tag: "User",
            user: {
              username: u.username!,
              ...(u.uid === undefined ? {} : { uid: u.uid }),
              groups: withAuthenticatedGroup(u.groups ?? []),
              ...(u.extra === undefined ? {} : { extra: u.extra })
            }
          } as TokenAnswer
        }),
      {
        capacity: 4096,
        timeToLive: (exit) =>
          Exit.isFailure(exit)
            ? Duration.zero
            : exit.value._tag === "User"
            ? options.tokenTtl ?? Duration.minutes(2)
            : options.tokenFailureTtl ?? Duration.seconds(10)
      }
    )

    const decisions = yield* Cache.makeWith(
      (key: string) =>
        kube.reviewAccess(JSON.parse(key) as V1SubjectAccessReviewSpec).pipe(
          Effect.map((status): Decision => (status.allowed === true && status.denied !== true ? "allow" : "deny")),
          Effect.mapError((e) => e.message)
        ),
      {
        capacity: 4096,
        timeToLive: (exit) =>
          Exit.isFailure(exit) ? Duration.zero : exit.value === "allow" ? options.allowTtl ?? Duration.minutes(5) : options.denyTtl ?? Duration.seconds(30)
      }
    )

    const authenticate = (credentials: Credentials): Effect.Effect<UserInfo, KubeletHttpError> =>
      Effect.gen(function*() {
        const cert = credentials.certificate
        if (cert !== undefined && cert.verified && cert.commonName !== undefined && cert.commonName !== "") {
          return { username: cert.commonName, groups: withAuthenticatedGroup(cert.organizations) }
        }
        const token = credentials.bearerToken
        if (token !== undefined && token !== "") {
          const hash = createHash("sha256").update(token).digest("hex")
          pendingTokens.set(hash, token)
          const answer = yield* Cache.get(tokens, hash).pipe(
            Effect.ensuring(Effect.sync(() => pendingTokens.delete(hash))),
            // The kubelet answers 401 when authentication itself fails; the next request asks again.
            Effect.catch((e) => Effect.as(Effect.logWarning("could not authenticate a bearer token").pipe(Effect.annotateLogs({ error: e.message })), { _tag: "Rejected" } as TokenAnswer))
          )
          if (answer._tag === "User") return answer.user
        }
        return yield* unauthorized()
      })

    const authorize = (user: UserInfo, method: string, path: string): Effect.Effect<void, KubeletHttpError> =>
      Effect.gen(function*() {
        const attrs = requestAttributes(method, path, options.fineGrained ?? true)
        for (const subresource of attrs.subresources) {
          const spec: V1SubjectAccessReviewSpec = {
            user: user.username,
            groups: [...user.groups],
            ...(user.uid === undefined ? {} : { uid: user.uid }),
            ...(user.extra === undefined ? {} : { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) }),
            resourceAttributes: { verb: attrs.verb, resource: "nodes", subresource, name: options.nodeName, version: "v1", group: "" }
          }
          const decision = yield* Cache.get(decisions, JSON.stringify(spec)).pipe(
            Effect.mapError((message) =>
              reviewFailed(`Authorization error (user=${user.username}, verb=${attrs.verb}, resource=nodes, subresource=${subresource}): ${message}`)
            )
          )
          if (decision === "allow") return
        }
        return yield* forbidden(
          `Forbidden (user=${user.username}, verb=${attrs.verb}, resource=nodes, subresource(s)=[${attrs.subresources.join(" ")}])`
        )
      })

    return KubeletAuth.of({ authenticate, authorize })
  })

export const KubeletAuthLive = (options: KubeletAuthOptions): Layer.Layer<KubeletAuth, never, Kube> =>
  Layer.effect(KubeletAuth, makeKubeletAuth(options))
