/**
 * The kubelet API (kubelet-reference §1.4): one handler for the whole port. Every request is
 * authenticated and authorised first (auth.ts); then the path picks the route. The routes are few
 * and fixed, and their authorisation depends on the path alone, so matching is a pure function
 * (table-tested) rather than a router.
 *
 * | route | |
 * |---|---|
 * | GET /healthz[/…] | "ok" |
 * | GET /pods | pods bound to this node (v1 PodList) |
 * | GET /runningpods/ | pods whose container groups ECI runs for us (v1 PodList, name/namespace/uid and containers) |
 * | GET /containerLogs/{ns}/{pod}/{container} | logs.ts |
 * | GET, POST /exec/{ns}/{pod}[/{uid}]/{container} | exec.ts |
 * | GET, POST /attach/…, /portForward/… | refused: ECI cannot (exec.ts) |
 * | GET /stats/summary | stats/v1alpha1 Summary |
 * | GET /metrics/resource | resource metrics (Prometheus text) |
 * | GET /metrics | this process's own metrics |
 */
import type { TLSSocket } from "node:tls"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Metric, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { Eci } from "../eci/Eci.ts"
import { listGroupsByTags } from "../eci/queries.ts"
import { Kube } from "../kube/Kube.ts"
import { toWire } from "../kube/codec.ts"
import { IDENTITY_TAGS } from "../translate/identity.ts"
import { type ClientCertificate, type Credentials, KubeletAuth } from "./auth.ts"
import { fromEciError, fromKubeError, type KubeletHttpError, notFound, statusResponse, textResponse } from "./errors.ts"
import { handleExec, unsupportedStreaming } from "./exec.ts"
import { containerLogStream, parseLogQuery } from "./logs.ts"
import { containerStatusOf, findPod, hasContainer, logRunOf, targetOf } from "./pods.ts"
import { KubeletSettings } from "./settings.ts"
import { KubeletStats } from "./stats.ts"
import { resourceMetricsText, summaryDocument } from "./statsFormat.ts"

export type KubeletRoute =
  | { readonly _tag: "Healthz" }
  | { readonly _tag: "Pods" }
  | { readonly _tag: "RunningPods" }
  | { readonly _tag: "StatsSummary" }
  | { readonly _tag: "MetricsResource" }
  | { readonly _tag: "Metrics" }
  | { readonly _tag: "ContainerLogs"; readonly namespace: string; readonly pod: string; readonly container: string }
  | { readonly _tag: "Exec"; readonly namespace: string; readonly pod: string; readonly uid?: string; readonly container: string }
  | { readonly _tag: "Attach" }
  | { readonly _tag: "PortForward" }
  | { readonly _tag: "MethodNotAllowed"; readonly allowed: ReadonlyArray<string> }
  | { readonly _tag: "NotFound" }

const GET = ["GET", "HEAD"]
const STREAMING = ["GET", "POST"]

const decode = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** The route of a request path (no query). */
export const matchRoute = (method: string, path: string): KubeletRoute => {
  const raw = path.split("/").slice(1)
  const segments = raw.map(decode)
  if (segments.some((s) => s === undefined)) return { _tag: "NotFound" }
  const s = segments as ReadonlyArray<string>
  const only = (allowed: ReadonlyArray<string>, route: KubeletRoute): KubeletRoute =>
    allowed.includes(method.toUpperCase()) ? route : { _tag: "MethodNotAllowed", allowed }
  const nonEmpty = (xs: ReadonlyArray<string>) => xs.every((x) => x !== "")
  const [head, ...rest] = s
  switch (head) {
    case "healthz":
      return only(GET, { _tag: "Healthz" })
    case "pods":
      return rest.length === 0 || (rest.length === 1 && rest[0] === "") ? only(GET, { _tag: "Pods" }) : { _tag: "NotFound" }
    case "runningpods":
      return rest.length <= 1 && (rest[0] ?? "") === "" ? only(GET, { _tag: "RunningPods" }) : { _tag: "NotFound" }
    case "stats":
      return rest.length === 1 && rest[0] === "summary" ? only([...GET, "POST"], { _tag: "StatsSummary" }) : { _tag: "NotFound" }
    case "metrics":
      if (rest.length === 0) return only(GET, { _tag: "Metrics" })
      return rest.length === 1 && rest[0] === "resource" ? only(GET, { _tag: "MetricsResource" }) : { _tag: "NotFound" }
    case "containerLogs":
      return rest.length === 3 && nonEmpty(rest)
        ? only(GET, { _tag: "ContainerLogs", namespace: rest[0]!, pod: rest[1]!, container: rest[2]! })
        : { _tag: "NotFound" }
    case "exec":
      if (rest.length === 3 && nonEmpty(rest)) return only(STREAMING, { _tag: "Exec", namespace: rest[0]!, pod: rest[1]!, container: rest[2]! })
      if (rest.length === 4 && nonEmpty(rest)) {
        return only(STREAMING, { _tag: "Exec", namespace: rest[0]!, pod: rest[1]!, uid: rest[2]!, container: rest[3]! })
      }
      return { _tag: "NotFound" }
    case "attach":
      return (rest.length === 3 || rest.length === 4) && nonEmpty(rest) ? only(STREAMING, { _tag: "Attach" }) : { _tag: "NotFound" }
    case "portForward":
      return (rest.length === 2 || rest.length === 3) && nonEmpty(rest) ? only(STREAMING, { _tag: "PortForward" }) : { _tag: "NotFound" }
    default:
      return { _tag: "NotFound" }
  }
}

