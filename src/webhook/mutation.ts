/**
 * What the steering webhook does to a pod, as a pure function from the pod, its namespace's labels
 * and the eci-profile to a JSON Patch (eci-reference §5.3, steering method (c) emulated for (a), (b)
 * and (e)). Only `add` operations: the patch never removes or replaces what the user set, and a
 * second pass over the patched pod adds nothing (the API server may reinvoke us).
 */
import type { V1Pod, V1Toleration } from "@kubernetes/client-node"
import type { JsonPatch } from "effect"
import { escapeToken } from "effect/JsonPointer"
import { type Labels, matchesSelector } from "./labelSelector.ts"
import type { EciProfile } from "./profile.ts"

export type JsonPatchOp = JsonPatch.JsonPatchOperation

/** Pod or namespace labels that ask for ECI: the current name first, then the legacy one. */
export const STEERING_LABELS: ReadonlyArray<string> = ["alibabacloud.com/eci", "eci"]

/** Namespaces the webhook never touches (the control plane and this product live there). */
export const EXCLUDED_NAMESPACES: ReadonlyArray<string> = ["kube-system"]

export interface Steering {
  /** `{ type: "virtual-kubelet" }`: the virtual node's label. */
  readonly nodeSelector: Labels
  /** The virtual node's taint, tolerated with operator Equal. */
  readonly toleration: { readonly key: string; readonly value: string; readonly effect: string }
}

export interface MutationInput {
  readonly pod: V1Pod
  readonly namespace: { readonly name: string; readonly labels: Labels }
  readonly profile: EciProfile
  readonly steering: Steering
}

export interface MutationResult {
  readonly patch: ReadonlyArray<JsonPatchOp>
  /** One line per change, e.g. `nodeSelector type=virtual-kubelet`, for the log. */
  readonly applied: ReadonlyArray<string>
  /** Why the pod is steered (`pod label eci=true`, `eci-profile selector gpu`); empty: not steered. */
  readonly steeredBy: ReadonlyArray<string>
  /** Things the user should know (returned as admission warnings, which kubectl prints). */
  readonly warnings: ReadonlyArray<string>
}

const nothing: MutationResult = { patch: [], applied: [], steeredBy: [], warnings: [] }

const asLabels = (v: unknown): Record<string, string> =>
  typeof v === "object" && v !== null && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"))
    : {}

/** corev1 `Toleration.ToleratesTaint`: an empty key with Exists tolerates every taint. */
export const tolerates = (t: V1Toleration, taint: Steering["toleration"]): boolean => {
  if (t.effect !== undefined && t.effect !== "" && t.effect !== taint.effect) return false
  if (t.key !== undefined && t.key !== "" && t.key !== taint.key) return false
  const operator = t.operator ?? "Equal"
  if (operator === "Exists") return true
  return (t.key ?? "") !== "" && operator === "Equal" && (t.value ?? "") === taint.value
}

const labelReasons = (labels: Labels, where: string): Array<string> =>
  STEERING_LABELS.filter((key) => labels[key] === "true").map((key) => `${where} label ${key}=true`)

/**
 * Profile selectors in order; an effect never overwrites a label or annotation that is already
 * there, so earlier selectors win. A selector's objectSelector sees the labels added by the
 * selectors before it; the loop repeats until nothing changes, so that a second pass over the
 * patched pod matches no selector that this pass did not already apply.
 */
const applySelectors = (profile: EciProfile, namespaceLabels: Labels, podLabels: Labels, podAnnotations: Labels) => {
  const labels: Record<string, string> = { ...podLabels }
  const annotations: Record<string, string> = { ...podAnnotations }
  const added = { labels: {} as Record<string, string>, annotations: {} as Record<string, string> }
  const matched: Array<string> = []
  const applied: Array<string> = []
  let changed = true
  while (changed) {
    changed = false
    for (const selector of profile.selectors) {
      const nsOk = selector.namespaceSelector === undefined || matchesSelector(selector.namespaceSelector, namespaceLabels)
      const podOk = selector.objectSelector === undefined || matchesSelector(selector.objectSelector, labels)
      if (!nsOk || !podOk) continue
      if (!matched.includes(selector.name)) matched.push(selector.name)
      for (const [kind, target, effect] of [
        ["label", labels, selector.effect.labels],
        ["annotation", annotations, selector.effect.annotations]
      ] as const) {
        for (const [key, value] of Object.entries(effect)) {
          if (key in target) continue
          target[key] = value
          added[kind === "label" ? "labels" : "annotations"][key] = value
          applied.push(`${kind} ${key}=${value} (eci-profile selector ${selector.name})`)
          changed = true
        }
      }
    }
  }
  return { matched, applied, added }
}

