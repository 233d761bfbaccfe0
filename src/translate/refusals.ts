import type { CreateContainerGroupRequest } from "../eci/api.generated.ts"

/**
 * What the translator can say besides "here is the request". Everything is plain data so the
 * controller can turn it into Events and pod conditions, and tests can compare it with `toEqual`.
 *
 * - A **refusal** means ECI cannot run the pod faithfully (a host namespace, a privileged container,
 *   a volume type ECI lacks, a field whose loss would change what the pod does). Refusals are final:
 *   the controller marks the pod Failed with an Event per refusal and creates nothing.
 * - A **missing reference** is a ConfigMap, Secret, key or token the pod needs and the caller did
 *   not supply. The kubelet keeps such pods Pending (CreateContainerConfigError / FailedMount) and
 *   retries, so the controller should too: it is not a refusal.
 * - A **warning** is something ECI does differently but harmlessly or more leniently than the
 *   kubelet (an ignored hardening field, an approximated probe, an annotation without an SDK
 *   parameter). The pod runs; the controller emits a Warning Event so the user is not left guessing.
 */
export type RefusalCode =
  | "HostNamespace"
  | "HostPort"
  | "Privileged"
  | "TooManyContainers"
  | "TooManyVolumes"
  | "UnsupportedVolume"
  | "UnsupportedField"
  | "UnsupportedProbe"
  | "UnsupportedResource"
  | "ResourcesTooLarge"
  | "InvalidQuantity"
  | "SysctlNotAllowed"
  | "InvalidAnnotation"

export interface Refusal {
  readonly code: RefusalCode
  /** The field path in the pod, e.g. `spec.volumes[2].hostPath` or `metadata.annotations[k8s.aliyun.com/eci-spot-price-limit]`. */
  readonly field: string
  readonly reason: string
}

export type WarningCode =
  | "UnsupportedAnnotation"
  | "UnknownAnnotation"
  | "IgnoredField"
  | "Approximated"
  | "MissingImagePullSecret"

export interface TranslationWarning {
  readonly code: WarningCode
  readonly field: string
  readonly message: string
}

export type MissingReference =
  | { readonly kind: "ConfigMap"; readonly name: string; readonly key?: string; readonly field: string }
  | { readonly kind: "Secret"; readonly name: string; readonly key?: string; readonly field: string }
  | { readonly kind: "ServiceAccountToken"; readonly tokenKey: string; readonly field: string }

/**
 * The translator's answer. `Refused` wins over `Unresolved`: a pod that can never run should fail at
 * once rather than wait for a ConfigMap.
 */
export type Translation =
  | { readonly _tag: "Ok"; readonly request: CreateContainerGroupRequest; readonly warnings: ReadonlyArray<TranslationWarning> }
  | { readonly _tag: "Refused"; readonly refusals: ReadonlyArray<Refusal>; readonly warnings: ReadonlyArray<TranslationWarning> }
  | { readonly _tag: "Unresolved"; readonly missing: ReadonlyArray<MissingReference>; readonly warnings: ReadonlyArray<TranslationWarning> }

/**
 * Accumulates problems while the translators walk the pod, so every refusal is reported at once
 * rather than one per attempt.
 */
export interface Problems {
  readonly refuse: (code: RefusalCode, field: string, reason: string) => void
  readonly warn: (code: WarningCode, field: string, message: string) => void
  readonly missing: (ref: MissingReference) => void
  readonly refusals: ReadonlyArray<Refusal>
  readonly warnings: ReadonlyArray<TranslationWarning>
  readonly missingRefs: ReadonlyArray<MissingReference>
}

export const makeProblems = (): Problems => {
  const refusals: Array<Refusal> = []
  const warnings: Array<TranslationWarning> = []
  const missingRefs: Array<MissingReference> = []
  return {
    refuse: (code, field, reason) => {
      refusals.push({ code, field, reason })
    },
    warn: (code, field, message) => {
      warnings.push({ code, field, message })
    },
    missing: (ref) => {
      missingRefs.push(ref)
    },
    refusals,
    warnings,
    missingRefs
  }
}
