import type { CreateContainerGroupRequest } from "../../src/eci/api.generated.ts"
import { tagProblem } from "../../src/translate/annotations.ts"
import { isValidContainerGroupName, MAX_TAGS } from "../../src/translate/identity.ts"
import { isSupportedSpec } from "../../src/translate/specs.ts"
import { MAX_CONFIG_FILE_BYTES, MAX_CONFIG_VOLUME_BYTES } from "../../src/translate/volumes.ts"

/**
 * The ECI constraints the reference documents (§1.2, §5.6, the ConfigFile volume doc), as an
 * independent checker for property tests: every problem found in a request, [] when it is valid.
 */
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const octalMode = (m: number | undefined) => m === undefined || (Number.isInteger(m) && /^[0-7]{1,4}$/.test(String(m)))

export const eciProblems = (r: CreateContainerGroupRequest): ReadonlyArray<string> => {
  const p: Array<string> = []
  const containers = r.Container ?? []
  const inits = r.InitContainer ?? []
  const volumes = r.Volume ?? []
  if (r.RegionId === undefined || r.RegionId === "") p.push("RegionId missing")
  if (!isValidContainerGroupName(r.ContainerGroupName ?? "")) p.push(`bad name ${r.ContainerGroupName}`)
  if (containers.length === 0 || containers.length > 20) p.push(`${containers.length} containers`)
  if (inits.length > 20) p.push(`${inits.length} init containers`)
  if (volumes.length > 20) p.push(`${volumes.length} volumes`)
  const tags = r.Tag ?? []
  if (tags.length > MAX_TAGS) p.push(`${tags.length} tags`)
  for (const t of tags) {
    const problem = tagProblem(t.Key ?? "", t.Value ?? "")
    if (problem !== undefined) p.push(problem)
  }
  if (r.InstanceType === undefined) {
    if (r.Cpu === undefined || r.Memory === undefined || !isSupportedSpec({ cpu: r.Cpu, memory: r.Memory })) {
      p.push(`unsupported spec ${r.Cpu}/${r.Memory}`)
    } else {
      // Exact in thousandths: the wire amounts have at most 3 decimals.
      const milli = (x: number | undefined) => Math.round((x ?? 0) * 1000)
      const sum = (k: "Cpu" | "Memory") => containers.reduce((a, c) => a + milli(c[k]), 0)
      const maxInit = (k: "Cpu" | "Memory") => Math.max(0, ...inits.map((c) => milli(c[k])))
      if (Math.max(sum("Cpu"), maxInit("Cpu")) > milli(r.Cpu)) p.push("containers' CPU exceeds the instance")
      if (Math.max(sum("Memory"), maxInit("Memory")) > milli(r.Memory)) p.push("containers' memory exceeds the instance")
    }
  }
  const names = new Set<string>()
  for (const c of [...containers, ...inits]) {
    if (names.has(c.Name ?? "")) p.push(`duplicate container ${c.Name}`)
    names.add(c.Name ?? "")
    if ((c.Image ?? "") === "") p.push(`container ${c.Name} without image`)
    if ((c.Arg ?? []).length > 10) p.push(`container ${c.Name} has ${c.Arg?.length} args`)
    for (const m of c.VolumeMount ?? []) {
      if (!volumes.some((v) => v.Name === m.Name)) p.push(`mount of missing volume ${m.Name}`)
    }
  }
  for (const c of containers) {
    for (const probe of [c.LivenessProbe, c.ReadinessProbe]) {
      if (probe === undefined) continue
      const handlers = [probe.Exec, probe.HttpGet, probe.TcpSocket].filter((h) => h !== undefined).length
      if (handlers !== 1) p.push(`probe of ${c.Name} has ${handlers} handlers`)
    }
  }
  const volumeNames = new Set<string>()
  for (const v of volumes) {
    if (volumeNames.has(v.Name ?? "")) p.push(`duplicate volume ${v.Name}`)
    volumeNames.add(v.Name ?? "")
    if (v.Type === "ConfigFileVolume") {
      const files = v.ConfigFileVolume?.ConfigFileToPath ?? []
      if (files.length === 0) p.push(`config volume ${v.Name} without files`)
      if (!octalMode(v.ConfigFileVolume?.DefaultMode)) p.push(`bad default mode ${v.ConfigFileVolume?.DefaultMode}`)
      let total = 0
      for (const f of files) {
        if (!base64.test(f.Content ?? "")) p.push(`content of ${f.Path} is not base64`)
        if (!octalMode(f.Mode)) p.push(`bad mode ${f.Mode}`)
        const size = Buffer.byteLength(f.Content ?? "", "base64")
        total += size
        if (size > MAX_CONFIG_FILE_BYTES) p.push(`file ${f.Path} too large`)
      }
      if (total > MAX_CONFIG_VOLUME_BYTES) p.push(`volume ${v.Name} too large`)
    }
  }
  if ((r.VSwitchId ?? "").split(",").length > 10) p.push("more than 10 vSwitches")
  return p
}
