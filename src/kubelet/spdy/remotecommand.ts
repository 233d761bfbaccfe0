/**
 * remotecommand over SPDY (exec-streaming-notes §4; kubelet `cri-streaming remotecommand/httpstream.go`):
 * the client opens one stream per `streamtype` — error, stdin, stdout, stderr (not with a tty), resize
 * (v3+, with a tty) — each waiting for our SYN_REPLY; we wait until all expected streams exist (30 s
 * by default, as the kubelet's streamCreationTimeout), then hand them over as a RemoteCommandClient.
 *
 * End of session, in the order tested against spdystream: FIN on stdout/stderr, the status on the
 * error stream with FIN, GOAWAY; the scope's close then ends the socket.
 */
import { Data, Duration, Effect, Option, type Scope, Stream } from "effect"
import { parseResizeMessages, type RemoteCommandClient, statusBytes, type StreamOptions, type TerminalSize } from "../remotecommand.ts"
import type { SpdySession, SpdyStream } from "./session.ts"

/** Protocols we answer over SPDY, preferred first. v5 over SPDY is v4 to client-go, so we answer v4 as the kubelet does. */
export const SPDY_PROTOCOLS = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io"] as const
export type SpdyProtocol = typeof SPDY_PROTOCOLS[number]

/**
 * `httpstream.Handshake`: the first protocol the client offers that we support. The header may be
 * repeated or comma separated. `undefined` when the client offered none we speak.
 */
export const negotiateSpdyProtocol = (offered: ReadonlyArray<string>): SpdyProtocol | undefined => {
  const list = offered.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "")
  for (const p of list) {
    if ((SPDY_PROTOCOLS as ReadonlyArray<string>).includes(p)) return p as SpdyProtocol
    // client-go runs v5 over SPDY exactly as v4.
    if (p === "v5.channel.k8s.io") return "v4.channel.k8s.io"
  }
  return undefined
}

export class StreamCreationTimeout extends Data.TaggedError("StreamCreationTimeout")<{ readonly message: string }> {}

const kinds = ["error", "stdin", "stdout", "stderr", "resize"] as const
type Kind = typeof kinds[number]

export const expectedStreams = (options: StreamOptions, protocol: SpdyProtocol): ReadonlyArray<Kind> => [
  "error",
  ...(options.stdin ? ["stdin" as const] : []),
  ...(options.stdout ? ["stdout" as const] : []),
  ...(options.stderr && !options.tty ? ["stderr" as const] : []),
  ...(options.tty && protocol !== "v2.channel.k8s.io" ? ["resize" as const] : [])
]

const resizeStream = (data: Stream.Stream<Uint8Array>): Stream.Stream<TerminalSize> =>
  data.pipe(
    Stream.mapAccum(() => "", (rest, chunk) => {
      const parsed = parseResizeMessages(rest + Buffer.from(chunk).toString("utf8"))
      return [parsed.rest, parsed.sizes]
    })
  )

/**
 * Waits for the client's streams and returns the client's end of the session. Streams we do not
 * use (an unknown type, a duplicate) are drained so they never hold up the connection.
 */
export const acceptSpdyClient = (
  session: SpdySession,
  options: StreamOptions,
  protocol: SpdyProtocol,
  timeout: Duration.Input = Duration.seconds(30)
): Effect.Effect<RemoteCommandClient, StreamCreationTimeout, Scope.Scope> =>
  Effect.gen(function*() {
    const wanted = new Set<Kind>(expectedStreams(options, protocol))
    const got = new Map<Kind, SpdyStream>()
    const drain = (s: SpdyStream) => Effect.forkScoped(Stream.runDrain(s.data))
    const collect = Effect.gen(function*() {
      while (got.size < wanted.size) {
        const next = yield* session.nextStream.pipe(Effect.option)
        if (Option.isNone(next)) {
          return yield* new StreamCreationTimeout({ message: "the client ended the connection before creating its streams" })
        }
        const s = next.value
        const kind = s.header("streamtype") as Kind | undefined
        if (kind !== undefined && wanted.has(kind) && !got.has(kind)) got.set(kind, s)
        else yield* drain(s)
      }
    })
    yield* collect.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(new StreamCreationTimeout({ message: "timed out waiting for client to create streams" }))
      })
    )
    // Nothing comes from the client on these; read them anyway so their frames never back up.
    for (const kind of ["error", "stdout", "stderr"] as const) {
      const s = got.get(kind)
      if (s !== undefined) yield* drain(s)
    }
    const stdout = got.get("stdout")
    const stderr = got.get("stderr")
    const error = got.get("error")!
    const resize = got.get("resize")
    const flavor = protocol === "v4.channel.k8s.io" ? "status" as const : "text" as const
    return {
      stdin: got.get("stdin")?.data,
      resize: resize === undefined ? undefined : resizeStream(resize.data),
      stdout: stdout === undefined ? undefined : stdout.write,
      stderr: stderr === undefined ? undefined : stderr.write,
      finish: (result) =>
        Effect.gen(function*() {
          if (stdout !== undefined) yield* stdout.closeWrite
          if (stderr !== undefined) yield* stderr.closeWrite
          const bytes = statusBytes(result, flavor)
          if (bytes !== undefined) yield* error.write(bytes)
          yield* error.closeWrite
          yield* session.goAway
        }),
      gone: Effect.asVoid(session.ended)
    } satisfies RemoteCommandClient
  })
