/**
 * A stand-in for the webhook's Service. In a cluster, kube-apiserver calls the Service and kube-proxy
 * picks a live replica; here it calls one loopback URL, so this TCP forwarder listens on that port and
 * hands each connection to the first replica that accepts it. TLS passes through untouched: the
 * replicas' own certificate (from the Secret they share) is what kube-apiserver verifies. With it,
 * pods are still steered while one replica is down — the HA tests need exactly that.
 */
import * as net from "node:net"
import { Effect, type Scope } from "effect"
import { SandboxError } from "./sandboxError.ts"

export interface WebhookService {
  readonly port: number
  /** The replicas' webhook ports, tried in this order. */
  readonly backends: ReadonlyArray<number>
}

const connectFirst = (ports: ReadonlyArray<number>, onConnected: (s: net.Socket) => void, onNone: () => void): void => {
  const [port, ...rest] = ports
  if (port === undefined) return onNone()
  const upstream = net.connect({ port, host: "127.0.0.1" })
  const refused = () => {
    upstream.destroy()
    connectFirst(rest, onConnected, onNone)
  }
  upstream.once("error", refused)
  upstream.once("connect", () => {
    upstream.off("error", refused)
    onConnected(upstream)
  })
}

/** Listens on a free loopback port until the scope closes. */
export const startWebhookService = (backends: ReadonlyArray<number>): Effect.Effect<WebhookService, SandboxError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: net.Server; readonly sockets: Set<net.Socket> }, SandboxError>((resume) => {
      const sockets = new Set<net.Socket>()
      const track = (s: net.Socket) => {
        sockets.add(s)
        s.once("close", () => sockets.delete(s))
      }
      const server = net.createServer((client) => {
        track(client)
        client.on("error", () => client.destroy())
        client.pause() // hold the ClientHello until a replica is connected
        connectFirst(
          backends,
          (upstream) => {
            track(upstream)
            upstream.on("error", () => client.destroy())
            client.on("close", () => upstream.destroy())
            upstream.on("close", () => client.destroy())
            client.pipe(upstream)
            upstream.pipe(client)
            client.resume()
          },
          () => client.destroy() // no replica up: kube-apiserver sees a failed call (failurePolicy decides)
        )
      })
      server.once("error", (e) => resume(Effect.fail(new SandboxError({ part: "webhook-service", message: e.message }))))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
    }),
    ({ server, sockets }) =>
      Effect.callback<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ server }) => ({ port: (server.address() as net.AddressInfo).port, backends })))
