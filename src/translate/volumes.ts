import type { V1ConfigMap, V1KeyToPath, V1Pod, V1Secret, V1Volume, V1VolumeProjection } from "@kubernetes/client-node"
import type {
  CreateContainerGroupRequestVolume,
  CreateContainerGroupRequestVolumeConfigFileVolumeConfigFileToPath
} from "../eci/api.generated.ts"
import { podFieldValue, resourceFieldValue, type Allocatable } from "./downward.ts"
import type { Problems } from "./refusals.ts"
import { tokenKey, type ResolvedPod } from "./resolved.ts"

/**
 * Pod volumes → ECI volumes (§1.2):
 * - `emptyDir` → `EmptyDirVolume` (medium `Memory` and `sizeLimit` kept);
 * - `configMap`, `secret`, `downwardAPI`, `projected` → `ConfigFileVolume`: the kubelet's files
 *   (items/keys → paths, modes, defaultMode, optional) computed here and shipped base64-encoded,
 *   because ECI cannot read Kubernetes objects. This includes the `kube-api-access-*` projected
 *   volume every pod carries (token, `ca.crt`, `namespace`). Contents are a snapshot taken at
 *   creation: later ConfigMap/Secret edits and token rotation do not reach the instance;
 * - `nfs` → `NFSVolume`; `flexVolume` → `FlexVolume` (ECI's disk/NAS/OSS drivers);
 * - everything else (hostPath, persistentVolumeClaim, ephemeral, csi, gitRepo, image, cloud disks
 *   of other clouds) is refused: ECI has no equivalent the pod could rely on (§5.6).
 *
 * File modes: Kubernetes carries modes as decimal integers (420 = 0644); ECI's `DefaultMode` and
 * `Mode` are "a four-digit octal number" (ECI "Mount a ConfigFile volume": example 0644), so we
 * send the octal digits (644).
 *
 * Sizes: ECI takes at most 32 KiB per file and 60 KiB per ConfigFile volume (same doc); a larger
 * volume is refused here with its name rather than by ECI with a parameter path.
 */
export const MAX_VOLUMES = 20
export const MAX_CONFIG_FILE_BYTES = 32 * 1024
export const MAX_CONFIG_VOLUME_BYTES = 60 * 1024

/** 420 → 644: the octal digits of a Kubernetes mode, as ECI's examples write modes. */
export const eciMode = (k8sMode: number): number => Number((k8sMode & 0o7777).toString(8))

type File = CreateContainerGroupRequestVolumeConfigFileVolumeConfigFileToPath

const utf8ToBase64 = (s: string): string => Buffer.from(s, "utf8").toString("base64")

const file = (path: string, content: string, mode: number | undefined): File =>
  mode === undefined ? { Path: path, Content: content } : { Path: path, Content: content, Mode: eciMode(mode) }

/** Key → base64 content of a ConfigMap (`data` as UTF-8, `binaryData` already base64). */
const configMapContents = (cm: V1ConfigMap): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = utf8ToBase64(v)
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = v
  return out
}

const secretContents = (s: V1Secret): Record<string, string> => ({ ...(s.data ?? {}) })

/**
 * The files of one ConfigMap or Secret source: every key, or only `items` (a missing item key is an
 * error unless the source is optional, as in the kubelet's configmap/secret volume plugins).
 */
const keyedFiles = (
  kind: "ConfigMap" | "Secret",
  name: string,
  contents: Record<string, string> | undefined,
  items: ReadonlyArray<V1KeyToPath> | undefined,
  optional: boolean,
  field: string,
  problems: Problems
): ReadonlyArray<File> => {
  if (contents === undefined) {
    if (!optional) problems.missing({ kind, name, field })
    return []
  }
  if (items === undefined || items.length === 0) {
    return Object.keys(contents).sort().map((k) => file(k, contents[k] ?? "", undefined))
  }
  const out: Array<File> = []
  items.forEach((item, i) => {
    const content = contents[item.key]
    if (content !== undefined) out.push(file(item.path, content, item.mode))
    else if (!optional) problems.missing({ kind, name, key: item.key, field: `${field}.items[${i}]` })
  })
  return out
}

