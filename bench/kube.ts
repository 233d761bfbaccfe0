/**
 * The harness's own Kubernetes client: plain HTTPS with the admin client certificate and a keep-alive
 * pool. No client library and no client-side rate limit, so the harness is never what limits a run —
 * what it measures is the kubelet under test and the control plane.
 */
import * as fs from "node:fs"
import * as https from "node:https"

export interface KubeResponse {
  readonly status: number
  readonly body: string
}

export interface Kube {
  readonly server: string
  readonly request: (method: string, path: string, body?: unknown, contentType?: string) => Promise<KubeResponse>
  /** JSON answer of a 2xx request; throws with the body otherwise. */
  readonly json: <T = unknown>(method: string, path: string, body?: unknown, contentType?: string) => Promise<T>
  /** A streaming GET (watch): one parsed JSON object per line to `onEvent`; resolves when the stream ends. */
  readonly stream: (path: string, onEvent: (event: unknown) => void, signal: AbortSignal) => Promise<void>
  readonly close: () => void
}

interface KubeconfigFile {
  readonly clusters: ReadonlyArray<{ readonly cluster: { readonly server: string; readonly "certificate-authority-data": string } }>
  readonly users: ReadonlyArray<{ readonly user: { readonly "client-certificate-data"?: string; readonly "client-key-data"?: string; readonly token?: string } }>
}

/** Reads the JSON kubeconfig src/sandbox/kubeconfig.ts writes (admin: client certificate). */
export const makeKube = (kubeconfigPath: string, maxSockets = 64): Kube => {
  const config = JSON.parse(fs.readFileSync(kubeconfigPath, "utf8")) as KubeconfigFile
  const cluster = config.clusters[0]?.cluster
  const user = config.users[0]?.user
  if (cluster === undefined || user === undefined) throw new Error(`${kubeconfigPath}: no cluster or user`)
  const b64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64"))
  const cert = b64(user["client-certificate-data"])
  const key = b64(user["client-key-data"])
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets,
    ca: b64(cluster["certificate-authority-data"]),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key })
  })
  const url = new URL(cluster.server)
  const headers = (extra: Record<string, string>) => ({
    accept: "application/json",
    "user-agent": "eci-bench",
    ...(user.token === undefined ? {} : { authorization: `Bearer ${user.token}` }),
    ...extra
  })

  const request = (method: string, path: string, body?: unknown, contentType = "application/json") =>
    new Promise<KubeResponse>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = https.request({
        agent, hostname: url.hostname, port: url.port, method, path, timeout: 60_000,
        headers: headers(payload === undefined ? {} : { "content-type": contentType, "content-length": String(Buffer.byteLength(payload)) })
      }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", reject)
      })
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timeout`)))
      req.on("error", reject)
      req.end(payload)
    })

  const json = async <T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> => {
    const r = await request(method, path, body, contentType)
    if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.slice(0, 500)}`)
    return (r.body === "" ? null : JSON.parse(r.body)) as T
  }

  const stream = (path: string, onEvent: (event: unknown) => void, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      // A dedicated connection: a watch holds its socket for minutes and must not starve the pool.
      const req = https.request({
        hostname: url.hostname, port: url.port, method: "GET", path, signal,
        ca: b64(cluster["certificate-authority-data"]),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        headers: headers({})
      }, (res) => {
        if (res.statusCode !== 200) {
          res.resume()
          reject(new Error(`watch ${path}: HTTP ${res.statusCode}`))
          return
        }
        let partial = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          const lines = (partial + chunk).split("\n")
          partial = lines.pop() ?? ""
          for (const line of lines) if (line.trim() !== "") onEvent(JSON.parse(line))
        })
        res.on("end", () => resolve())
        res.on("error", (e) => (signal.aborted ? resolve() : reject(e)))
      })
      req.on("error", (e) => (signal.aborted ? resolve() : reject(e)))
      req.end()
    })

  return { server: cluster.server, request, json, stream, close: () => agent.destroy() }
}

/** Runs `task` over `items` with at most `limit` in flight; results in order. */
export const mapLimit = async <A, B>(items: ReadonlyArray<A>, limit: number, task: (a: A, i: number) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await task(items[i] as A, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
