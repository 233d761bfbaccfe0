import type { V1Secret } from "@kubernetes/client-node"
import { Effect, Option } from "effect"
import type { CreateImageCacheRequestImageRegistryCredential } from "../eci/api.generated.ts"
import { Kube } from "../kube/Kube.ts"
import { makeProblems } from "../translate/refusals.ts"
import { translatePullSecrets } from "../translate/pullSecrets.ts"
import type { NodeContext } from "../translate/resolved.ts"

/**
 * Registry credentials for CreateImageCache from the ImageCache's `imagePullSecrets`
 * (`namespace:secretName`). The Secrets are read one by one when a cache is created (GET only, as
 * for pods: no cluster-wide Secret cache) and parsed by the pods' own parser
 * (translate/pullSecrets.ts), so a dockerconfigjson that works for a pod works for a cache.
 */
export interface SecretRef {
  readonly namespace: string
  readonly name: string
}

/** `namespace:secretName`; the CRD's CEL rule guarantees the form, this only splits it. */
export const parseSecretRef = (s: string): SecretRef | undefined => {
  const at = s.indexOf(":")
  if (at <= 0 || at === s.length - 1) return undefined
  return { namespace: s.slice(0, at), name: s.slice(at + 1) }
}

export type CredentialsResult =
  | { readonly _tag: "Ok"; readonly credentials: ReadonlyArray<CreateImageCacheRequestImageRegistryCredential> }
  /** A referenced Secret is missing or holds no usable docker config: the cache waits for it. */
  | { readonly _tag: "Unusable"; readonly reason: "SecretNotFound" | "SecretInvalid"; readonly message: string }

/**
 * Pure: the credentials in these Secrets (in the order the ImageCache lists them; the first
 * credential per registry wins), or why they are unusable. `secrets` holds what was found.
 */
export const credentialsFrom = (
  refs: ReadonlyArray<string>,
  secrets: ReadonlyMap<string, V1Secret>,
  node: NodeContext
): CredentialsResult => {
  const out = new Map<string, CreateImageCacheRequestImageRegistryCredential>()
  for (const ref of refs) {
    const secret = secrets.get(ref)
    if (secret === undefined) {
      return { _tag: "Unusable", reason: "SecretNotFound", message: `image pull secret ${ref} was not found; the cache is created once it exists` }
    }
    // The pods' parser, over a pod that names just this Secret.
    const name = secret.metadata?.name ?? ""
    const problems = makeProblems()
    const found = translatePullSecrets({
      pod: { spec: { containers: [], imagePullSecrets: [{ name }] } },
      node,
      configMaps: {},
      secrets: { [name]: secret },
      serviceAccountTokens: {},
      services: []
    }, problems)
    const warning = problems.warnings[0]
    if (warning !== undefined || found.length === 0) {
      const why = warning?.message ?? `secret ${name} names no registry credentials`
      return { _tag: "Unusable", reason: "SecretInvalid", message: `image pull secret ${ref} is unusable: ${why}` }
    }
    for (const c of found) if (c.Server !== undefined && !out.has(c.Server)) out.set(c.Server, c)
  }
  return { _tag: "Ok", credentials: [...out.values()] }
}

/** Reads the referenced Secrets (a missing one is left out) and applies `credentialsFrom`. */
export const resolveCredentials = (refs: ReadonlyArray<string>, node: NodeContext) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const secrets = new Map<string, V1Secret>()
    yield* Effect.forEach(refs, (ref) => {
      const parsed = parseSecretRef(ref)
      if (parsed === undefined) return Effect.void
      return kube.getSecret(parsed.namespace, parsed.name).pipe(
        Effect.map(Option.some),
        Effect.catchTag("KubeNotFound", () => Effect.succeed(Option.none<V1Secret>())),
        Effect.map((s) => void (Option.isSome(s) && secrets.set(ref, s.value)))
      )
    }, { concurrency: 4, discard: true })
    return credentialsFrom(refs, secrets, node)
  })
