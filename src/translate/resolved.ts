import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from "@kubernetes/client-node"

/**
 * Where the pod runs, from the process configuration (see src/config/settings.ts). The translator
 * never reads configuration itself.
 */
export interface NodeContext {
  /** Tags every group; garbage collection keys on it. */
  readonly clusterId: string
  readonly nodeName: string
  readonly regionId: string
  /** Default vSwitches, tried in order (`VSwitchId` is a comma list); empty: ECI's default. */
  readonly vSwitchIds: ReadonlyArray<string>
  readonly securityGroupId?: string
  readonly zoneId?: string
  readonly resourceGroupId?: string
  /** Cluster DNS servers for `dnsPolicy: ClusterFirst`; empty: fall back to `Default` as the kubelet does. */
  readonly clusterDns: ReadonlyArray<string>
  readonly clusterDomain: string
}

/**
 * The pod plus everything the caller fetched from the API server for it. The caller does I/O only:
 * it fetches the objects `referencedObjects(pod)` names; the translator applies Kubernetes'
 * semantics (env ordering and `$(VAR)` expansion, `envFrom` prefixes, `optional`, volume `items`,
 * modes, downward API formatting, image pull secret parsing) so that all of it is table-tested.
 *
 * A referenced object that is absent from these maps is treated as "not found" (optional
 * references are then skipped; required ones make the translation `Unresolved`).
 */
export interface ResolvedPod {
  readonly pod: V1Pod
  readonly node: NodeContext
  /** ConfigMaps of the pod's namespace by name (incl. `kube-root-ca.crt` for kube-api-access volumes). */
  readonly configMaps: Readonly<Record<string, V1ConfigMap>>
  /** Secrets of the pod's namespace by name (env, volumes and imagePullSecrets). */
  readonly secrets: Readonly<Record<string, V1Secret>>
  /**
   * Service-account tokens obtained through the TokenRequest API, keyed by `tokenKey(audience,
   * expirationSeconds)` as listed by `referencedObjects`. ECI config files are written once, so the
   * token is not rotated: request it with the pod's expiration (the API server extends
   * kube-api-access tokens to a year when `--service-account-extend-token-expiration` is on).
   */
  readonly serviceAccountTokens: Readonly<Record<string, string>>
  /**
   * Services for the kubelet's service-link environment: the pod namespace's Services when
   * `enableServiceLinks` is not false, plus `default/kubernetes` always (in-cluster clients need
   * `KUBERNETES_SERVICE_HOST`/`_PORT`). Services without a cluster IP are skipped by the translator.
   */
  readonly services: ReadonlyArray<V1Service>
  /** Idempotency token persisted on the pod before the first create (§3.2: always send one). */
  readonly clientToken?: string
}

/** The key of a service-account token in `ResolvedPod.serviceAccountTokens`. */
export const tokenKey = (audience: string | undefined, expirationSeconds: number | undefined): string =>
  `${audience ?? ""}|${expirationSeconds ?? 3600}`

export interface TokenRequestNeeded {
  readonly key: string
  /** `undefined`: the API server's default audience. */
  readonly audience?: string
  readonly expirationSeconds: number
}

export interface ReferencedObjects {
  readonly configMaps: ReadonlyArray<string>
  readonly secrets: ReadonlyArray<string>
  readonly tokens: ReadonlyArray<TokenRequestNeeded>
  /** Whether the caller should list the namespace's Services (`enableServiceLinks`, default true). */
  readonly serviceLinks: boolean
}

const containersOf = (pod: V1Pod): ReadonlyArray<V1Container> => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? [])
]

/** What the caller must fetch before calling `podToEci`: names are unique and sorted. */
export const referencedObjects = (pod: V1Pod): ReferencedObjects => {
  const configMaps = new Set<string>()
  const secrets = new Set<string>()
  const tokens = new Map<string, TokenRequestNeeded>()
  for (const c of containersOf(pod)) {
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef?.name) configMaps.add(from.configMapRef.name)
      if (from.secretRef?.name) secrets.add(from.secretRef.name)
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef?.name
      const s = e.valueFrom?.secretKeyRef?.name
      if (cm) configMaps.add(cm)
      if (s) secrets.add(s)
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name)
    if (v.secret?.secretName) secrets.add(v.secret.secretName)
    for (const p of v.projected?.sources ?? []) {
      if (p.configMap?.name) configMaps.add(p.configMap.name)
      if (p.secret?.name) secrets.add(p.secret.name)
      if (p.serviceAccountToken) {
        const key = tokenKey(p.serviceAccountToken.audience, p.serviceAccountToken.expirationSeconds)
        const audience = p.serviceAccountToken.audience
        const expirationSeconds = p.serviceAccountToken.expirationSeconds ?? 3600
        tokens.set(key, audience === undefined || audience === "" ? { key, expirationSeconds } : { key, audience, expirationSeconds })
      }
    }
  }
  for (const s of pod.spec?.imagePullSecrets ?? []) if (s.name) secrets.add(s.name)
  return {
    configMaps: [...configMaps].sort(),
    secrets: [...secrets].sort(),
    tokens: [...tokens.values()].sort((a, b) => a.key.localeCompare(b.key)),
    serviceLinks: pod.spec?.enableServiceLinks !== false
  }
}
