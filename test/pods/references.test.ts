/**
 * Reference resolution reads Services from the service cache: the API server's own Service and, with
 * service links, the pod's namespace's — without a Service request per pod.
 */
import { assert, describe, it } from "@effect/vitest"
import type { V1Pod, V1Service } from "@kubernetes/client-node"
import { Effect } from "effect"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { makeServiceCache } from "../../src/kube/serviceCache.ts"
import { resolveReferences } from "../../src/pods/references.ts"
import type { NodeContext } from "../../src/translate/resolved.ts"
import { eventually } from "../webhook/helpers.ts"

const node: NodeContext = {
  clusterId: "c-test",
  nodeName: "vk-test",
  regionId: "cn-hangzhou",
  vSwitchIds: ["vsw-a"],
  clusterDns: ["10.96.0.10"],
  clusterDomain: "cluster.local"
}

const pod = (namespace: string, enableServiceLinks?: boolean): V1Pod => ({
  metadata: { namespace, name: "web", uid: "uid-web" },
  spec: {
    nodeName: node.nodeName,
    ...(enableServiceLinks === undefined ? {} : { enableServiceLinks }),
    containers: [{ name: "main", image: "nginx:1.27" }]
  }
})

const serviceNames = (services: ReadonlyArray<V1Service>) => services.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`).sort()

/** The in-memory API server, refusing per-pod Service requests: every Service must come from the cache. */
const noServiceRequests = Effect.provideServiceEffect(
  Kube,
  Effect.map(Kube, (kube) =>
    Kube.of({
      ...kube,
      listServices: () => Effect.die(new Error("listServices: a Service request per pod")),
      getService: () => Effect.die(new Error("getService: a Service request per pod"))
    }))
)

const resolvedServices = (p: V1Pod, cache: Effect.Success<ReturnType<typeof makeServiceCache>>) =>
  resolveReferences(p, node, "token", cache).pipe(Effect.map(({ resolved }) => serviceNames(resolved.services)), noServiceRequests)

describe("resolveReferences: Services from the cache", () => {
  it.live("the pod's namespace's Services (service links) and the API server's own, without a request per pod", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putNamespace("app")
      yield* admin.putNamespace("other")
      yield* admin.putService({ metadata: { namespace: "app", name: "db" }, spec: { ports: [{ port: 5432 }] } })
      yield* admin.putService({ metadata: { namespace: "other", name: "elsewhere" }, spec: { ports: [{ port: 80 }] } })
      const cache = yield* makeServiceCache()
      assert.deepStrictEqual(yield* resolvedServices(pod("app"), cache), ["app/db", "default/kubernetes"])
      assert.deepStrictEqual(yield* resolvedServices(pod("app", false), cache), ["default/kubernetes"])
      // In `default` the namespace's Services already hold the API server's.
      assert.deepStrictEqual(yield* resolvedServices(pod("default"), cache), ["default/kubernetes"])
    }).pipe(Effect.provide(KubeInMemory())))

  it.live("a Service created after the cache listed is there for the next pod", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      yield* admin.putNamespace("app")
      const cache = yield* makeServiceCache()
      assert.deepStrictEqual(yield* resolvedServices(pod("app"), cache), ["default/kubernetes"])
      yield* admin.putService({ metadata: { namespace: "app", name: "cache" }, spec: { ports: [{ port: 6379 }] } })
      yield* eventually(resolvedServices(pod("app"), cache), (names) => names.includes("app/cache"))
    }).pipe(Effect.provide(KubeInMemory())))
})