const downwardFiles = (
  pod: V1Pod,
  items: ReadonlyArray<{ path: string; mode?: number; fieldRef?: { fieldPath: string }; resourceFieldRef?: { containerName?: string; resource: string; divisor?: string } }>,
  allocatable: Allocatable,
  field: string,
  problems: Problems
): ReadonlyArray<File> => {
  const out: Array<File> = []
  items.forEach((item, i) => {
    let value: string | undefined
    if (item.fieldRef) {
      value = podFieldValue(pod, item.fieldRef.fieldPath)
      if (value === undefined) {
        problems.refuse("UnsupportedField", `${field}.items[${i}].fieldRef`,
          `field path ${item.fieldRef.fieldPath} cannot be written to a file before the ECI instance exists`)
      }
    } else if (item.resourceFieldRef) {
      const rf = item.resourceFieldRef
      const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === rf.containerName)
      value = c === undefined ? undefined : resourceFieldValue(c, rf.resource, rf.divisor, allocatable)
      if (value === undefined) problems.refuse("UnsupportedField", `${field}.items[${i}].resourceFieldRef`, `resource ${rf.resource} cannot be resolved`)
    }
    if (value !== undefined) out.push(file(item.path, utf8ToBase64(value), item.mode))
  })
  return out
}

const projectionFiles = (
  resolved: ResolvedPod,
  source: V1VolumeProjection,
  allocatable: Allocatable,
  field: string,
  problems: Problems
): ReadonlyArray<File> => {
  if (source.configMap) {
    const name = source.configMap.name ?? ""
    const cm = resolved.configMaps[name]
    return keyedFiles("ConfigMap", name, cm && configMapContents(cm), source.configMap.items, source.configMap.optional === true,
      `${field}.configMap`, problems)
  }
  if (source.secret) {
    const name = source.secret.name ?? ""
    const s = resolved.secrets[name]
    return keyedFiles("Secret", name, s && secretContents(s), source.secret.items, source.secret.optional === true, `${field}.secret`, problems)
  }
  if (source.downwardAPI) return downwardFiles(resolved.pod, source.downwardAPI.items ?? [], allocatable, `${field}.downwardAPI`, problems)
  if (source.serviceAccountToken) {
    const sat = source.serviceAccountToken
    const key = tokenKey(sat.audience, sat.expirationSeconds)
    const token = resolved.serviceAccountTokens[key]
    if (token === undefined) {
      problems.missing({ kind: "ServiceAccountToken", tokenKey: key, field: `${field}.serviceAccountToken` })
      return []
    }
    return [file(sat.path, utf8ToBase64(token), undefined)]
  }
  const kind = source.clusterTrustBundle ? "clusterTrustBundle" : source.podCertificate ? "podCertificate" : "this projection"
  problems.refuse("UnsupportedVolume", field, `${kind} sources are not supported on ECI`)
  return []
}

const decodedSize = (b64: string): number => Buffer.byteLength(b64, "base64")

const configFileVolume = (
  name: string,
  files: ReadonlyArray<File>,
  defaultMode: number | undefined,
  field: string,
  problems: Problems
): CreateContainerGroupRequestVolume => {
  // ECI needs at least one file in a ConfigFileVolume; an optional source that is absent mounts
  // as an empty directory, which is what the kubelet shows the container.
  if (files.length === 0) return { Name: name, Type: "EmptyDirVolume", EmptyDirVolume: {} }
  const sizes = files.map((f) => decodedSize(f.Content ?? ""))
  const tooBig = files.filter((_, i) => (sizes[i] ?? 0) > MAX_CONFIG_FILE_BYTES).map((f) => f.Path)
  const total = sizes.reduce((a, b) => a + b, 0)
  if (tooBig.length > 0) {
    problems.refuse("UnsupportedVolume", field, `ECI config files are limited to 32 KiB; ${tooBig.join(", ")} ${tooBig.length === 1 ? "is" : "are"} larger`)
  } else if (total > MAX_CONFIG_VOLUME_BYTES) {
    problems.refuse("UnsupportedVolume", field, `ECI config volumes are limited to 60 KiB in total; this one holds ${total} bytes`)
  }
  return {
    Name: name,
    Type: "ConfigFileVolume",
    ConfigFileVolume: defaultMode === undefined ? { ConfigFileToPath: files } : { ConfigFileToPath: files, DefaultMode: eciMode(defaultMode) }
  }
}

const otherVolumeReasons: ReadonlyArray<readonly [keyof V1Volume, string]> = [
  ["hostPath", "hostPath volumes are not supported on ECI (there is no shared host); use emptyDir or NAS (nfs)"],
  ["persistentVolumeClaim", "PersistentVolumeClaims are not supported by this virtual node yet; use an nfs (NAS) or flexVolume volume"],
  ["ephemeral", "generic ephemeral volumes need PersistentVolumeClaims, which this virtual node does not support yet"],
  ["csi", "inline CSI volumes have no ECI equivalent"],
  ["gitRepo", "gitRepo volumes are deprecated and have no ECI equivalent; clone in an init container into an emptyDir"],
  ["image", "image volumes have no ECI equivalent"]
]

