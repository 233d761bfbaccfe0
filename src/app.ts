import { Duration, Effect, Layer, SubscriptionRef } from "effect"
import type { AppConfig } from "./config/Config.ts"
import { AppConfigService } from "./config/Config.ts"
import { credentialsLayer } from "./credentials/layer.ts"
import { EciLive } from "./eci/eciLive.ts"
import { scaledQuotas } from "./eci/policy.ts"
import { KubeLive } from "./kube/kubeLive.ts"
import { runHealthCheck } from "./node/health.ts"
import { runWithLeaderElection } from "./node/leaderElection.ts"
import { runNodeController } from "./node/nodeController.ts"
import { healthy, type NodeHealth, type NodeIdentity } from "./node/nodeObject.ts"
import { loggingLayer } from "./observability/logging.ts"
import { MetricsServerLive } from "./observability/metricsServer.ts"
import { ProcessMetricsLive } from "./observability/processMetrics.ts"
import { EventBudget } from "./pods/events.ts"
import { runPodController } from "./pods/podController.ts"
import type { NodeContext } from "./translate/resolved.ts"
import { runImageCacheController } from "./imagecache/controller.ts"
import { KubeletServerLive } from "./kubelet/server.ts"
import { ProfileWatcher } from "./webhook/profileWatcher.ts"
import { WebhookServerLive } from "./webhook/server.ts"

export const nodeIdentity = (config: AppConfig): NodeIdentity => ({
  nodeName: config.nodeName,
  region: config.region,
  zone: config.zone,
  taint: config.taint,
  capacity: config.nodeCapacity,
  podIp: config.podIp,
  kubeletPort: config.kubeletPort
})

export const nodeContext = (config: AppConfig): NodeContext => ({
  clusterId: config.clusterId,
  nodeName: config.nodeName,
  regionId: config.region,
  vSwitchIds: config.vSwitchIds,
  ...(config.securityGroupId === undefined ? {} : { securityGroupId: config.securityGroupId }),
  ...(config.zone === undefined ? {} : { zoneId: config.zone }),
  ...(config.resourceGroupId === undefined ? {} : { resourceGroupId: config.resourceGroupId }),
  clusterDns: config.clusterDns,
  clusterDomain: config.clusterDomain
})

/**
 * What only the leader runs: the node (registration, heartbeats, honest health), the pods and the
 * ImageCaches. A standby keeps serving the webhook and the kubelet API and waits. (ImageCaches are
 * cluster-scoped: with several virtual nodes, each node's leader runs a copy; the copies agree —
 * status writes are guarded by resourceVersion — at the cost of some duplicate calls.)
 */
const leaderWork = (config: AppConfig) =>
  Effect.gen(function*() {
    const profiles = yield* ProfileWatcher
    const health = yield* SubscriptionRef.make<NodeHealth>(healthy)
    yield* Effect.all([
      runHealthCheck(health),
      runNodeController(nodeIdentity(config), health),
      runPodController({ node: nodeContext(config), profileDefaults: profiles.defaults }),
      runImageCacheController({ node: nodeContext(config), profileDefaults: profiles.defaults })
    ], { concurrency: "unbounded", discard: true })
  }).pipe(
    Effect.scoped,
    // Each controller's Event recorder writes within this budget, apart from the client's.
    Effect.provideService(EventBudget, { qps: config.eventQps, burst: config.eventBurst })
  )

const controllers = (config: AppConfig) =>
  Layer.effectDiscard(Effect.forkScoped(
    config.leaderElect
      ? runWithLeaderElection(
        { namespace: config.podNamespace, name: `eci-virtual-node-${config.nodeName}`, identity: config.podName },
        leaderWork(config)
      )
      : leaderWork(config)
  ))

/** Every long-running part of the process, as layers over the live Kubernetes and ECI clients. */
export const appLayer = (config: AppConfig) => {
  const kube = KubeLive({
    ...(config.kubeconfig === undefined ? {} : { kubeconfigPath: config.kubeconfig }),
    qps: config.kubeApiQps,
    burst: config.kubeApiBurst
  })
  const credentials = credentialsLayer(config)
  const eci = EciLive({
    regionId: config.region,
    endpoint: config.eciEndpoint,
    protocol: config.eciProtocol === "http" ? "HTTP" : "HTTPS",
    connectTimeout: Duration.seconds(config.eciTimeoutSeconds),
    readTimeout: Duration.seconds(config.eciTimeoutSeconds),
    attemptTimeout: Duration.seconds(config.eciTimeoutSeconds + 5),
    ...(config.eciQuotaMultiplier === 1 ? {} : { quotas: scaledQuotas(config.eciQuotaMultiplier) })
  })
  const services = Layer.mergeAll(
    eci.pipe(Layer.provideMerge(credentials)),
    ProfileWatcher.layer
  ).pipe(Layer.provideMerge(kube), Layer.provideMerge(AppConfigService.layer(config)))
  // Servers run on every replica (only the leader's address is on the Node, but a standby answers
  // the webhook and takes over the kubelet API the moment it leads); controllers on the leader only.
  return Layer.mergeAll(
    MetricsServerLive({ port: config.metricsPort }),
    ProcessMetricsLive(),
    WebhookServerLive(config.webhookPort),
    KubeletServerLive,
    controllers(config)
  ).pipe(Layer.provide(services))
}

/** `eci-virtual-node run`: logs first, then everything else until SIGTERM/SIGINT. */
export const runApp = (config: AppConfig) =>
  Layer.launch(appLayer(config)).pipe(
    Effect.provide(loggingLayer({ format: config.logFormat, level: config.logLevel, write: (line) => process.stdout.write(`${line}\n`) }))
  )
