import type { CreateContainerGroupRequestImageRegistryCredential } from "../eci/api.generated.ts"
import type { Problems } from "./refusals.ts"
import type { ResolvedPod } from "./resolved.ts"

/**
 * `spec.imagePullSecrets` → `ImageRegistryCredential {Server, UserName, Password}`.
 * Secrets of type `kubernetes.io/dockerconfigjson` (`{"auths": {...}}`) and the older
 * `kubernetes.io/dockercfg` (the map itself) are read; an entry with only `auth` (base64
 * `user:password`) is decoded. Registry keys written as URLs (`https://index.docker.io/v1/`) become
 * their host, which is what ECI matches against image names. The first credential per server wins.
 * A missing or unreadable pull secret is a warning, not an error: the kubelet also goes on and lets
 * the pull fail if the registry really needs it.
 */
interface DockerAuth {
  readonly username?: unknown
  readonly password?: unknown
  readonly auth?: unknown
}

export const registryHost = (key: string): string => key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "")

const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8")

const credentialsOf = (entry: DockerAuth): { user: string; password: string } | undefined => {
  if (typeof entry.username === "string" && typeof entry.password === "string") return { user: entry.username, password: entry.password }
  if (typeof entry.auth === "string") {
    const plain = decode(entry.auth)
    const at = plain.indexOf(":")
    if (at > 0) return { user: plain.slice(0, at), password: plain.slice(at + 1) }
  }
  return undefined
}

export const translatePullSecrets = (
  resolved: ResolvedPod,
  problems: Problems
): ReadonlyArray<CreateContainerGroupRequestImageRegistryCredential> => {
  const out = new Map<string, CreateContainerGroupRequestImageRegistryCredential>()
  ;(resolved.pod.spec?.imagePullSecrets ?? []).forEach((ref, i) => {
    const field = `spec.imagePullSecrets[${i}]`
    const name = ref.name ?? ""
    const secret = resolved.secrets[name]
    const raw = secret?.data?.[".dockerconfigjson"] ?? secret?.data?.[".dockercfg"]
    if (secret === undefined || raw === undefined) {
      problems.warn("MissingImagePullSecret", field,
        secret === undefined ? `image pull secret ${name} was not found` : `secret ${name} holds no .dockerconfigjson or .dockercfg`)
      return
    }
    let auths: Record<string, DockerAuth>
    try {
      const json = JSON.parse(decode(raw)) as { auths?: Record<string, DockerAuth> } & Record<string, DockerAuth>
      auths = secret.data?.[".dockerconfigjson"] !== undefined ? json.auths ?? {} : json
    } catch {
      problems.warn("MissingImagePullSecret", field, `secret ${name} does not hold valid docker config JSON`)
      return
    }
    for (const [key, entry] of Object.entries(auths)) {
      const creds = typeof entry === "object" && entry !== null ? credentialsOf(entry) : undefined
      const server = registryHost(key)
      if (creds === undefined || server === "" || out.has(server)) continue
      out.set(server, { Server: server, UserName: creds.user, Password: creds.password })
    }
  })
  return [...out.values()]
}
