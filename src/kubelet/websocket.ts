/**
 * remotecommand over WebSocket channels (exec-streaming-notes §5; kubelet `wsstream/conn.go` and
 * cri-streaming `websocket.go`): every message is `[channel][payload]` — 0 stdin (in), 1 stdout,
 * 2 stderr, 3 error/status, 4 resize (in). The base64 protocols send text messages with the channel
 * as an ASCII digit and the payload in standard base64. `v5.channel.k8s.io` adds `[255, ch]`, the
 * client's half-close of channel `ch` (stdin EOF). v4 and v5 report a metav1.Status on channel 3,
 * the older protocols error text on failure only; the session ends with a close frame, code 1000.
 *
 * Used for the 1.36 pass-through (`v5`, when the node declares ExtendWebSocketsToKubelet) and for
 * clients the API server proxies unchanged (v4 and older names, on every version).
 */
import { Cause, Deferred, Effect, Queue, type Scope, Stream } from "effect"
import * as Socket from "effect/socket/Socket"
import { parseResizeMessages, type RemoteCommandClient, type StatusFlavor, statusBytes, type StreamOptions, type TerminalSize } from "./remotecommand.ts"

export interface WebSocketProtocol {
  readonly name: string
  readonly base64: boolean
  readonly status: StatusFlavor
  readonly closeSignal: boolean
}

/** Preferred first: v5, then v4, then the unversioned ones (as the kubelet accepts them). */
export const WEBSOCKET_PROTOCOLS: ReadonlyArray<WebSocketProtocol> = [
  { name: "v5.channel.k8s.io", base64: false, status: "status", closeSignal: true },
  { name: "v4.channel.k8s.io", base64: false, status: "status", closeSignal: false },
  { name: "v4.base64.channel.k8s.io", base64: true, status: "status", closeSignal: false },
  { name: "channel.k8s.io", base64: false, status: "text", closeSignal: false },
  { name: "base64.channel.k8s.io", base64: true, status: "text", closeSignal: false }
]

/** A client that offers no subprotocol gets `channel.k8s.io` framing, as the kubelet's "" entry. */
const unnamed: WebSocketProtocol = { name: "", base64: false, status: "text", closeSignal: false }

/** The subprotocol to answer from the client's offer; `undefined` when it offered only ones we do not speak. */
export const negotiateWebSocketProtocol = (offered: ReadonlyArray<string>): WebSocketProtocol | undefined => {
  const names = offered.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "")
  if (names.length === 0) return unnamed
  return WEBSOCKET_PROTOCOLS.find((p) => names.includes(p.name))
}

/** For `ws`'s `handleProtocols`: the name to echo, or false to answer without one. */
export const selectWebSocketSubprotocol = (offered: ReadonlySet<string>): string | false =>
  negotiateWebSocketProtocol([...offered])?.name || false

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const
const CLOSE_SIGNAL = 255

export const encodeChannelMessage = (protocol: WebSocketProtocol, channel: number, data: Uint8Array): Uint8Array | string => {
  if (protocol.base64) return String.fromCharCode(48 + channel) + Buffer.from(data).toString("base64")
  const out = new Uint8Array(data.length + 1)
  out[0] = channel
  out.set(data, 1)
  return out
}

export type ChannelMessage =
  | { readonly _tag: "Data"; readonly channel: number; readonly data: Uint8Array }
  | { readonly _tag: "Close"; readonly channel: number }
  | { readonly _tag: "Ignored" }
  | { readonly _tag: "ProtocolError"; readonly message: string }

