/**
 * The remotecommand layer shared by both transports (SPDY streams and WebSocket channels): what an
 * exec session looks like from the client's side, how its outcome is reported, and the resize
 * messages. Protocol facts: exec-streaming-notes §4 (SPDY) and §5 (WebSocket); the status documents
 * are byte-for-byte what the kubelet writes (`json.Marshal(metav1.Status)`, field order included).
 */
import type { Effect, Stream } from "effect"

/** The flags of an exec/attach request (`stdin`, `stdout`, `stderr`, `tty` query parameters). */
export interface StreamOptions {
  readonly stdin: boolean
  readonly stdout: boolean
  readonly stderr: boolean
  readonly tty: boolean
}

export interface TerminalSize {
  readonly width: number
  readonly height: number
}

/** How a command ended, as far as we learned it. */
export type ExecResult =
  | { readonly _tag: "Exited"; readonly code: number }
  | { readonly _tag: "Failed"; readonly message: string }

/**
 * The client's end of a session, whatever carries it. Streams the client did not ask for are
 * undefined. `finish` reports the result, closes every stream and ends the connection.
 */
export interface RemoteCommandClient {
  readonly stdin: Stream.Stream<Uint8Array> | undefined
  readonly resize: Stream.Stream<TerminalSize> | undefined
  readonly stdout: ((data: Uint8Array) => Effect.Effect<void>) | undefined
  readonly stderr: ((data: Uint8Array) => Effect.Effect<void>) | undefined
  readonly finish: (result: ExecResult) => Effect.Effect<void>
  /** Completes when the client goes away before `finish` (RST/GOAWAY/close). */
  readonly gone: Effect.Effect<void>
}

/** `v4.channel.k8s.io` and later report a metav1.Status; older protocols write error text on failure only. */
export type StatusFlavor = "status" | "text"

/** The metav1.Status the kubelet writes on the error stream (v4+), in Go's field order. */
export const statusDocument = (result: ExecResult) => {
  if (result._tag === "Failed") {
    return {
      metadata: {},
      status: "Failure",
      message: `Internal error occurred: ${result.message}`,
      reason: "InternalError",
      details: { causes: [{ message: result.message }] },
      code: 500
    }
  }
  if (result.code === 0) return { metadata: {}, status: "Success" }
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${result.code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(result.code) }] }
  }
}

/** What goes on the error stream/channel; undefined when nothing is written (success on old protocols). */
export const statusBytes = (result: ExecResult, flavor: StatusFlavor): Uint8Array | undefined => {
  if (flavor === "status") return Buffer.from(JSON.stringify(statusDocument(result)), "utf8")
  if (result._tag === "Exited" && result.code === 0) return undefined
  return Buffer.from(statusDocument(result).message ?? "", "utf8")
}

/**
 * The exit code in a Status document an ECI session (or any channel-protocol peer) reported: 0 for
 * Success, N for `NonZeroExitCode`, otherwise a failure carrying the peer's message.
 */
export const resultFromStatus = (text: string): ExecResult => {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return { _tag: "Failed", message: text.trim() === "" ? "the command failed" : text.trim() }
  }
  if (typeof doc !== "object" || doc === null) return { _tag: "Failed", message: text }
  const d = doc as {
    readonly status?: unknown
    readonly reason?: unknown
    readonly message?: unknown
    readonly details?: { readonly causes?: ReadonlyArray<{ readonly reason?: unknown; readonly message?: unknown }> }
  }
  if (d.status === "Success") return { _tag: "Exited", code: 0 }
  if (d.reason === "NonZeroExitCode") {
    const cause = d.details?.causes?.find((c) => c.reason === "ExitCode")
    const code = Number(cause?.message)
    if (Number.isInteger(code) && code >= 0 && code <= 255) return { _tag: "Exited", code }
  }
  return { _tag: "Failed", message: typeof d.message === "string" && d.message !== "" ? d.message : text }
}

/**
 * Resize messages: Go's `json.Encoder` output, `{"Width":120,"Height":40}\n`, one object after
 * another, split across or packed into frames arbitrarily. Returns the complete objects and the
 * unconsumed rest. Objects that are not sizes are skipped, as the kubelet's decoder loop would.
 */
export const parseResizeMessages = (buffered: string): { readonly sizes: ReadonlyArray<TerminalSize>; readonly rest: string } => {
  const sizes: Array<TerminalSize> = []
  let depth = 0
  let inString = false
  let escaped = false
  let start = -1
  let consumed = 0
  for (let i = 0; i < buffered.length; i++) {
    const ch = buffered[i]!
    if (inString) {
      if (escaped) escaped = false
      else if (ch === "\\") escaped = true
      else if (ch === "\"") inString = false
      continue
    }
    if (ch === "\"") inString = true
    else if (ch === "{") {
      if (depth === 0) start = i
      depth++
    } else if (ch === "}" && depth > 0) {
      depth--
      if (depth === 0) {
        try {
          const o = JSON.parse(buffered.slice(start, i + 1)) as { readonly Width?: unknown; readonly Height?: unknown }
          if (typeof o.Width === "number" && typeof o.Height === "number") sizes.push({ width: o.Width, height: o.Height })
        } catch {
          // not JSON: skipped
        }
        consumed = i + 1
      }
    } else if (depth === 0) consumed = i + 1
  }
  return { sizes, rest: buffered.slice(consumed) }
}

/** Go's encoding of a size, as we forward it to ECI. */
export const resizeMessage = (size: TerminalSize): Uint8Array => Buffer.from(`${JSON.stringify({ Width: size.width, Height: size.height })}\n`, "utf8")
