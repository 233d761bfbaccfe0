/**
 * What the sandbox puts into the API server, taken from the product's own `k8s/` kustomization, so
 * the sandbox runs what a cluster would run and cannot drift from it:
 *  - everything `kubectl apply -k k8s/` installs (ServiceAccount, RBAC, CRDs, …) except what runs the
 *    product in the cluster — the Deployment and its Service: here the product is a local process;
 *  - the MutatingWebhookConfiguration with each `clientConfig.service` turned into a
 *    `clientConfig.url` on loopback (kube-apiserver cannot reach a Service here);
 *  - the credentials Secret the product watches, with the ECI simulator's key pair.
 */
import { Effect, Redacted } from "effect"
import { settings } from "../config/settings.ts"
import type { ControlPlaneInfo } from "./controlPlane.ts"
import type { AccessKey } from "./eciSimulator.ts"
import { repoPath } from "./repo.ts"
import { SandboxError } from "./sandboxError.ts"

export const K8S_DIR = repoPath("k8s")
export const k8sFile = (name: string) => repoPath("k8s", name)

const fail = (message: string) => new SandboxError({ part: "manifests", message })

/** The product's default credentials Secret, `namespace/name` from the settings table. */
export const credentialsSecretRef = (): { readonly namespace: string; readonly name: string } => {
  const value = settings.find((s) => s.key === "credentialsSecret")?.default ?? "kube-system/alibaba-addon-secret"
  const [namespace = "kube-system", name = "alibaba-addon-secret"] = value.split("/")
  return { namespace, name }
}

/**
 * Server-side apply from stdin: no last-applied annotation (which would keep a Secret's values in
 * plain text on the object), and values never on a command line.
 */
export const applyObject = (cp: ControlPlaneInfo, object: unknown) =>
  cp.kubectlOk(["apply", "--server-side", "--force-conflicts", "--field-manager=eci-sandbox", "-f", "-"], { stdin: JSON.stringify(object) })
    .pipe(Effect.asVoid, Effect.mapError((e) => fail(e.message)))

export interface K8sObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string }
  readonly [field: string]: unknown
}

/**
 * The objects `kubectl apply -k k8s/` would install: kustomize's output, read back as JSON through
 * `kubectl create --dry-run=client` (checked against the API server's discovery; never merged with
 * live objects, unlike an apply dry run).
 */
export const productManifests = (cp: ControlPlaneInfo) =>
  Effect.gen(function*() {
    const yaml = yield* cp.kubectlOk(["kustomize", K8S_DIR]).pipe(Effect.mapError((e) => fail(`kubectl kustomize k8s/: ${e.message}`)))
    const json = yield* cp.kubectlOk(["create", "--dry-run=client", "-o", "json", "-f", "-"], { stdin: yaml })
      .pipe(Effect.mapError((e) => fail(`reading kustomize's output of k8s/: ${e.message}`)))
    return (yield* Effect.try({
      try: () => parseJsonStream(json),
      catch: (e) => fail(`kubectl gave no JSON for k8s/: ${e instanceof Error ? e.message : String(e)}`)
    })) as ReadonlyArray<K8sObject>
  })

/** What runs the product inside a cluster; the sandbox runs it as a local process instead. */
const IN_CLUSTER_ONLY = new Set(["Deployment", "Service", "PodDisruptionBudget"])

/**
 * Everything k8s/ installs except the Deployment, its Service and the webhook configuration (see
 * applySandboxWebhookConfiguration): the ServiceAccount, the RBAC, CRDs.
 */
export const applyProductRbac = (cp: ControlPlaneInfo) =>
  Effect.gen(function*() {
    const items = (yield* productManifests(cp)).filter((o) => !IN_CLUSTER_ONLY.has(o.kind) && o.kind !== "MutatingWebhookConfiguration")
    yield* applyObject(cp, { apiVersion: "v1", kind: "List", items })
  }).pipe(Effect.mapError((e) => fail(`applying k8s/: ${e.message}`)))

export const credentialsSecret = (key: AccessKey) => {
  const { namespace, name } = credentialsSecretRef()
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { namespace, name },
    type: "Opaque",
    data: { "access-key-id": b64(key.accessKeyId), "access-key-secret": b64(Redacted.value(key.accessKeySecret)) }
  }
}

export const putCredentialsSecret = (cp: ControlPlaneInfo, key: AccessKey) => applyObject(cp, credentialsSecret(key))

export const deleteCredentialsSecret = (cp: ControlPlaneInfo) => {
  const { namespace, name } = credentialsSecretRef()
  return cp.kubectlOk(["-n", namespace, "delete", "secret", name, "--ignore-not-found"])
    .pipe(Effect.asVoid, Effect.mapError((e) => fail(e.message)))
}

/**
 * kubectl prints one JSON document per object of a multi-document file, back to back (not a List):
 * split them at depth 0, minding strings, then parse each. A List is unpacked too.
 */
export const parseJsonStream = (text: string): ReadonlyArray<unknown> => {
  const docs: Array<unknown> = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === "{") {
      if (depth++ === 0) start = i
    } else if (c === "}" && --depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)))
  }
  if (depth !== 0 || docs.length === 0) throw new Error("unterminated or empty JSON")
  return docs.flatMap((d) => {
    const list = d as { readonly kind?: string; readonly items?: ReadonlyArray<unknown> }
    return list.kind === "List" ? list.items ?? [] : [d]
  })
}

interface ServiceRef {
  readonly path?: string
}
interface Webhook {
  readonly name: string
  readonly clientConfig?: { readonly service?: ServiceRef; readonly url?: string; readonly caBundle?: string }
  readonly [field: string]: unknown
}
interface WebhookConfiguration {
  readonly kind: string
  readonly metadata: { readonly name: string }
  readonly webhooks?: ReadonlyArray<Webhook>
  readonly [field: string]: unknown
}

/**
 * k8s/'s MutatingWebhookConfiguration, each entry calling `https://127.0.0.1:<port><path>` (the
 * service's path) instead of the Service. caBundle stays out: the product patches in its own CA.
 */
export const sandboxWebhookConfiguration = (cp: ControlPlaneInfo, port: number) =>
  Effect.gen(function*() {
    const objects = (yield* productManifests(cp)) as ReadonlyArray<K8sObject> as ReadonlyArray<WebhookConfiguration>
    const config = objects.find((o) => o.kind === "MutatingWebhookConfiguration")
    if (config === undefined) return yield* fail("k8s/ (its kustomization) has no MutatingWebhookConfiguration")
    const webhooks = (config.webhooks ?? []).map((w): Webhook => {
      const service = w.clientConfig?.service
      if (service === undefined) return w // already a URL: leave it
      return { ...w, clientConfig: { url: `https://127.0.0.1:${port}${service.path ?? "/"}` } }
    })
    return { ...config, webhooks }
  })

export const applySandboxWebhookConfiguration = (cp: ControlPlaneInfo, port: number) =>
  Effect.flatMap(sandboxWebhookConfiguration(cp, port), (config) => applyObject(cp, config))
