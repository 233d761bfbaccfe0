import { Effect } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/** A request as the fake API server saw it. */
export interface Seen {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly contentType: string | undefined
  readonly body: string
}

export type Handler = (req: Seen, res: http.ServerResponse) => void

/** An HTTP server answering with `handler` and a kubeconfig pointing at it, both gone with the scope. */
export const fakeApiServer = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: http.Server; readonly dir: string; readonly kubeconfigPath: string; readonly seen: Array<Seen> }>((resume) => {
      const seen: Array<Seen> = []
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (c: Buffer) => (body += c.toString()))
        req.on("end", () => {
          const url = new URL(req.url ?? "/", "http://localhost")
          const s: Seen = { method: req.method ?? "", path: url.pathname, query: url.searchParams, contentType: req.headers["content-type"], body }
          seen.push(s)
          handler(s, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-live-test-"))
        const kubeconfigPath = path.join(dir, "kubeconfig")
        fs.writeFileSync(kubeconfigPath, JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          // client-node refuses plain HTTP unless TLS verification is explicitly off.
          clusters: [{ name: "fake", cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } }],
          users: [{ name: "u", user: { token: "t" } }],
          contexts: [{ name: "c", context: { cluster: "fake", user: "u" } }],
          "current-context": "c"
        }))
        resume(Effect.succeed({ server, dir, kubeconfigPath, seen }))
      })
    }),
    ({ dir, server }) =>
      Effect.callback<void>((resume) => {
        fs.rmSync(dir, { recursive: true, force: true })
        server.closeAllConnections()
        // Already closed by a test that wanted a refused connection: close() then reports an error.
        server.close(() => resume(Effect.void))
      })
  )
