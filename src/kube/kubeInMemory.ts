import type {
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Pod,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1SubjectAccessReviewStatus,
  V1TokenReviewStatus
} from "@kubernetes/client-node"
import { Context, Effect, Layer, type Schedule, Stream } from "effect"
import { fromWire, toWire, type Wire } from "./codec.ts"
import { notFound, staleConflict } from "./errors.ts"
import type { ImageCache, ImageCacheWatchEvent } from "./imageCache.ts"
import { addNotReadyTaint, defaultAllocatable, foldStringData, serviceDefaults } from "./inMemory/admission.ts"
import type { AccessReviewer, TokenReviewer } from "./inMemory/auth.ts"
import { imageCacheCreate } from "./inMemory/imageCaches.ts"
import { keepSystemMetadata, podCreateDefaults } from "./inMemory/pods.ts"
import { type KubeFaults, makeServer } from "./inMemory/server.ts"
import { invalid, keyOf, meta, normalizeWire, type Resource, resourceInfo, tx } from "./inMemory/store.ts"
import { Kube, KubeApiError, KubeConflict, type KubeError, type PodWatchEvent } from "./Kube.ts"
import { listWatch, watchRetrySchedule } from "./watch.ts"

export type { KubeFaults } from "./inMemory/server.ts"

export interface KubeInMemoryOptions {
  /** Changes kept for watch resumption (default 1000); resuming from before them gets 410 Gone. */
  readonly historySize?: number
  /** The API server's audiences: a TokenRequest without audiences gets these, TokenReview checks them. */
  readonly apiAudiences?: ReadonlyArray<string>
  /** Backoff for failed watches (default: the live layer's). */
  readonly watchRetry?: Schedule.Schedule<unknown, KubeError>
  readonly faults?: Partial<KubeFaults>
}

/**
 * The test's side of the in-memory API server: fixtures (what an administrator or a controller would
 * create), stand-ins for the scheduler, and fault injection.
 */
export class KubeInMemoryAdmin extends Context.Service<KubeInMemoryAdmin, {
  /** Creates the namespace (and its `default` ServiceAccount, as the controller-manager would) if absent. */
  readonly putNamespace: (name: string, labels?: Record<string, string>) => Effect.Effect<V1Namespace>
  /** Deletes the namespace and everything in it at once (a real one goes through Terminating). */
  readonly deleteNamespace: (name: string) => Effect.Effect<void, KubeError>
  /** Create or replace; `stringData` is folded into `data` as the API server does. */
  readonly putSecret: (secret: V1Secret) => Effect.Effect<V1Secret, KubeError>
  readonly deleteSecret: (namespace: string, name: string) => Effect.Effect<void, KubeError>
  readonly putConfigMap: (configMap: V1ConfigMap) => Effect.Effect<V1ConfigMap, KubeError>
  readonly deleteConfigMap: (namespace: string, name: string) => Effect.Effect<void, KubeError>
  /** Create or replace; a cluster IP is allocated when absent. */
  readonly putService: (service: V1Service) => Effect.Effect<V1Service, KubeError>
  readonly deleteService: (namespace: string, name: string) => Effect.Effect<void, KubeError>
  readonly putServiceAccount: (namespace: string, name: string) => Effect.Effect<V1ServiceAccount, KubeError>
  readonly deleteServiceAccount: (namespace: string, name: string) => Effect.Effect<void, KubeError>
  readonly putMutatingWebhookConfiguration: (
    configuration: V1MutatingWebhookConfiguration
  ) => Effect.Effect<V1MutatingWebhookConfiguration, KubeError>
  /** What the scheduler does: sets spec.nodeName of an unscheduled pod (pods/binding). */
  readonly bindPod: (namespace: string, name: string, nodeName: string) => Effect.Effect<V1Pod, KubeError>
  readonly setFaults: (faults: Partial<KubeFaults>) => Effect.Effect<void>
  /** Ends every open watch now, as a dropped connection would. */
  readonly dropWatches: Effect.Effect<void>
  /** Sends every open watch a BOOKMARK at the current resourceVersion. */
  readonly bookmark: Effect.Effect<void>
  /** Forgets the change history: a watch resuming from any earlier resourceVersion gets 410 Gone. */
  readonly compact: Effect.Effect<void>
  readonly setTokenReviewer: (reviewer: TokenReviewer | undefined) => Effect.Effect<void>
  readonly setAccessReviewer: (reviewer: AccessReviewer | undefined) => Effect.Effect<void>
  readonly resourceVersion: Effect.Effect<string>
}>()("eci-virtual-node/KubeInMemoryAdmin") {}

const defaultNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]

/**
 * A deterministic in-memory Kubernetes API server behind the Kube service, for simulation and fast
 * tests. It passes the same contract suite as `KubeLive` (test/kube/contract.ts).
 */
export const KubeInMemory = (options: KubeInMemoryOptions = {}): Layer.Layer<Kube | KubeInMemoryAdmin> =>
  Layer.effectContext(Effect.gen(function*() {
    const retry = options.watchRetry ?? watchRetrySchedule
    const server = makeServer({
      historySize: options.historySize ?? 1000,
      apiAudiences: options.apiAudiences ?? ["https://kubernetes.default.svc.cluster.local"],
      watchRetry: retry,
      faults: { watchDropRate: 0, conflictRate: 0, ...options.faults }
    })
    const {
      auth,
      create,
      decode,
      deleteCustom,
      deletePod,
      get,
      now,
      patch,
      put,
      read,
      remove,
      serviceAccountUid,
      source,
      store,
      watchNamed,
      write
    } = server

    let serviceIPs = 1
    const withServiceDefaults = serviceDefaults(() => {
      serviceIPs += 1
      return `10.96.${Math.floor(serviceIPs / 256)}.${serviceIPs % 256}`
    })

    const kube = Kube.of({
      watchPods: (nodeName) =>
        listWatch(source<V1Pod>("pods", (o) => (o["spec"] as { nodeName?: string } | undefined)?.nodeName === nodeName), retry)
          .pipe(Stream.map((e): PodWatchEvent => e.type === "Snapshot" ? { type: "Snapshot", pods: e.items } : { type: e.type, pod: e.object })),
      listPods: ({ namespace, nodeName }) =>
        read(tx(() =>
          store.list("pods", (o) =>
            (namespace === undefined || meta(o)["namespace"] === namespace) &&
            (nodeName === undefined || (o["spec"] as { nodeName?: string } | undefined)?.nodeName === nodeName)
          ).map((o) => decode<V1Pod>("pods", o))
        )),
      getPod: (namespace, name) => get("pods", namespace, name),
      createPod: (pod) => create("pods", pod, "createPod", podCreateDefaults),
      patchPod: (namespace, name, body, type = "strategic") => patch("pods", namespace, name, body, type, "object", "patchPod"),
      patchPodStatus: (namespace, name, body, type = "strategic") =>
        patch("pods", namespace, name, body, type, "status", "patchPodStatus"),
      deletePod: (namespace, name, opts = {}) => deletePod(namespace, name, opts),
      // No PodDisruptionBudgets here: an eviction is a delete with the pod's own grace period.
      evictPod: (namespace, name) => deletePod(namespace, name, {}),

      getNode: (name) => get("nodes", undefined, name),
      createNode: (node) => create("nodes", node, "createNode", (o) => defaultAllocatable(addNotReadyTaint(o))),
      patchNode: (name, body, type = "strategic") => patch("nodes", undefined, name, body, type, "object", "patchNode"),
      patchNodeStatus: (name, body, type = "strategic") => patch("nodes", undefined, name, body, type, "status", "patchNodeStatus"),
      deleteNode: (name) => write("nodes", name, remove("nodes", undefined, name)),

      getLease: (namespace, name) => get("leases", namespace, name),
      createLease: (lease) => create("leases", lease, "createLease"),
      updateLease: (lease) => {
        const namespace = lease.metadata?.namespace ?? "default"
        const name = lease.metadata?.name ?? ""
        return write(
          "leases",
          name,
          tx(() => {
            const key = keyOf(namespace, name)
            const current = store.getOrFail("leases", key, name)
            const wire = toWire("V1Lease", lease)
            const rv = meta(wire)["resourceVersion"]
            // Leases do not allow unconditional updates: the resourceVersion is the lock.
            if (rv === undefined) {
              throw invalid("updateLease", `Lease.coordination.k8s.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`)
            }
            if (rv !== meta(current)["resourceVersion"]) throw staleConflict("leases", name)
            const next = normalizeWire(keepSystemMetadata(current, { ...current, ...wire }), "updateLease") as Wire
            return decode("leases", store.update("leases", key, next))
          })
        )
      },

      createEvent: (event) =>
        create("events", event, "createEvent", (o) => {
          const ns = meta(o)["namespace"]
          const involved = (o["involvedObject"] ?? {}) as { namespace?: string }
          if (involved.namespace !== undefined && involved.namespace !== ns) {
            throw invalid("createEvent", `Event "${String(meta(o)["name"])}" is invalid: involvedObject.namespace: Invalid value: "${involved.namespace}": does not match event.namespace`)
          }
          return o
        }),
      listEvents: (namespace) =>
        read(tx(() => store.list("events", (o) => meta(o)["namespace"] === namespace).map((o) => decode("events", o)))),

      getNamespace: (name) => get("namespaces", undefined, name),
      getSecret: (namespace, name) => get("secrets", namespace, name),
      createSecret: (secret) => create("secrets", secret, "createSecret", foldStringData),
      watchSecret: (namespace, name) => watchNamed<V1Secret>("secrets", namespace, name),
      getConfigMap: (namespace, name) => get("configmaps", namespace, name),
      watchConfigMap: (namespace, name) => watchNamed<V1ConfigMap>("configmaps", namespace, name),
      listServices: (namespace) =>
        read(tx(() => store.list("services", (o) => meta(o)["namespace"] === namespace).map((o) => decode<V1Service>("services", o)))),
      getService: (namespace, name) => get("services", namespace, name),
      watchServices: listWatch(source<V1Service>("services", () => true), retry),

      createServiceAccountToken: (namespace, serviceAccount, request) =>
        Effect.gen(function*() {
          const millis = yield* now
          return yield* write(
            "serviceaccounts",
            serviceAccount,
            tx(() => {
              const uid = serviceAccountUid(namespace, serviceAccount)
              if (uid === undefined) throw notFound("serviceaccounts", serviceAccount)
              if (request.boundPod !== undefined) {
                // registry/core/serviceaccount/storage/token.go: same account, then same UID.
                const pod = store.getOrFail("pods", keyOf(namespace, request.boundPod.name), request.boundPod.name)
                if ((pod["spec"] as { serviceAccountName?: string } | undefined)?.serviceAccountName !== serviceAccount) {
                  throw new KubeApiError({
                    operation: "createServiceAccountToken",
                    status: 400,
                    reason: "BadRequest",
                    message: `cannot bind token for serviceaccount "${serviceAccount}" to pod running with different serviceaccount name.`
                  })
                }
                if (meta(pod)["uid"] !== request.boundPod.uid) {
                  throw new KubeConflict({
                    kind: "Pod",
                    name: request.boundPod.name,
                    reason: "Conflict",
                    message: `Operation cannot be fulfilled on Pod "${request.boundPod.name}": the UID in the bound object reference (${request.boundPod.uid}) does not match the UID in record. The object might have been deleted and then recreated`
                  })
                }
              }
              return auth.issue({
                namespace,
                serviceAccount,
                serviceAccountUid: uid,
                audiences: request.audiences,
                expirationSeconds: request.expirationSeconds,
                boundPod: request.boundPod,
                nowMillis: millis
              })
            })
          )
        }),
      reviewToken: (token) =>
        Effect.gen(function*() {
          const millis = yield* now
          return yield* read(tx(() =>
            fromWire<V1TokenReviewStatus>("V1TokenReviewStatus", toWire("V1TokenReviewStatus", auth.review(token, millis, serviceAccountUid)))
          ))
        }),
      reviewAccess: (spec) =>
        read(tx(() =>
          fromWire<V1SubjectAccessReviewStatus>(
            "V1SubjectAccessReviewStatus",
            toWire("V1SubjectAccessReviewStatus", auth.reviewAccess(spec))
          )
        )),

      getMutatingWebhookConfiguration: (name) => get("mutatingwebhookconfigurations", undefined, name),
      patchMutatingWebhookConfiguration: (name, body) =>
        patch("mutatingwebhookconfigurations", undefined, name, body, "strategic", "object", "patchMutatingWebhookConfiguration"),

      watchImageCaches: listWatch(source<ImageCache>("imagecaches", () => true), retry).pipe(
        Stream.map((e): ImageCacheWatchEvent => e.type === "Snapshot" ? { type: "Snapshot", imageCaches: e.items } : { type: e.type, imageCache: e.object })
      ),
      listImageCaches: read(tx(() => store.list("imagecaches").map((o) => decode<ImageCache>("imagecaches", o)))),
      getImageCache: (name) => get("imagecaches", undefined, name),
      createImageCache: (imageCache) => create("imagecaches", imageCache, "createImageCache", imageCacheCreate),
      patchImageCache: (name, body) => patch("imagecaches", undefined, name, body, "merge", "object", "patchImageCache"),
      patchImageCacheStatus: (name, body) => patch("imagecaches", undefined, name, body, "merge", "status", "patchImageCacheStatus"),
      deleteImageCache: (name) => deleteCustom("imagecaches", name)
    })

    const admin = KubeInMemoryAdmin.of({
      putNamespace: (name, labels) =>
        Effect.gen(function*() {
          const existing = store.get("namespaces", name)
          if (existing !== undefined) return decode<V1Namespace>("namespaces", existing)
          const ns = yield* create<V1Namespace>(
            "namespaces",
            { metadata: { name, ...(labels === undefined ? {} : { labels }) } },
            "putNamespace",
            (o) => ({ ...o, status: { phase: "Active" } }),
            "admin"
          ).pipe(Effect.orDie)
          yield* create("serviceaccounts", { metadata: { name: "default", namespace: name } }, "putNamespace", undefined, "admin")
            .pipe(Effect.orDie)
          return ns
        }),
      deleteNamespace: (name) =>
        tx(() => {
          store.getOrFail("namespaces", name, name)
          for (const resource of Object.keys(resourceInfo) as Array<Resource>) {
            for (const o of store.list(resource, (x) => meta(x)["namespace"] === name)) {
              store.remove(resource, keyOf(name, String(meta(o)["name"])))
            }
          }
          store.remove("namespaces", name)
        }),
      putSecret: (secret) =>
        put<V1Secret>("secrets", secret, foldStringData),
      deleteSecret: (namespace, name) => remove("secrets", namespace, name),
      putConfigMap: (configMap) => put<V1ConfigMap>("configmaps", configMap),
      deleteConfigMap: (namespace, name) => remove("configmaps", namespace, name),
      putService: (service) => put<V1Service>("services", service, withServiceDefaults),
      deleteService: (namespace, name) => remove("services", namespace, name),
      putServiceAccount: (namespace, name) =>
        put<V1ServiceAccount>("serviceaccounts", { metadata: { name, namespace } }),
      deleteServiceAccount: (namespace, name) => remove("serviceaccounts", namespace, name),
      putMutatingWebhookConfiguration: (configuration) =>
        put<V1MutatingWebhookConfiguration>("mutatingwebhookconfigurations", configuration),
      bindPod: (namespace, name, nodeName) =>
        tx(() => {
          const key = keyOf(namespace, name)
          const pod = store.getOrFail("pods", key, name)
          const spec = (pod["spec"] ?? {}) as Record<string, unknown>
          if (spec["nodeName"]) {
            throw staleConflict("pods", name) // real: 409 "pod ... is already assigned to node ..."
          }
          return decode<V1Pod>("pods", store.update("pods", key, { ...pod, spec: { ...spec, nodeName } }))
        }),
      setFaults: (next) => Effect.sync(() => server.setFaults(next)),
      dropWatches: Effect.sync(() => store.dropWatches()),
      bookmark: Effect.sync(() => store.bookmark()),
      compact: Effect.sync(() => store.compact()),
      setTokenReviewer: (reviewer) => Effect.sync(() => auth.setTokenReviewer(reviewer)),
      setAccessReviewer: (reviewer) => Effect.sync(() => auth.setAccessReviewer(reviewer)),
      resourceVersion: Effect.sync(() => String(store.resourceVersion()))
    })

    for (const name of defaultNamespaces) yield* admin.putNamespace(name)
    // The API server's own Service, which every cluster has.
    yield* admin.putService({
      metadata: { namespace: "default", name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }] }
    }).pipe(Effect.orDie)
    return Context.make(Kube, kube).pipe(Context.add(KubeInMemoryAdmin, admin))
  }))