/** `add` ops for new map entries: the whole map when the pod has none, else one op per key. */
const addToMap = (path: string, existing: unknown, entries: Labels): Array<JsonPatchOp> => {
  if (Object.keys(entries).length === 0) return []
  if (typeof existing !== "object" || existing === null) return [{ op: "add", path, value: { ...entries } }]
  return Object.entries(entries).map(([k, v]) => ({ op: "add", path: `${path}/${escapeToken(k)}`, value: v }))
}

export const mutatePod = (input: MutationInput): MutationResult => {
  const { pod, namespace, profile, steering } = input
  if (EXCLUDED_NAMESPACES.includes(namespace.name)) return nothing
  // A DaemonSet pod belongs on one particular real node; ECI does not run DaemonSets (§5.6).
  if ((pod.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet" && o.controller === true)) return nothing

  const podLabels = asLabels(pod.metadata?.labels)
  const podAnnotations = asLabels(pod.metadata?.annotations)
  const selectors = applySelectors(profile, namespace.labels, podLabels, podAnnotations)
  const steeredBy = [
    ...labelReasons(podLabels, "pod"),
    ...labelReasons(namespace.labels, "namespace"),
    ...selectors.matched.map((name) => `eci-profile selector ${name}`)
  ]
  if (steeredBy.length === 0) return nothing

  const warnings: Array<string> = []
  if (pod.spec?.nodeName !== undefined && pod.spec.nodeName !== "") {
    // Bound already: the scheduler will not run, and a node selector the node lacks would make
    // the kubelet reject the pod. Leave it as the user wrote it.
    warnings.push(`pod asks for ECI (${steeredBy.join(", ")}) but spec.nodeName is set to ${pod.spec.nodeName}; not steered`)
    return { ...nothing, warnings }
  }

  const patch: Array<JsonPatchOp> = [
    ...addToMap("/metadata/labels", pod.metadata?.labels, selectors.added.labels),
    ...addToMap("/metadata/annotations", pod.metadata?.annotations, selectors.added.annotations)
  ]
  const applied = [...selectors.applied]

  // nodeSelector: add missing keys; a key the user set to another value is kept (never
  // overwrite), which leaves the pod off the virtual node, so say so.
  const nodeSelector = asLabels(pod.spec?.nodeSelector)
  const missing: Record<string, string> = {}
  for (const [key, value] of Object.entries(steering.nodeSelector)) {
    const current = nodeSelector[key]
    if (current === undefined) {
      missing[key] = value
      applied.push(`nodeSelector ${key}=${value}`)
    } else if (current !== value) {
      warnings.push(
        `pod asks for ECI (${steeredBy.join(", ")}) but its nodeSelector sets ${key}=${current}; kept as set, so the pod will not be scheduled onto the virtual node (${key}=${value})`
      )
    }
  }
  patch.push(...addToMap("/spec/nodeSelector", pod.spec?.nodeSelector, missing))

  const tolerations = Array.isArray(pod.spec?.tolerations) ? pod.spec.tolerations : undefined
  if (!(tolerations ?? []).some((t) => tolerates(t, steering.toleration))) {
    const { key, value, effect } = steering.toleration
    const toleration = { key, operator: "Equal", value, effect }
    patch.push(
      tolerations === undefined
        ? { op: "add", path: "/spec/tolerations", value: [toleration] }
        : { op: "add", path: "/spec/tolerations/-", value: toleration }
    )
    applied.push(`toleration ${key}=${value}:${effect}`)
  }
  return { patch, applied, steeredBy, warnings }
}