export const decodeChannelMessage = (protocol: WebSocketProtocol, message: Uint8Array | string): ChannelMessage => {
  if (typeof message === "string") {
    if (!protocol.base64 || message.length === 0) return { _tag: "Ignored" }
    return { _tag: "Data", channel: message.charCodeAt(0) - 48, data: Buffer.from(message.slice(1), "base64") }
  }
  if (message.length === 0) return { _tag: "Ignored" }
  if (protocol.closeSignal && message[0] === CLOSE_SIGNAL) {
    return message.length === 2
      ? { _tag: "Close", channel: message[1]! }
      : { _tag: "ProtocolError", message: "a stream close signal must be followed by exactly one channel byte" }
  }
  if (protocol.base64) return { _tag: "Data", channel: message[0]! - 48, data: Buffer.from(Buffer.from(message.subarray(1)).toString("latin1"), "base64") }
  return { _tag: "Data", channel: message[0]!, data: message.subarray(1) }
}

/**
 * Opens the client's end of a session on an upgraded WebSocket. Acquiring the reader completes the
 * handshake; then we send the empty "ready" message on the lowest channel the client reads.
 */
export const acceptWebSocketClient = (
  socket: Socket.Socket,
  protocol: WebSocketProtocol,
  options: StreamOptions
): Effect.Effect<RemoteCommandClient, Socket.SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    // Bounded: a client sending stdin faster than ECI takes it stops being read (TCP backpressure).
    const stdin = yield* Queue.bounded<Uint8Array, Cause.Done>(16)
    const resize = yield* Queue.unbounded<TerminalSize, Cause.Done>()
    const gone = yield* Deferred.make<void>()
    let finished = false
    let resizeText = ""

    const dispatch = (m: ChannelMessage): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        switch (m._tag) {
          case "Ignored":
            return true
          case "ProtocolError":
            yield* Effect.logDebug("WebSocket exec protocol error").pipe(Effect.annotateLogs({ error: m.message }))
            return false
          case "Close":
            if (m.channel === CHANNEL.stdin) yield* Queue.end(stdin)
            if (m.channel === CHANNEL.resize) yield* Queue.end(resize)
            return true
          case "Data":
            if (m.channel === CHANNEL.stdin && options.stdin && m.data.length > 0) yield* Queue.offer(stdin, Uint8Array.from(m.data))
            else if (m.channel === CHANNEL.resize && options.tty) {
              const parsed = parseResizeMessages(resizeText + Buffer.from(m.data).toString("utf8"))
              resizeText = parsed.rest
              for (const size of parsed.sizes) yield* Queue.offer(resize, size)
            }
            return true
        }
      })

    const readLoop = Effect.gen(function*() {
      while (true) {
        const batch = yield* reader.pull.pipe(Effect.catch(() => Effect.succeed(undefined)))
        if (batch === undefined) return
        for (const message of batch) {
          if (!(yield* dispatch(decodeChannelMessage(protocol, message)))) return
        }
      }
    }).pipe(
      Effect.ensuring(Effect.gen(function*() {
        yield* Queue.end(stdin)
        yield* Queue.end(resize)
        if (!finished) yield* Deferred.succeed(gone, undefined)
      }))
    )
    yield* Effect.forkScoped(readLoop)

    const send = (channel: number, data: Uint8Array) => writer.write(encodeChannelMessage(protocol, channel, data)).pipe(Effect.ignore)
    const ready = options.stdout ? CHANNEL.stdout : options.stderr ? CHANNEL.stderr : CHANNEL.error
    yield* send(ready, new Uint8Array(0))

    return {
      stdin: options.stdin ? Stream.fromQueue(stdin) : undefined,
      resize: options.tty ? Stream.fromQueue(resize) : undefined,
      stdout: options.stdout ? (data: Uint8Array) => send(CHANNEL.stdout, data) : undefined,
      // The kubelet ignores stderr with a tty: the terminal merges it into stdout.
      stderr: options.stderr && !options.tty ? (data: Uint8Array) => send(CHANNEL.stderr, data) : undefined,
      finish: (result) =>
        Effect.gen(function*() {
          finished = true
          const bytes = statusBytes(result, protocol.status)
          if (bytes !== undefined) yield* send(CHANNEL.error, bytes)
          yield* writer.write(new Socket.CloseEvent(1000)).pipe(Effect.ignore)
        }),
      gone: Deferred.await(gone)
    } satisfies RemoteCommandClient
  })
