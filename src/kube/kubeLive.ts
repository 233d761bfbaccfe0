import {
  AdmissionregistrationV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  type ConfigurationOptions,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1Pod,
  type V1Secret,
  type V1Service,
  Watch
} from "@kubernetes/client-node"
import { Duration, Effect, Layer, Stream } from "effect"
import { type CallTarget, fromClientError } from "./errors.ts"
import { decodeImageCache, IMAGE_CACHE_API, type ImageCacheWatchEvent } from "./imageCache.ts"
import { Kube, KubeApiError, type KubeError, type PatchType, type PodWatchEvent } from "./Kube.ts"
import { defaultKubeRateLimit, makeKubeRateLimiter } from "./rateLimit.ts"
import { watchFrom } from "./liveWatch.ts"
import { LIST_PAGE_SIZE, listInPages, type ListWatchSource, listWatch } from "./watch.ts"

export interface KubeLiveOptions {
  /** A kubeconfig file; without it the in-cluster service-account configuration is used. */
  readonly kubeconfigPath?: string
  /** Client-side rate limit (token bucket); defaults 200 QPS, burst 400. */
  readonly qps?: number
  readonly burst?: number
  /** Per-request timeout (watches excepted); default 30 s. */
  readonly requestTimeout?: Duration.Input
}

/**
 * client-node 2.0.1 builds a new undici Agent for every request (KubeConfig.createDispatcher), so
 * each call opened its own TLS connection: the benchmark measured it as the largest CPU cost and
 * ~800 live connections at 1,000 pods. One Agent per distinct cluster and options is reused instead,
 * with keep-alive, as client-go does. Credentials that are headers (tokens) are unaffected.
 */
const shareConnections = (kc: KubeConfig): KubeConfig => {
  const target = kc as unknown as { createDispatcher: (cluster: { server: string }, agentOptions?: unknown) => unknown }
  const create = target.createDispatcher.bind(kc)
  const agents = new Map<string, unknown>()
  target.createDispatcher = (cluster, agentOptions) => {
    const key = `${cluster.server}|${JSON.stringify(agentOptions ?? null)}`
    if (!agents.has(key)) agents.set(key, create(cluster, agentOptions))
    return agents.get(key)
  }
  return kc
}

const loadKubeConfig = (path: string | undefined) =>
  Effect.try({
    try: () => {
      const kc = new KubeConfig()
      if (path === undefined) kc.loadFromCluster()
      else kc.loadFromFile(path)
      if (kc.getCurrentCluster() === null) throw new Error("no current cluster")
      return shareConnections(kc)
    },
    catch: (e) =>
      new KubeApiError({
        operation: "loadKubeConfig",
        status: 0,
        reason: "InvalidKubeConfig",
        message: `${path === undefined ? "in-cluster config" : `kubeconfig ${path}`}: ${e instanceof Error ? e.message : String(e)}`
      })
  })

const passThrough = <T>(ctx: T): Observable<T> => new Observable(Promise.resolve(ctx))

/** Per-call client options: the abort signal (interruption cancels the HTTP request) and the patch type. */
const callOptions = (signal: AbortSignal, patch?: PatchType): ConfigurationOptions<ObservableMiddleware> => {
  const withSignal: ConfigurationOptions<ObservableMiddleware> = {
    middleware: [{
      pre: (ctx) => {
        ctx.setSignal(signal)
        return passThrough(ctx)
      },
      post: passThrough
    }],
    middlewareMergeStrategy: "append"
  }
  // client-node picks json-patch+json by default; a strategic or merge patch must say so.
  if (patch === undefined) return withSignal
  const contentType = patch === "strategic" ? PatchStrategy.StrategicMergePatch : PatchStrategy.MergePatch
  return setHeaderOptions("Content-Type", contentType, withSignal)
}

/** What a list call returns, as far as the watch needs it. */
interface ListResult<T> {
  readonly items: Array<T>
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string }
}

