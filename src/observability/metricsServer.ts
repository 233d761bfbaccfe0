import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"

/**
 * The operator's port (plain HTTP, no auth: keep it inside the cluster network): Prometheus
 * `/metrics`, and `/healthz` (the process is alive) and `/readyz` (its servers are up) for probes.
 * Served by every replica, leader or standby.
 */
export const operatorRoutes = HttpRouter.use(Effect.fn(function*(router) {
  yield* router.add("GET", "/healthz", HttpServerResponse.text("ok"))
  yield* router.add("GET", "/readyz", HttpServerResponse.text("ok"))
})).pipe(Layer.merge(PrometheusMetrics.layerHttp({ path: "/metrics" })))

export const MetricsServerLive = (options: { readonly port: number; readonly host?: string }) =>
  HttpRouter.serve(operatorRoutes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layerServer(createServer, {
      port: options.port,
      ...(options.host === undefined ? {} : { host: options.host }),
      gracefulShutdownTimeout: Duration.seconds(2)
    })),
    Layer.provide(NodeHttpServer.layerHttpServices)
  )

export const metricsText = PrometheusMetrics.format()
