/**
 * The steering webhook's HTTPS server: `POST /mutate` (AdmissionReview v1) and `GET /healthz`.
 * Start-up: the serving certificate from (or into) the Secret, then the CA bundle and the profile
 * selector entries written into the MutatingWebhookConfiguration — again whenever the profile
 * changes and every minute (someone may re-apply the manifest).
 */
import * as https from "node:https"
import { isIP } from "node:net"
import { NodeHttpServer } from "@effect/platform-node"
import { Cache, Duration, Effect, Exit, Layer, Schedule, Semaphore, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { AppConfigService } from "../config/Config.ts"
import { Kube } from "../kube/Kube.ts"
import { type AdmissionDeps, reviewAdmission } from "./admission.ts"
import type { Labels } from "./labelSelector.ts"
import type { Steering } from "./mutation.ts"
import { ProfileWatcher } from "./profileWatcher.ts"
import { reconcileWebhookConfiguration, WEBHOOK_CONFIGURATION } from "./webhookConfiguration.ts"
import { ensureWebhookTls, type WebhookService } from "./webhookTls.ts"

export interface WebhookServerOptions {
  readonly port: number
  /** Listen address; default all interfaces. */
  readonly host?: string
  readonly service: WebhookService
  /** More IP SANs for a generated certificate (the pod IP). */
  readonly ipAddresses?: ReadonlyArray<string>
  readonly steering: Steering
  /** How long namespace labels are trusted; default 30 s. Namespaces change rarely. */
  readonly namespaceCacheTtl?: Duration.Input
  /** How often the webhook configuration is re-checked; default 1 minute. */
  readonly resyncInterval?: Duration.Input
}

/** The routes, given the admission dependencies (so tests and other servers can mount them). */
export const webhookRoutes = (deps: AdmissionDeps) =>
  HttpRouter.use(Effect.fn(function*(router) {
    yield* router.add("GET", "/healthz", HttpServerResponse.text("ok"))
    yield* router.add(
      "POST",
      "/mutate",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* request.json
        const review = yield* reviewAdmission(body, deps)
        return HttpServerResponse.jsonUnsafe(review)
      }).pipe(
        // Only a body that is no AdmissionReview gets here: there is no uid to answer with.
        Effect.catch((e) =>
          Effect.as(
            Effect.logWarning("rejected a request that is not an AdmissionReview").pipe(Effect.annotateLogs({ error: e.message })),
            HttpServerResponse.text(e.message, { status: 400 })
          )
        )
      )
    )
  }))

/** Namespace labels, cached; a failed lookup is not cached. */
export const makeNamespaceLabels = (ttl: Duration.Input) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const cache = yield* Cache.makeWith(
      (name: string) => Effect.map(kube.getNamespace(name), (ns): Labels => ns.metadata?.labels ?? {}),
      { capacity: 4096, timeToLive: (exit) => (Exit.isSuccess(exit) ? ttl : Duration.zero) }
    )
    return (name: string) => Cache.get(cache, name)
  })

/**
 * Keeps the webhook configuration in step: now, on every profile change and every `interval`.
 * Failures are logged and retried on the next trigger; they never stop the server.
 */
const keepWebhookConfiguration = (caPem: string, interval: Duration.Input) =>
  Effect.gen(function*() {
    const profiles = yield* ProfileWatcher
    const lock = yield* Semaphore.make(1)
    const once = lock.withPermits(1)(
      Effect.flatMap(profiles.current, (profile) => reconcileWebhookConfiguration(caPem, profile)).pipe(
        Effect.catchTag("KubeNotFound", () =>
          Effect.logWarning(`MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION} not found; pods are not steered until it is applied (k8s/webhook.yaml)`)),
        Effect.catch((e) =>
          Effect.logWarning(`could not update MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION}`).pipe(Effect.annotateLogs({ error: e.message }))
        ),
        Effect.asVoid
      )
    )
    // `changes` starts with the current profile, so this also runs the first pass.
    yield* profiles.changes.pipe(Stream.runForEach(() => once), Effect.forkScoped)
    yield* once.pipe(Effect.repeat(Schedule.spaced(interval)), Effect.delay(interval), Effect.forkScoped)
  })

/**
 * The webhook server. Requires Kube and ProfileWatcher. Exposes the HttpServer (its address) and
 * fails to build only when no certificate can be had.
 */
export const webhookServerLayer = (options: WebhookServerOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    const tls = yield* ensureWebhookTls(options.service, options.ipAddresses ?? [])
    const profiles = yield* ProfileWatcher
    const namespaceLabels = yield* makeNamespaceLabels(options.namespaceCacheTtl ?? Duration.seconds(30))
    yield* keepWebhookConfiguration(tls.caPem, options.resyncInterval ?? Duration.minutes(1))
    const routes = webhookRoutes({ steering: options.steering, profile: profiles.current, namespaceLabels })
    const listen = options.host === undefined ? { port: options.port } : { port: options.port, host: options.host }
    return HttpRouter.serve(routes, { disableLogger: true }).pipe(
      Layer.provideMerge(NodeHttpServer.layerServer(
        () => https.createServer({ key: tls.keyPem, cert: tls.certPem }),
        { ...listen, gracefulShutdownTimeout: Duration.seconds(5) }
      )),
      Layer.provide(NodeHttpServer.layerHttpServices)
    )
  }))

/** The product wiring: settings from AppConfig. Requires Kube, ProfileWatcher and AppConfigService. */
export const WebhookServerLive = (port: number) =>
  Layer.unwrap(AppConfigService.useSync((config) =>
    webhookServerLayer({
      port,
      service: { namespace: config.podNamespace, name: "eci-virtual-node", clusterDomain: config.clusterDomain },
      // For a webhook configured by URL rather than Service (the sandbox: kube-apiserver on the
      // host calls https://127.0.0.1:<port>/mutate). The pod IP of the replica that generated the
      // certificate is included too, but the Service names are what a cluster uses.
      ipAddresses: [...new Set(["127.0.0.1", ...(isIP(config.podIp) === 0 ? [] : [config.podIp])])],
      steering: {
        nodeSelector: { type: "virtual-kubelet" },
        toleration: { key: config.taint.key, value: config.taint.value, effect: config.taint.effect }
      }
    })
  ))
