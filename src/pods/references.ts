import type { V1ConfigMap, V1Pod, V1Secret, V1Service } from "@kubernetes/client-node"
import { Effect, Option } from "effect"
import { Kube, type KubeError } from "../kube/Kube.ts"
import type { ServiceCache } from "../kube/serviceCache.ts"
import { referencedObjects, type NodeContext, type ResolvedPod } from "../translate/resolved.ts"

/** The referenced objects that did not exist (optional ones: the translator decides). */
export interface NotFound {
  readonly configMaps: ReadonlyArray<string>
  readonly secrets: ReadonlyArray<string>
}

const orNone = <A>(eff: Effect.Effect<A, KubeError>) =>
  eff.pipe(
    Effect.map(Option.some),
    Effect.catchTag("KubeNotFound", () => Effect.succeed(Option.none<A>()))
  )

/**
 * Fetches what one pod references — its Secrets, ConfigMaps, service-account tokens (TokenRequest,
 * bound to the pod) and, for service-link environment variables, its namespace's Services — and
 * nothing else: no cluster-wide caches of Secrets (virtual-kubelet's informers read every Secret
 * of the cluster). Services are the exception, as in the kubelet: every pod needs the API server's
 * own, so they come from `services`, a watch-backed cache (src/kube/serviceCache.ts). The
 * translator then applies Kubernetes' rules to what was found.
 */
export const resolveReferences = (pod: V1Pod, node: NodeContext, clientToken: string, services: ServiceCache) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const namespace = pod.metadata?.namespace ?? "default"
    const refs = referencedObjects(pod)
    const configMaps: Record<string, V1ConfigMap> = {}
    const secrets: Record<string, V1Secret> = {}
    const missingConfigMaps: Array<string> = []
    const missingSecrets: Array<string> = []
    yield* Effect.forEach(refs.configMaps, (name) =>
      orNone(kube.getConfigMap(namespace, name)).pipe(
        Effect.map((found) => (Option.isSome(found) ? void (configMaps[name] = found.value) : void missingConfigMaps.push(name)))
      ), { concurrency: 4, discard: true })
    yield* Effect.forEach(refs.secrets, (name) =>
      orNone(kube.getSecret(namespace, name)).pipe(
        Effect.map((found) => (Option.isSome(found) ? void (secrets[name] = found.value) : void missingSecrets.push(name)))
      ), { concurrency: 4, discard: true })
    const serviceAccount = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? "default"
    const tokens: Record<string, string> = {}
    yield* Effect.forEach(refs.tokens, (t) =>
      kube.createServiceAccountToken(namespace, serviceAccount, {
        audiences: t.audience === undefined ? [] : [t.audience],
        expirationSeconds: t.expirationSeconds,
        boundPod: { name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" }
      }).pipe(
        Effect.map((r) => void (tokens[t.key] = r.token)),
        // A missing ServiceAccount leaves the token out; the translator reports it as missing.
        Effect.catchTag("KubeNotFound", () => Effect.void)
      ), { concurrency: 2, discard: true })
    const found: Array<V1Service> = []
    if (refs.serviceLinks) found.push(...(yield* services.list(namespace)))
    if (namespace !== "default" || !refs.serviceLinks) {
      const apiServer = yield* services.get("default", "kubernetes")
      if (apiServer !== undefined) found.push(apiServer)
    }
    const resolved: ResolvedPod = { pod, node, configMaps, secrets, serviceAccountTokens: tokens, services: found, clientToken }
    const notFound: NotFound = { configMaps: missingConfigMaps.sort(), secrets: missingSecrets.sort() }
    return { resolved, notFound }
  })