const firstString = (v: string | ReadonlyArray<string> | undefined): string | undefined => (typeof v === "string" ? v : v?.[0])

/** The peer's certificate as TLS verified it, and the bearer token. */
export const credentialsOf = (request: HttpServerRequest.HttpServerRequest): Credentials => {
  const header = request.headers["authorization"] ?? ""
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
  let certificate: ClientCertificate | undefined
  const socket = NodeHttpServerRequest.toIncomingMessage(request).socket as TLSSocket | undefined
  if (socket !== undefined && typeof socket.getPeerCertificate === "function") {
    const cert = socket.getPeerCertificate()
    if (cert !== null && typeof cert === "object" && Object.keys(cert).length > 0) {
      const subject = (cert.subject ?? {}) as unknown as Record<string, string | ReadonlyArray<string> | undefined>
      const o = subject["O"]
      certificate = {
        verified: socket.authorized === true,
        commonName: firstString(subject["CN"]),
        organizations: o === undefined ? [] : typeof o === "string" ? [o] : [...o]
      }
    }
  }
  return { certificate, bearerToken: bearer }
}

const podList = (items: ReadonlyArray<unknown>) => ({ kind: "PodList", apiVersion: "v1", metadata: {}, items })

const pods = Effect.gen(function*() {
  const { nodeName } = yield* KubeletSettings
  const kube = yield* Kube
  const list = yield* kube.listPods({ nodeName }).pipe(Effect.mapError((e) => fromKubeError(e, "listing this node's pods")))
  return HttpServerResponse.jsonUnsafe(podList(list.map((p) => toWire("V1Pod", p))))
})

/** What the runtime runs: our container groups in ECI (by our cluster and node tags), as minimal pods. */
const runningPods = Effect.gen(function*() {
  const { nodeName, clusterId } = yield* KubeletSettings
  if (clusterId === undefined) return yield* notFound("runningpods is not available: no cluster id is configured")
  const groups = yield* listGroupsByTags({ [IDENTITY_TAGS.clusterId]: clusterId, [IDENTITY_TAGS.nodeName]: nodeName }).pipe(
    Effect.mapError((e) => fromEciError(e, "listing this node's container groups"))
  )
  const tag = (tags: ReadonlyArray<{ readonly Key?: string; readonly Value?: string }> | undefined, key: string) =>
    tags?.find((t) => t.Key === key)?.Value ?? ""
  const live = groups.filter((g) => !["Succeeded", "Failed", "Expired"].includes(g.Status ?? ""))
  return HttpServerResponse.jsonUnsafe(podList(live.map((g) => ({
    metadata: {
      name: tag(g.Tags, IDENTITY_TAGS.podName),
      namespace: tag(g.Tags, IDENTITY_TAGS.namespace),
      uid: tag(g.Tags, IDENTITY_TAGS.podUid),
      annotations: { "k8s.aliyun.com/eci-instance-id": g.ContainerGroupId ?? "" }
    },
    spec: { containers: (g.Containers ?? []).map((c) => ({ name: c.Name ?? "", image: c.Image ?? "" })) },
    status: {}
  }))))
})

