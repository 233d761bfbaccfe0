/**
 * Readiness probes over loopback HTTP(S) and free-port discovery — a platform edge (node:http, node:net).
 * Polling uses real time through Effect.sleep: these wait for real processes.
 */
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import { type Duration, Effect } from "effect"

export interface ProbeResult {
  readonly status: number
  readonly body: string
}

/**
 * GET `url`; `ca` verifies the server against our cluster CA. Without `ca` the certificate is not
 * checked — only for kube-scheduler/kube-controller-manager, whose loopback health endpoints serve a
 * self-signed certificate made in memory. Network errors become status 0 (not ready yet).
 */
export const probe = (url: string, ca?: string): Effect.Effect<ProbeResult> =>
  Effect.callback<ProbeResult>((resume, signal) => {
    const get = url.startsWith("https:") ? https.get : http.get
    const options: https.RequestOptions = ca === undefined ? { rejectUnauthorized: false, signal } : { ca, signal }
    const req = get(url, { ...options, timeout: 5_000 }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
      res.on("error", () => resume(Effect.succeed({ status: 0, body: "" })))
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (e) => resume(Effect.succeed({ status: 0, body: e.message })))
  })

/** Repeats `check` every `interval` until it returns true. */
export const pollUntil = <E, R>(check: Effect.Effect<boolean, E, R>, interval: Duration.Input = "200 millis") =>
  Effect.gen(function*() {
    while (!(yield* check)) yield* Effect.sleep(interval)
  })

/**
 * One distinct free loopback port per name. All listeners stay open until every port is picked, so the
 * ports differ from each other; another process could still take one before our component binds it
 * (rare: the kernel hands out ephemeral ports round-robin).
 */
export const freePorts = <K extends string>(names: ReadonlyArray<K>): Effect.Effect<Record<K, number>, Error> =>
  Effect.tryPromise({
    try: async () => {
      const servers = await Promise.all(
        names.map(() =>
          new Promise<net.Server>((resolve, reject) => {
            const s = net.createServer()
            s.once("error", reject)
            s.listen(0, "127.0.0.1", () => resolve(s))
          }))
      )
      const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
      return Object.fromEntries(names.map((name, i) => [name, ports[i]])) as Record<K, number>
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })
