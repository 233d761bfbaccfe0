import type { V1Service } from "@kubernetes/client-node"
import { Deferred, Duration, Effect, type Scope, Stream } from "effect"
import { Kube, KubeApiError, type KubeError } from "./Kube.ts"
import { type ListWatchEvent, watchRetrySchedule } from "./watch.ts"

/**
 * Every Service of the cluster in memory, kept by one list+watch, as the kubelet's service lister:
 * a pod's service-link variables and the API server's own Service are read here instead of with a
 * LIST and a GET per pod (one of the ~10 API requests a pod cost).
 */
export interface ServiceCache {
  /** The Services of `namespace`, by name. */
  readonly list: (namespace: string) => Effect.Effect<ReadonlyArray<V1Service>, KubeError>
  /** One Service; undefined when there is none. */
  readonly get: (namespace: string, name: string) => Effect.Effect<V1Service | undefined, KubeError>
}

export interface ServiceCacheOptions {
  /**
   * Reads wait for the first list (an empty cache would silently build pods without their service
   * variables), at most this long (default 10 s); then they fail, as the kubelet's "services have
   * not yet been read at least once" does, and the caller retries later.
   */
  readonly syncTimeout?: Duration.Input
}

const notSynced = (timeout: Duration.Input) =>
  new KubeApiError({
    operation: "listServices",
    status: 0,
    reason: "ServicesNotSynced",
    message: `Services have not been listed within ${Duration.format(Duration.fromInputUnsafe(timeout))}; cannot build service environment variables yet`
  })

/** The cache, kept up to date by a fiber in the caller's Scope (the pod controller's: leader only). */
export const makeServiceCache = (options: ServiceCacheOptions = {}): Effect.Effect<ServiceCache, never, Kube | Scope.Scope> =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const timeout = options.syncTimeout ?? Duration.seconds(10)
    // namespace → name → Service
    let services = new Map<string, Map<string, V1Service>>()
    const listed = yield* Deferred.make<void>()

    const namespaceOf = (service: V1Service) => service.metadata?.namespace ?? "default"
    const put = (service: V1Service) => {
      const ns = namespaceOf(service)
      const byName = services.get(ns) ?? new Map<string, V1Service>()
      services.set(ns, byName.set(service.metadata?.name ?? "", service))
    }
    const apply = (event: ListWatchEvent<V1Service>) =>
      Effect.suspend(() => {
        if (event.type === "Snapshot") {
          // A (re)list is the whole truth: Services deleted while the watch was down go with it.
          services = new Map()
          for (const service of event.items) put(service)
          return Deferred.succeed(listed, undefined)
        }
        if (event.type === "Deleted") services.get(namespaceOf(event.object))?.delete(event.object.metadata?.name ?? "")
        else put(event.object)
        return Effect.void
      })

    yield* kube.watchServices.pipe(
      Stream.runForEach(apply),
      // listWatch already resumes on its own; this covers a stream that still fails.
      Effect.retry(watchRetrySchedule),
      Effect.forkScoped
    )

    const synced = Deferred.await(listed).pipe(
      Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(notSynced(timeout)) })
    )
    const byName = (a: V1Service, b: V1Service) => ((a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : 1)
    return {
      list: (namespace) => Effect.map(synced, () => [...(services.get(namespace)?.values() ?? [])].sort(byName)),
      get: (namespace, name) => Effect.map(synced, () => services.get(namespace)?.get(name))
    }
  })