/**
 * The Kube service over a real API server with @kubernetes/client-node. Every request (watch opens
 * included) passes one client-side token bucket with explicit, generous limits — except Event
 * creations, which their recorder paces with the Events' own budget (src/pods/events.ts).
 */
export const KubeLive = (options: KubeLiveOptions = {}): Layer.Layer<Kube, KubeApiError> =>
  Layer.effect(
    Kube,
    Effect.gen(function*() {
      const kc = yield* loadKubeConfig(options.kubeconfigPath)
      const core = kc.makeApiClient(CoreV1Api)
      const coordination = kc.makeApiClient(CoordinationV1Api)
      const authn = kc.makeApiClient(AuthenticationV1Api)
      const authz = kc.makeApiClient(AuthorizationV1Api)
      const admission = kc.makeApiClient(AdmissionregistrationV1Api)
      const custom = kc.makeApiClient(CustomObjectsApi)
      const imageCaches = { group: IMAGE_CACHE_API.group, version: IMAGE_CACHE_API.version, plural: IMAGE_CACHE_API.plural }
      const imageCacheTarget = (operation: string, name: string): CallTarget => ({ operation, kind: IMAGE_CACHE_API.plural, name })
      const watcher = new Watch(kc)
      const limited = yield* makeKubeRateLimiter({
        qps: options.qps ?? defaultKubeRateLimit.qps,
        burst: options.burst ?? defaultKubeRateLimit.burst
      })
      const timeout = options.requestTimeout ?? Duration.seconds(30)

      /** One request, with its timeout and typed errors, outside any token bucket. */
      const request = <A>(
        target: CallTarget,
        f: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<A>,
        patch?: PatchType
      ): Effect.Effect<A, KubeError> =>
        Effect.tryPromise({
          try: (signal) => f(callOptions(signal, patch)),
          catch: (e) => fromClientError(e, target)
        }).pipe(
          Effect.timeoutOrElse({
            duration: timeout,
            orElse: () =>
              Effect.fail(
                new KubeApiError({
                  operation: target.operation,
                  status: 0,
                  reason: "Timeout",
                  message: `no answer within ${Duration.format(Duration.fromInputUnsafe(timeout))}`
                })
              )
          })
        )
      /** One request through the client's token bucket: every request but Event creations. */
      const call = <A>(
        target: CallTarget,
        f: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<A>,
        patch?: PatchType
      ): Effect.Effect<A, KubeError> => limited(request(target, f, patch))

      /** `list` reads one page (`continueToken` undefined: the first); the pages are read in turn. */
      const source = <T>(
        list: (continueToken: string | undefined) => Effect.Effect<ListResult<T>, KubeError>,
        path: string,
        query: Record<string, string>,
        type: string,
        target: CallTarget
      ): ListWatchSource<T> => ({
        list: listInPages((token) =>
          Effect.map(list(token), (l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion ?? "", continue: l.metadata?._continue }))
        ),
        watch: (resourceVersion) => watchFrom<T>(watcher, { path, query, type, target, resourceVersion }, limited)
      })

      /** The object `name` now (undefined when absent) and again after every change. */
      const watchNamed = <T>(
        kind: "secrets" | "configmaps",
        type: string,
        namespace: string,
        name: string,
        list: (fieldSelector: string) => Effect.Effect<ListResult<T>, KubeError>
      ): Stream.Stream<T | undefined, KubeError> => {
        const fieldSelector = `metadata.name=${name}`
        return listWatch(
          source(() => list(fieldSelector), `/api/v1/namespaces/${namespace}/${kind}`, { fieldSelector }, type, {
            operation: `watch ${kind}`,
            kind,
            name
          })
        ).pipe(Stream.map((e) => e.type === "Snapshot" ? e.items[0] : e.type === "Deleted" ? undefined : e.object))
      }

      return Kube.of({
        watchPods: (nodeName) => {
          const fieldSelector = `spec.nodeName=${nodeName}`
          const target = { operation: "watchPods", kind: "pods", name: nodeName }
          return listWatch(
            source<V1Pod>(
              (token) =>
                call(target, (o) => core.listPodForAllNamespaces({ fieldSelector, limit: LIST_PAGE_SIZE, ...(token === undefined ? {} : { _continue: token }) }, o)),
              "/api/v1/pods",
              { fieldSelector },
              "V1Pod",
              target
            )
          ).pipe(Stream.map((e): PodWatchEvent => e.type === "Snapshot" ? { type: "Snapshot", pods: e.items } : { type: e.type, pod: e.object }))
        },
        listPods: ({ namespace, nodeName }) => {
          const fieldSelector = nodeName === undefined ? undefined : `spec.nodeName=${nodeName}`
          const target = { operation: "listPods", kind: "pods", name: "" }
          return call(target, (o) =>
            namespace === undefined
              ? core.listPodForAllNamespaces(fieldSelector === undefined ? {} : { fieldSelector }, o)
              : core.listNamespacedPod(fieldSelector === undefined ? { namespace } : { namespace, fieldSelector }, o))
            .pipe(Effect.map((l) => l.items))
        },
        getPod: (namespace, name) =>
          call({ operation: "getPod", kind: "pods", name }, (o) => core.readNamespacedPod({ namespace, name }, o)),
        createPod: (pod) =>
          call(
            { operation: "createPod", kind: "pods", name: pod.metadata?.name ?? "" },
            (o) => core.createNamespacedPod({ namespace: pod.metadata?.namespace ?? "default", body: pod }, o)
          ),
        patchPod: (namespace, name, patch, type = "strategic") =>
          call(
            { operation: "patchPod", kind: "pods", name },
            (o) => core.patchNamespacedPod({ namespace, name, body: patch }, o),
            type
          ),
        patchPodStatus: (namespace, name, patch, type = "strategic") =>
          call(
            { operation: "patchPodStatus", kind: "pods", name },
            (o) => core.patchNamespacedPodStatus({ namespace, name, body: patch }, o),
            type
          ),
        deletePod: (namespace, name, options = {}) =>
          call({ operation: "deletePod", kind: "pods", name }, (o) =>
            core.deleteNamespacedPod({
              namespace,
              name,
              body: {
                ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
                ...(options.uid === undefined ? {} : { preconditions: { uid: options.uid } })
              }
            }, o)).pipe(Effect.asVoid),
        evictPod: (namespace, name) =>
          call({ operation: "evictPod", kind: "pods", name }, (o) =>
            core.createNamespacedPodEviction({
              namespace,
              name,
              body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } }
            }, o)).pipe(Effect.asVoid),

        getNode: (name) => call({ operation: "getNode", kind: "nodes", name }, (o) => core.readNode({ name }, o)),
        createNode: (node) =>
          call({ operation: "createNode", kind: "nodes", name: node.metadata?.name ?? "" }, (o) => core.createNode({ body: node }, o)),
        patchNode: (name, patch, type = "strategic") =>
          call({ operation: "patchNode", kind: "nodes", name }, (o) => core.patchNode({ name, body: patch }, o), type),
        patchNodeStatus: (name, patch, type = "strategic") =>
          call({ operation: "patchNodeStatus", kind: "nodes", name }, (o) => core.patchNodeStatus({ name, body: patch }, o), type),
        deleteNode: (name) =>
          call({ operation: "deleteNode", kind: "nodes", name }, (o) => core.deleteNode({ name }, o)).pipe(Effect.asVoid),

        getLease: (namespace, name) =>
          call({ operation: "getLease", kind: "leases", name }, (o) => coordination.readNamespacedLease({ namespace, name }, o)),
        createLease: (lease) =>
          call(
            { operation: "createLease", kind: "leases", name: lease.metadata?.name ?? "" },
            (o) => coordination.createNamespacedLease({ namespace: lease.metadata?.namespace ?? "default", body: lease }, o)
          ),
        updateLease: (lease) => {
          const name = lease.metadata?.name ?? ""
          return call(
            { operation: "updateLease", kind: "leases", name },
            (o) => coordination.replaceNamespacedLease({ namespace: lease.metadata?.namespace ?? "default", name, body: lease }, o)
          )
        },

        // Not through the client's bucket: Events have a budget of their own (--event-qps), spent by
        // their recorder (src/pods/events.ts), as the kubelet's separate event client does.
        createEvent: (event) =>
          request(
            { operation: "createEvent", kind: "events", name: event.metadata?.name ?? "" },
            (o) => core.createNamespacedEvent({ namespace: event.metadata?.namespace ?? "default", body: event }, o)
          ),
        listEvents: (namespace) =>
          call({ operation: "listEvents", kind: "events", name: "" }, (o) => core.listNamespacedEvent({ namespace }, o))
            .pipe(Effect.map((l) => l.items)),

        getNamespace: (name) =>
          call({ operation: "getNamespace", kind: "namespaces", name }, (o) => core.readNamespace({ name }, o)),
        getSecret: (namespace, name) =>
          call({ operation: "getSecret", kind: "secrets", name }, (o) => core.readNamespacedSecret({ namespace, name }, o)),
        createSecret: (secret) =>
          call(
            { operation: "createSecret", kind: "secrets", name: secret.metadata?.name ?? "" },
            (o) => core.createNamespacedSecret({ namespace: secret.metadata?.namespace ?? "default", body: secret }, o)
          ),
        watchSecret: (namespace, name) =>
          watchNamed<V1Secret>("secrets", "V1Secret", namespace, name, (fieldSelector) =>
            call(
              { operation: "watchSecret", kind: "secrets", name },
              (o) => core.listNamespacedSecret({ namespace, fieldSelector }, o)
            )),
        getConfigMap: (namespace, name) =>
          call(
            { operation: "getConfigMap", kind: "configmaps", name },
            (o) => core.readNamespacedConfigMap({ namespace, name }, o)
          ),
        watchConfigMap: (namespace, name) =>
          watchNamed<V1ConfigMap>("configmaps", "V1ConfigMap", namespace, name, (fieldSelector) =>
            call(
              { operation: "watchConfigMap", kind: "configmaps", name },
              (o) => core.listNamespacedConfigMap({ namespace, fieldSelector }, o)
            )),

        listServices: (namespace) =>
          call({ operation: "listServices", kind: "services", name: "" }, (o) => core.listNamespacedService({ namespace }, o))
            .pipe(Effect.map((l) => l.items)),
        getService: (namespace, name) =>
          call({ operation: "getService", kind: "services", name }, (o) => core.readNamespacedService({ namespace, name }, o)),
        watchServices: listWatch(
          source<V1Service>(
            (token) =>
              call(
                { operation: "watchServices", kind: "services", name: "" },
                (o) => core.listServiceForAllNamespaces({ limit: LIST_PAGE_SIZE, ...(token === undefined ? {} : { _continue: token }) }, o)
              ),
            "/api/v1/services",
            {},
            "V1Service",
            { operation: "watchServices", kind: "services", name: "" }
          )
        ),

        createServiceAccountToken: (namespace, serviceAccount, request) =>
          call({ operation: "createServiceAccountToken", kind: "serviceaccounts", name: serviceAccount }, (o) =>
            core.createNamespacedServiceAccountToken({
              namespace,
              name: serviceAccount,
              body: {
                spec: {
                  audiences: [...request.audiences],
                  expirationSeconds: request.expirationSeconds,
                  ...(request.boundPod === undefined ? {} : {
                    boundObjectRef: { apiVersion: "v1", kind: "Pod", name: request.boundPod.name, uid: request.boundPod.uid }
                  })
                }
              }
            }, o)).pipe(
              Effect.flatMap(({ status }) =>
                status?.token === undefined || status.expirationTimestamp === undefined
                  ? Effect.fail(
                    new KubeApiError({
                      operation: "createServiceAccountToken",
                      status: 200,
                      reason: "EmptyStatus",
                      message: "TokenRequest answered without a token"
                    })
                  )
                  : Effect.succeed({ token: status.token, expirationTimestamp: status.expirationTimestamp })
              )
            ),
        reviewToken: (token) =>
          call(
            { operation: "reviewToken", kind: "tokenreviews", name: "" },
            (o) => authn.createTokenReview({ body: { spec: { token } } }, o)
          ).pipe(Effect.map((r) => r.status ?? {})),
        reviewAccess: (spec) =>
          call(
            { operation: "reviewAccess", kind: "subjectaccessreviews", name: "" },
            (o) => authz.createSubjectAccessReview({ body: { spec } }, o)
          ).pipe(Effect.map((r) => r.status ?? { allowed: false })),

        getMutatingWebhookConfiguration: (name) =>
          call(
            { operation: "getMutatingWebhookConfiguration", kind: "mutatingwebhookconfigurations", name },
            (o) => admission.readMutatingWebhookConfiguration({ name }, o)
          ),
        patchMutatingWebhookConfiguration: (name, patch) =>
          call(
            { operation: "patchMutatingWebhookConfiguration", kind: "mutatingwebhookconfigurations", name },
            (o) => admission.patchMutatingWebhookConfiguration({ name, body: patch }, o),
            "strategic"
          ),

        // CustomObjectsApi answers plain JSON (`any`): decodeImageCache gives it the Kube service's shape.
        watchImageCaches: listWatch(
          source<unknown>(
            () => call(imageCacheTarget("watchImageCaches", ""), (o) => custom.listClusterCustomObject(imageCaches, o) as Promise<ListResult<unknown>>),
            `/apis/${IMAGE_CACHE_API.group}/${IMAGE_CACHE_API.version}/${IMAGE_CACHE_API.plural}`,
            {},
            IMAGE_CACHE_API.kind,
            imageCacheTarget("watchImageCaches", "")
          )
        ).pipe(
          Stream.map((e): ImageCacheWatchEvent =>
            e.type === "Snapshot"
              ? { type: "Snapshot", imageCaches: e.items.map(decodeImageCache) }
              : { type: e.type, imageCache: decodeImageCache(e.object) }
          )
        ),
        listImageCaches: call(
          imageCacheTarget("listImageCaches", ""),
          (o) => custom.listClusterCustomObject(imageCaches, o) as Promise<ListResult<unknown>>
        ).pipe(Effect.map((l) => l.items.map(decodeImageCache))),
        getImageCache: (name) =>
          call(imageCacheTarget("getImageCache", name), (o) => custom.getClusterCustomObject({ ...imageCaches, name }, o))
            .pipe(Effect.map(decodeImageCache)),
        createImageCache: (imageCache) =>
          call(
            imageCacheTarget("createImageCache", imageCache.metadata?.name ?? ""),
            (o) =>
              custom.createClusterCustomObject({
                ...imageCaches,
                body: { ...imageCache, apiVersion: IMAGE_CACHE_API.apiVersion, kind: IMAGE_CACHE_API.kind }
              }, o)
          ).pipe(Effect.map(decodeImageCache)),
        patchImageCache: (name, patch) =>
          call(
            imageCacheTarget("patchImageCache", name),
            (o) => custom.patchClusterCustomObject({ ...imageCaches, name, body: patch }, o),
            "merge"
          ).pipe(Effect.map(decodeImageCache)),
        patchImageCacheStatus: (name, patch) =>
          call(
            imageCacheTarget("patchImageCacheStatus", name),
            (o) => custom.patchClusterCustomObjectStatus({ ...imageCaches, name, body: patch }, o),
            "merge"
          ).pipe(Effect.map(decodeImageCache)),
        deleteImageCache: (name) =>
          call(imageCacheTarget("deleteImageCache", name), (o) => custom.deleteClusterCustomObject({ ...imageCaches, name }, o))
            .pipe(Effect.asVoid)
      })
    })
  )
