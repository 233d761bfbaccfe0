/**
 * Summarises V8 `.cpuprofile` files (node --cpu-prof) by where self time went: per package under
 * node_modules, per file of ours, or the runtime's own categories (GC, idle, program).
 */
import * as fs from "node:fs"
import * as path from "node:path"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string }
  readonly hitCount?: number
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

const bucketOf = (n: ProfileNode): string => {
  const url = n.callFrame.url
  if (url === "") return `(${n.callFrame.functionName || "native"})`
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1] as string
  if (url.startsWith("node:")) return url
  const src = /\/(src|bench)\/(.*)$/.exec(url)
  return src !== null ? `${src[1]}/${src[2]}` : url
}

/** Self time (ms) per bucket, largest first, over every profile in `dir`. */
export const summariseCpuProfiles = (dir: string, top = 15): Array<readonly [string, number]> => {
  const totals = new Map<string, number>()
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!f.endsWith(".cpuprofile")) continue
    const p = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Profile
    const byId = new Map(p.nodes.map((n) => [n.id, n]))
    const samples = p.samples ?? []
    const deltas = p.timeDeltas ?? []
    samples.forEach((id, i) => {
      const node = byId.get(id)
      if (node === undefined) return
      const b = bucketOf(node)
      totals.set(b, (totals.get(b) ?? 0) + (deltas[i] ?? 0) / 1000)
    })
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
}