export const translateVolume = (
  resolved: ResolvedPod,
  v: V1Volume,
  index: number,
  allocatable: Allocatable,
  problems: Problems
): CreateContainerGroupRequestVolume | undefined => {
  const field = `spec.volumes[${index}]`
  const name = v.name
  if (v.emptyDir) {
    const medium = v.emptyDir.medium ?? ""
    if (medium !== "" && medium !== "Memory") {
      problems.refuse("UnsupportedVolume", `${field}.emptyDir.medium`, `emptyDir medium ${medium} is not supported on ECI (only "" and Memory)`)
      return undefined
    }
    return {
      Name: name,
      Type: "EmptyDirVolume",
      EmptyDirVolume: {
        ...(medium === "Memory" ? { Medium: "Memory" } : {}),
        ...(v.emptyDir.sizeLimit === undefined ? {} : { SizeLimit: String(v.emptyDir.sizeLimit) })
      }
    }
  }
  if (v.configMap) {
    const cmName = v.configMap.name ?? ""
    const cm = resolved.configMaps[cmName]
    const files = keyedFiles("ConfigMap", cmName, cm && configMapContents(cm), v.configMap.items, v.configMap.optional === true,
      `${field}.configMap`, problems)
    return configFileVolume(name, files, v.configMap.defaultMode, `${field}.configMap`, problems)
  }
  if (v.secret) {
    const sName = v.secret.secretName ?? ""
    const s = resolved.secrets[sName]
    const files = keyedFiles("Secret", sName, s && secretContents(s), v.secret.items, v.secret.optional === true, `${field}.secret`, problems)
    return configFileVolume(name, files, v.secret.defaultMode, `${field}.secret`, problems)
  }
  if (v.downwardAPI) {
    const files = downwardFiles(resolved.pod, v.downwardAPI.items ?? [], allocatable, `${field}.downwardAPI`, problems)
    return configFileVolume(name, files, v.downwardAPI.defaultMode, `${field}.downwardAPI`, problems)
  }
  if (v.projected) {
    const files = (v.projected.sources ?? []).flatMap((s, i) =>
      projectionFiles(resolved, s, allocatable, `${field}.projected.sources[${i}]`, problems))
    return configFileVolume(name, files, v.projected.defaultMode, `${field}.projected`, problems)
  }
  if (v.nfs) {
    return {
      Name: name,
      Type: "NFSVolume",
      NFSVolume: { Server: v.nfs.server, Path: v.nfs.path, ...(v.nfs.readOnly === undefined ? {} : { ReadOnly: v.nfs.readOnly }) }
    }
  }
  if (v.flexVolume) {
    if (v.flexVolume.secretRef) {
      problems.refuse("UnsupportedVolume", `${field}.flexVolume.secretRef`, "ECI's FlexVolume cannot receive a Secret")
      return undefined
    }
    if (v.flexVolume.readOnly === true) {
      problems.warn("IgnoredField", `${field}.flexVolume.readOnly`, "ECI's FlexVolume has no readOnly flag; mount it with volumeMounts[].readOnly instead")
    }
    return {
      Name: name,
      Type: "FlexVolume",
      FlexVolume: {
        Driver: v.flexVolume.driver,
        ...(v.flexVolume.fsType === undefined ? {} : { FsType: v.flexVolume.fsType }),
        ...(v.flexVolume.options === undefined ? {} : { Options: JSON.stringify(v.flexVolume.options) })
      }
    }
  }
  const known = otherVolumeReasons.find(([key]) => v[key] !== undefined)
  if (known !== undefined) {
    problems.refuse("UnsupportedVolume", `${field}.${String(known[0])}`, known[1])
    return undefined
  }
  const kind = Object.keys(v).find((k) => k !== "name") ?? "unknown"
  problems.refuse("UnsupportedVolume", `${field}.${kind}`, `${kind} volumes have no ECI equivalent`)
  return undefined
}

export const translateVolumes = (
  resolved: ResolvedPod,
  allocatable: Allocatable,
  problems: Problems
): ReadonlyArray<CreateContainerGroupRequestVolume> => {
  const volumes = resolved.pod.spec?.volumes ?? []
  if (volumes.length > MAX_VOLUMES) {
    problems.refuse("TooManyVolumes", "spec.volumes", `ECI allows at most ${MAX_VOLUMES} volumes per instance; the pod has ${volumes.length}`)
  }
  return volumes.flatMap((v, i) => {
    const out = translateVolume(resolved, v, i, allocatable, problems)
    return out === undefined ? [] : [out]
  })
}