const containerLogs = (route: { readonly namespace: string; readonly pod: string; readonly container: string }, params: URLSearchParams) =>
  Effect.gen(function*() {
    const settings = yield* KubeletSettings
    const kube = yield* Kube
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const options = parseLogQuery(params, now)
    if ("_tag" in options) return yield* options
    const pod = yield* findPod(settings.nodeName, { namespace: route.namespace, name: route.pod })
    if (!hasContainer(pod, route.container)) return yield* notFound(`container "${route.container}" not found in pod "${route.pod}"`)
    const run = logRunOf(pod, route.container, options.previous)
    if ("_tag" in run) return yield* run
    const target = targetOf(pod, route.container)
    if ("_tag" in target) return yield* target
    const stillRunning = kube.getPod(route.namespace, route.pod).pipe(
      Effect.map((p) => p.metadata?.uid === pod.metadata?.uid && containerStatusOf(p, route.container)?.state?.running !== undefined),
      // A lookup that fails is not evidence that the container stopped.
      Effect.catchTag("KubeNotFound", () => Effect.succeed(false)),
      Effect.catch(() => Effect.succeed(true))
    )
    const body = yield* containerLogStream({ groupId: target.groupId, container: route.container, lastTime: run.lastTime }, options, {
      stillRunning,
      minInterval: settings.logFollowMinInterval,
      maxInterval: settings.logFollowMaxInterval
    })
    const eci = yield* Eci
    return HttpServerResponse.stream(Stream.provideService(body, Eci, eci), { contentType: "text/plain" })
  })

const statsSummary = Effect.gen(function*() {
  const stats = yield* KubeletStats
  const snapshot = yield* stats.snapshot
  if (snapshot.error !== undefined && snapshot.pods.length === 0) {
    return HttpServerResponse.text(`failed to get stats summary: ${snapshot.error}\n`, { status: 503 })
  }
  return HttpServerResponse.jsonUnsafe(summaryDocument(snapshot))
})

const metricsResource = Effect.gen(function*() {
  const stats = yield* KubeletStats
  const snapshot = yield* stats.snapshot
  return HttpServerResponse.text(resourceMetricsText(snapshot), { contentType: "text/plain; version=0.0.4; charset=utf-8" })
})

const ownMetrics = Effect.map(PrometheusMetrics.format(), (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))

const requestsTotal = Metric.counter("eci_vn_kubelet_requests_total", {
  description: "kubelet API requests by route and HTTP status (exec counts once its session ends)",
  incremental: true
})

/** The whole kubelet API for one request. */
export const kubeletApp = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const url = new URL(request.url, "https://kubelet.invalid")
  const route = matchRoute(request.method, url.pathname)
  const response = yield* dispatch(route, request, url)
  yield* Metric.update(Metric.withAttributes(requestsTotal, { route: route._tag, code: String(response.status) }), 1)
  return response
})

const dispatch = (route: KubeletRoute, request: HttpServerRequest.HttpServerRequest, url: URL) => Effect.gen(function*() {
  const auth = yield* KubeletAuth
  const admitted = yield* auth.authenticate(credentialsOf(request)).pipe(
    Effect.flatMap((user) => auth.authorize(user, request.method, url.pathname)),
    Effect.as(undefined),
    Effect.catch((e: KubeletHttpError) => Effect.succeed(textResponse(e)))
  )
  if (admitted !== undefined) return admitted
  const settings = yield* KubeletSettings
  const text = <R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, KubeletHttpError, R>) =>
    effect.pipe(Effect.catchTag("KubeletHttpError", (e) => Effect.succeed(textResponse(e))))
  switch (route._tag) {
    case "Healthz":
      return HttpServerResponse.text("ok")
    case "Pods":
      return yield* text(pods)
    case "RunningPods":
      return yield* text(runningPods)
    case "StatsSummary":
      return yield* statsSummary
    case "MetricsResource":
      return yield* metricsResource
    case "Metrics":
      return yield* ownMetrics
    case "ContainerLogs":
      return yield* text(containerLogs(route, url.searchParams))
    case "Exec":
      return yield* handleExec(route, url.searchParams)
    case "Attach":
      return statusResponse(unsupportedStreaming("attach", settings.nodeName))
    case "PortForward":
      return statusResponse(unsupportedStreaming("port-forward", settings.nodeName))
    case "MethodNotAllowed":
      return HttpServerResponse.text("Method Not Allowed\n", { status: 405, headers: { allow: route.allowed.join(", ") } })
    case "NotFound":
      return textResponse(notFound("404 page not found"))
  }
})
