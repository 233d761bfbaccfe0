/**
 * Keeps the MutatingWebhookConfiguration `eci-virtual-node` in step with this process:
 * - every entry gets the CA bundle of the certificate we serve (generated certificates are
 *   unknown to the manifest);
 * - every eci-profile selector gets an entry of its own whose namespaceSelector/objectSelector
 *   are the selector's, so the API server calls us only for pods a selector can match (ack
 *   realises selectors the same way). The alternative, one catch-all entry, would route every pod
 *   creation in the cluster through this webhook.
 * Entries the manifest ships are kept as they are apart from the CA bundle; selector entries are
 * derived from the first of them (the template), and are recognised by their name suffix.
 */
import type { V1LabelSelector, V1MutatingWebhook, V1MutatingWebhookConfiguration } from "@kubernetes/client-node"
import { Effect, Schedule } from "effect"
import { Kube, type KubeError } from "../kube/Kube.ts"
import type { LabelSelector } from "./labelSelector.ts"
import { EXCLUDED_NAMESPACES } from "./mutation.ts"
import type { EciProfile } from "./profile.ts"

export const WEBHOOK_CONFIGURATION = "eci-virtual-node"
export const PROFILE_ENTRY_SUFFIX = ".profile.eci-virtual-node.io"

export const profileEntryName = (index: number) => `selector-${index}${PROFILE_ENTRY_SUFFIX}`

/** Never call the webhook for pods in excluded namespaces (kube-system). */
const exclusion = { key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...EXCLUDED_NAMESPACES] }

const toK8s = (selector: LabelSelector | undefined, extra: ReadonlyArray<typeof exclusion> = []): V1LabelSelector => {
  const expressions = [
    ...(selector?.matchExpressions ?? []).map((e) => (e.values.length > 0 ? { key: e.key, operator: e.operator, values: [...e.values] } : { key: e.key, operator: e.operator })),
    ...extra
  ]
  const labels = selector?.matchLabels ?? {}
  return {
    ...(Object.keys(labels).length > 0 ? { matchLabels: { ...labels } } : {}),
    ...(expressions.length > 0 ? { matchExpressions: expressions } : {})
  }
}

/** The webhooks the configuration should have, given what it has now, the CA and the profile. */
export const desiredWebhooks = (
  current: ReadonlyArray<V1MutatingWebhook>,
  caBundle: string,
  profile: EciProfile
): { readonly webhooks: ReadonlyArray<V1MutatingWebhook>; readonly template: string | undefined } => {
  const shipped = current
    .filter((w) => !w.name.endsWith(PROFILE_ENTRY_SUFFIX))
    .map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle } }))
  const template = shipped[0]
  if (template === undefined) return { webhooks: shipped, template: undefined }
  const selectorEntries = profile.selectors.map((s, i): V1MutatingWebhook => ({
    ...template,
    name: profileEntryName(i),
    namespaceSelector: toK8s(s.namespaceSelector, [exclusion]),
    objectSelector: toK8s(s.objectSelector)
  }))
  return { webhooks: [...shipped, ...selectorEntries], template: template.name }
}

/** JSON with sorted keys and without empty values, so server defaults like `objectSelector: {}` compare equal to absent. */
export const normalized = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(normalized)
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = normalized((value as Record<string, unknown>)[key])
    const empty = v === undefined || v === null || (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
    if (!empty) out[key] = v
  }
  return out
}

export const sameWebhooks = (a: ReadonlyArray<V1MutatingWebhook>, b: ReadonlyArray<V1MutatingWebhook>) =>
  JSON.stringify(normalized(a)) === JSON.stringify(normalized(b))

/**
 * The patch that replaces the list: strategic merge would merge a changed selector's matchLabels
 * into the old ones. The resourceVersion makes it conditional: a concurrent writer (the other
 * replica, kubectl apply) turns it into a 409 and we read again.
 */
export const replaceWebhooksPatch = (config: V1MutatingWebhookConfiguration, webhooks: ReadonlyArray<V1MutatingWebhook>) => ({
  metadata: { resourceVersion: config.metadata?.resourceVersion },
  webhooks: [{ $patch: "replace" }, ...webhooks]
})

const conflictRetry = Schedule.spaced("200 millis").pipe(
  Schedule.upTo({ times: 3 }),
  Schedule.setInputType<KubeError>(),
  Schedule.while(({ input }) => input._tag === "KubeConflict")
)

/** One pass: read, compare, patch if different. Errors are returned, not logged (the loop logs). */
export const reconcileWebhookConfiguration = (caPem: string, profile: EciProfile) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const caBundle = Buffer.from(caPem).toString("base64")
    const config = yield* kube.getMutatingWebhookConfiguration(WEBHOOK_CONFIGURATION)
    const current = config.webhooks ?? []
    const { webhooks, template } = desiredWebhooks(current, caBundle, profile)
    if (template === undefined && profile.selectors.length > 0) {
      yield* Effect.logWarning(`MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION} has no entries to copy; eci-profile selectors are not routed to the webhook`)
    }
    if (sameWebhooks(current, webhooks)) return false
    yield* kube.patchMutatingWebhookConfiguration(WEBHOOK_CONFIGURATION, replaceWebhooksPatch(config, webhooks))
    yield* Effect.logInfo(`updated MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION}`).pipe(
      Effect.annotateLogs({ webhooks: webhooks.map((w) => w.name).join(",") })
    )
    return true
  }).pipe(Effect.retry(conflictRetry))
