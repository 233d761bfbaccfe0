import type { V1Container, V1ObjectMeta, V1Pod, V1PodSpec } from "@kubernetes/client-node"
import type { CreateContainerGroupRequest, CreateContainerGroupRequestContainer } from "../../src/eci/api.generated.ts"
import { podToEci } from "../../src/translate/podToEci.ts"
import type { MissingReference, Refusal, TranslationWarning } from "../../src/translate/refusals.ts"
import type { NodeContext, ResolvedPod } from "../../src/translate/resolved.ts"

/** Test builders: a pod is the smallest valid one plus what a test overrides. */
export const node: NodeContext = {
  clusterId: "c-test",
  nodeName: "virtual-kubelet-cn-hangzhou-k",
  regionId: "cn-hangzhou",
  vSwitchIds: ["vsw-a", "vsw-b"],
  securityGroupId: "sg-1",
  clusterDns: ["10.96.0.10"],
  clusterDomain: "cluster.local"
}

export const container = (c: Partial<V1Container> = {}): V1Container => ({ name: "app", image: "nginx:1.27", ...c })

export const pod = (spec: Partial<V1PodSpec> = {}, meta: Partial<V1ObjectMeta> = {}): V1Pod => ({
  metadata: { name: "web", namespace: "default", uid: "3f1c2b9e-0000-4000-8000-000000000001", ...meta },
  spec: { containers: [container()], ...spec }
})

export const resolved = (p: V1Pod, extra: Partial<ResolvedPod> = {}): ResolvedPod => ({
  pod: p,
  node,
  configMaps: {},
  secrets: {},
  serviceAccountTokens: {},
  services: [],
  ...extra
})

export const translate = (p: V1Pod, extra: Partial<ResolvedPod> = {}) => podToEci(resolved(p, extra))

/** The request of a translation that must succeed. */
export const request = (p: V1Pod, extra: Partial<ResolvedPod> = {}): CreateContainerGroupRequest => {
  const t = translate(p, extra)
  if (t._tag !== "Ok") throw new Error(`expected Ok, got ${JSON.stringify(t, null, 2)}`)
  return t.request
}

export const warnings = (p: V1Pod, extra: Partial<ResolvedPod> = {}): ReadonlyArray<TranslationWarning> => translate(p, extra).warnings

/** The first (app) container of a request. */
export const first = (p: V1Pod, extra: Partial<ResolvedPod> = {}): CreateContainerGroupRequestContainer => {
  const c = request(p, extra).Container?.[0]
  if (c === undefined) throw new Error("no container")
  return c
}

export const refusals = (p: V1Pod, extra: Partial<ResolvedPod> = {}): ReadonlyArray<Refusal> => {
  const t = translate(p, extra)
  if (t._tag !== "Refused") throw new Error(`expected Refused, got ${JSON.stringify(t, null, 2)}`)
  return t.refusals
}

export const missing = (p: V1Pod, extra: Partial<ResolvedPod> = {}): ReadonlyArray<MissingReference> => {
  const t = translate(p, extra)
  if (t._tag !== "Unresolved") throw new Error(`expected Unresolved, got ${JSON.stringify(t, null, 2)}`)
  return t.missing
}

export const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64")
export const unb64 = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8")

/** The `kube-api-access-*` volume the ServiceAccount admission plugin adds to every pod. */
export const kubeApiAccess = {
  name: "kube-api-access-x7k2p",
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } }
    ]
  }
}
export const kubeApiAccessMount = { name: "kube-api-access-x7k2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }
export const rootCa = { "kube-root-ca.crt": { data: { "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" } } }
export const tokens = { "|3607": "eyJhbGciOiJSUzI1NiJ9.token" }
