/**
 * The ECI end of an exec session: the WebSocket named by ExecContainerCommand's `WebSocketUri`.
 *
 * ECI's frame format is undocumented (eci-reference §1.8, exec-streaming-notes §7: UNCONFIRMED). We
 * speak the Kubernetes channel protocol to it — what the simulator implements
 * (src/eci/simulator/execWebSocket.ts) and the most plausible guess for the real service: binary
 * `[channel][payload]`, 0 stdin, 1 stdout, 2 stderr, 3 the exit Status, 4 resize; `[255, 0]` ends
 * stdin (v5). We offer v5, v4 and the unversioned name, in that order.
 *
 * Built on `ws` directly rather than Effect's Socket because sending must wait for the data to be
 * flushed (`send`'s callback): that is what gives stdin backpressure towards ECI (`kubectl cp` pipes
 * whole archives through stdin). Incoming messages pause the socket when the consumer lags.
 */
import { WebSocket } from "@effect/platform-node/NodeWS"
import { Cause, Context, Data, Deferred, Duration, Effect, Layer, Queue, type Scope, Stream } from "effect"

export const ECI_EXEC_SUBPROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"] as const

export interface EciExecConnection {
  /** The subprotocol ECI chose ("" when it chose none). */
  readonly protocol: string
  /** Every message ECI sends, in order; ends when the connection closes. */
  readonly messages: Stream.Stream<Uint8Array | string>
  /** How the connection closed; completes once it has. */
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }>
  /** A binary message; waits until it is flushed. Nothing happens once the connection is closing. */
  readonly send: (data: Uint8Array) => Effect.Effect<void>
  readonly close: (code?: number) => Effect.Effect<void>
}

export class EciExecDialError extends Data.TaggedError("EciExecDialError")<{ readonly message: string }> {}

export class EciExecDialer extends Context.Service<EciExecDialer, {
  /** Connects to a WebSocketUri; the connection is closed when the scope closes. */
  readonly dial: (uri: string) => Effect.Effect<EciExecConnection, EciExecDialError, Scope.Scope>
}>()("eci-virtual-node/EciExecDialer") {}

const PAUSE_AT = 64
const RESUME_AT = 16

export const dialEciExec = (uri: string, openTimeout: Duration.Input = Duration.seconds(15)): Effect.Effect<EciExecConnection, EciExecDialError, Scope.Scope> =>
  Effect.gen(function*() {
    const inbound = yield* Queue.unbounded<Uint8Array | string, Cause.Done>()
    const closed = yield* Deferred.make<{ readonly code: number; readonly reason: string }>()
    const ws = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new WebSocket(uri, [...ECI_EXEC_SUBPROTOCOLS], { perMessageDeflate: false }),
        catch: (e) => new EciExecDialError({ message: `cannot open ${redact(uri)}: ${e instanceof Error ? e.message : String(e)}` })
      }),
      (ws) =>
        Effect.sync(() => {
          if (ws.readyState === ws.OPEN) ws.close(1000)
          else if (ws.readyState !== ws.CLOSED) ws.terminate()
        })
    )
    let paused = false
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      Queue.offerUnsafe(inbound, isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString("utf8"))
      if (!paused && Queue.sizeUnsafe(inbound) >= PAUSE_AT) {
        paused = true
        ws.pause()
      }
    })
    ws.on("close", (code: number, reason: Buffer) => {
      Queue.endUnsafe(inbound)
      Deferred.doneUnsafe(closed, Effect.succeed({ code, reason: reason.toString("utf8") }))
    })
    // Errors end in a close event; listening keeps them from crashing the process.
    ws.on("error", () => {})

    yield* Effect.callback<void, EciExecDialError>((resume) => {
      const onOpen = () => {
        cleanup()
        resume(Effect.void)
      }
      const onFail = (e: unknown) => {
        cleanup()
        resume(Effect.fail(new EciExecDialError({ message: `cannot connect to the ECI exec session ${redact(uri)}: ${describe(e)}` })))
      }
      const onResponse = (_req: unknown, res: { readonly statusCode?: number }) => {
        cleanup()
        resume(Effect.fail(new EciExecDialError({ message: `the ECI exec session ${redact(uri)} refused the connection (HTTP ${res.statusCode ?? "?"})` })))
      }
      const cleanup = () => {
        ws.off("open", onOpen)
        ws.off("error", onFail)
        ws.off("unexpected-response", onResponse)
      }
      ws.once("open", onOpen)
      ws.once("error", onFail)
      ws.once("unexpected-response", onResponse)
      return Effect.sync(cleanup)
    }).pipe(
      Effect.timeoutOrElse({
        duration: openTimeout,
        orElse: () => Effect.fail(new EciExecDialError({ message: `no answer from the ECI exec session ${redact(uri)} within ${Duration.format(Duration.fromInputUnsafe(openTimeout))}` }))
      })
    )

    const take = Queue.take(inbound).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          if (paused && Queue.sizeUnsafe(inbound) <= RESUME_AT) {
            paused = false
            ws.resume()
          }
        })
      )
    )

    return {
      protocol: ws.protocol,
      messages: Stream.fromEffectRepeat(take),
      closed: Deferred.await(closed),
      send: (data) =>
        Effect.callback<void>((resume) => {
          if (ws.readyState !== ws.OPEN) return resume(Effect.void)
          ws.send(data, { binary: true }, () => resume(Effect.void))
        }),
      close: (code = 1000) => Effect.sync(() => {
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code)
      })
    } satisfies EciExecConnection
  })

/** The session token in the query is a credential: keep it out of messages and logs. */
const redact = (uri: string) => uri.replace(/([?&]s=)[^&]+/, "$1…").replace(/\/exec\/[^/?]+$/, "/exec/…")

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

export const EciExecDialerLive: Layer.Layer<EciExecDialer> = Layer.succeed(EciExecDialer, EciExecDialer.of({ dial: (uri) => dialEciExec(uri) }))
