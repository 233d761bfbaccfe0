/**
 * `GET /containerLogs/{ns}/{pod}/{container}` on top of DescribeContainerLog (eci-reference §1.7),
 * which returns one string per call — at most `Tail` ≤ 2000 lines and `LimitBytes` ≤ 1 MiB, after
 * `StartTime` — and has no follow. So:
 *
 * - the query is parsed and validated as the kubelet does (PodLogOptions; bools as the API
 *   machinery converts them: anything but "0"/"false" is true);
 * - we always ask ECI for timestamps, filter `since` exactly ourselves (ECI's StartTime is taken to
 *   the second), apply `limitBytes` to the whole response, and strip the timestamps unless asked for;
 * - `follow` polls. Each poll asks from the second of the last line seen; lines at or before the
 *   cursor (the last timestamp and the lines already emitted with it) are dropped, so nothing
 *   repeats, and because the window always overlaps the cursor nothing is lost — unless more than
 *   ECI's 2000 lines / 1 MiB arrive between two polls, which the poller detects, logs and shortens
 *   its interval for (ECI offers no way to page back).
 * - polls are paced (fast after new lines, backing off while idle) and go through the ECI client's
 *   token bucket for DescribeContainerLog (500/min for the account), so followers wait rather than
 *   being refused. Follow ends when the container is no longer running (after one last poll) or the
 *   client goes away.
 *
 * Limits: ECI caps a request at 2000 lines, so `--tail` above 2000 (or no `--tail`) returns at most
 * the last 2000 lines; stdout and stderr are not separated (`stream` other than All is refused).
 */
import { Duration, Effect, Stream } from "effect"
import type { DescribeContainerLogRequest } from "../eci/api.generated.ts"
import { Eci } from "../eci/Eci.ts"
import { badRequest, fromEciError, type KubeletHttpError } from "./errors.ts"

export const ECI_MAX_TAIL = 2000
export const ECI_MAX_BYTES = 1_048_576

export interface LogOptions {
  readonly tailLines?: number
  readonly limitBytes?: number
  /** Epoch milliseconds: only lines at or after it. From sinceSeconds (relative to now) or sinceTime. */
  readonly sinceMs?: number
  readonly timestamps: boolean
  readonly follow: boolean
  readonly previous: boolean
}

/** `runtime.Convert_Slice_string_To_bool`: absent is false; "0" and "false" (any case) are false; the rest is true. */
const flag = (params: URLSearchParams, name: string): boolean => {
  const v = params.get(name)
  if (v === null) return false
  return !(v === "0" || v.toLowerCase() === "false")
}

const integer = (params: URLSearchParams, name: string): number | undefined | KubeletHttpError => {
  const v = params.get(name)
  if (v === null) return undefined
  if (!/^[+-]?\d+$/.test(v.trim())) return badRequest(`${name}: Invalid value: "${v}": must be an integer`)
  return Number(v.trim())
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** PodLogOptions from the query, validated (`ValidatePodLogOptions`); `nowMs` resolves sinceSeconds. */
export const parseLogQuery = (params: URLSearchParams, nowMs: number): LogOptions | KubeletHttpError => {
  const query = new URLSearchParams(params)
  // The kubelet's compatibility with the old `tail` parameter; "all" means no limit.
  const tail = query.get("tail")
  if (tail !== null && tail !== "") {
    if (tail === "all") query.delete("tailLines")
    else query.set("tailLines", tail)
  }
  const tailLines = integer(query, "tailLines")
  const limitBytes = integer(query, "limitBytes")
  const sinceSeconds = integer(query, "sinceSeconds")
  for (const v of [tailLines, limitBytes, sinceSeconds]) if (typeof v === "object") return v
  const sinceTime = query.get("sinceTime")
  if (tailLines !== undefined && (tailLines as number) < 0) return badRequest(`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`)
  if (limitBytes !== undefined && (limitBytes as number) < 1) return badRequest(`limitBytes: Invalid value: ${limitBytes}: must be greater than 0`)
  if (sinceSeconds !== undefined && sinceTime !== null) return badRequest("at most one of `sinceTime` or `sinceSeconds` may be specified")
  if (sinceSeconds !== undefined && (sinceSeconds as number) < 1) return badRequest(`sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`)
  let sinceMs: number | undefined
  if (sinceSeconds !== undefined) sinceMs = nowMs - (sinceSeconds as number) * 1000
  if (sinceTime !== null) {
    const t = RFC3339.test(sinceTime) ? Date.parse(sinceTime) : Number.NaN
    if (!Number.isFinite(t)) return badRequest(`sinceTime: Invalid value: "${sinceTime}": must be an RFC 3339 time such as 2024-01-02T15:04:05Z`)
    sinceMs = t
  }
  const stream = query.get("stream")
  if (stream !== null && stream !== "All") {
    return badRequest(`unable to return the given log stream: "${stream}": ECI does not keep stdout and stderr apart`)
  }
  return {
    ...(tailLines === undefined ? {} : { tailLines: tailLines as number }),
    ...(limitBytes === undefined ? {} : { limitBytes: limitBytes as number }),
    ...(sinceMs === undefined ? {} : { sinceMs }),
    timestamps: flag(query, "timestamps"),
    follow: flag(query, "follow"),
    previous: flag(query, "previous")
  }
}

/** One line of a timestamped log: `<RFC3339Nano> <text>`; `text` keeps its newline (the last line may lack one). */
export interface LogLine {
  readonly stamp: string
  /** Nanoseconds since the epoch; undefined when the line carries no timestamp we can read. */
  readonly at: bigint | undefined
  readonly text: string
}

/** RFC 3339 (with up to nanosecond fractions) to epoch nanoseconds. */
export const parseStamp = (stamp: string): bigint | undefined => {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(stamp)
  if (m === null) return undefined
  const seconds = Date.parse(`${m[1]}${m[3]}`)
  if (!Number.isFinite(seconds)) return undefined
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"))
}

/** Splits ECI's `Content` (asked for with Timestamps=true) into lines. */
export const splitLogLines = (content: string): ReadonlyArray<LogLine> => {
  const lines: Array<LogLine> = []
  let at = 0
  while (at < content.length) {
    const nl = content.indexOf("\n", at)
    const end = nl === -1 ? content.length : nl + 1
    const raw = content.slice(at, end)
    const space = raw.indexOf(" ")
    const stamp = space === -1 ? "" : raw.slice(0, space)
    const parsed = space === -1 ? undefined : parseStamp(stamp)
    lines.push(parsed === undefined ? { stamp: "", at: undefined, text: raw } : { stamp, at: parsed, text: raw.slice(space + 1) })
    at = end
  }
  return lines
}

export const renderLine = (line: LogLine, timestamps: boolean): string =>
  timestamps && line.stamp !== "" ? `${line.stamp} ${line.text}` : line.text

/** Where a follower stands: the newest timestamp emitted and the lines emitted with exactly it. */
export interface LogCursor {
  readonly at: bigint
  readonly seen: ReadonlyArray<string>
}

/**
 * The lines of a poll that come after the cursor, and the cursor after them. ECI's log is in time
 * order; lines sharing the cursor's timestamp are matched one for one against those already emitted.
 * A line without a readable timestamp counts as having its predecessor's.
 */
export const advance = (
  cursor: LogCursor | undefined,
  lines: ReadonlyArray<LogLine>
): { readonly fresh: ReadonlyArray<LogLine>; readonly cursor: LogCursor | undefined } => {
  const fresh: Array<LogLine> = []
  let next = cursor
  let matched = 0
  let prev: bigint | undefined = undefined
  for (const line of lines) {
    const at: bigint | undefined = line.at ?? prev ?? cursor?.at
    prev = at
    if (at === undefined) {
      fresh.push(line)
      continue
    }
    if (cursor !== undefined && at < cursor.at) continue
    if (cursor !== undefined && at === cursor.at && matched < cursor.seen.length) {
      matched++
      continue
    }
    fresh.push(line)
    next = next !== undefined && next.at === at ? { at, seen: [...next.seen, line.text] } : { at, seen: [line.text] }
  }
  return { fresh, cursor: next }
}

/** ECI's StartTime: RFC 3339 UTC to the second, rounded down so the window always covers the cursor. */
export const eciStartTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")

const cursorMs = (c: LogCursor) => Number(c.at / 1_000_000n)

export interface LogSource {
  readonly groupId: string
  readonly container: string
  /** ECI's LastTime: the previous run (`kubectl logs -p`, or a container waiting after a crash). */
  readonly lastTime: boolean
}

export interface FollowOptions {
  /** Pause after a poll that found new lines (default 1 s). */
  readonly minInterval?: Duration.Input
  /** Longest pause while the log is quiet (default 8 s): the interval doubles up to it. */
  readonly maxInterval?: Duration.Input
  /** Whether the container still runs; follow stops (after one last poll) once it does not. */
  readonly stillRunning: Effect.Effect<boolean>
}

const fetch = (source: LogSource, request: Partial<DescribeContainerLogRequest>) =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const response = yield* eci.call("DescribeContainerLog", {
      ContainerGroupId: source.groupId,
      ContainerName: source.container,
      Timestamps: true,
      LimitBytes: ECI_MAX_BYTES,
      ...(source.lastTime ? { LastTime: true } : {}),
      ...request
    }).pipe(Effect.mapError((e) => fromEciError(e, `reading the log of container ${source.container}`)))
    const content = response.Content ?? ""
    const lines = splitLogLines(content)
    const truncated = Buffer.byteLength(content, "utf8") >= ECI_MAX_BYTES
    // A byte-truncated answer may end inside a line: that line comes whole with the next poll.
    const complete = truncated && lines.length > 0 && !lines.at(-1)!.text.endsWith("\n") ? lines.slice(0, -1) : lines
    return { lines: complete, full: truncated || lines.length >= (request.Tail ?? ECI_MAX_TAIL) }
  })

/** Applies `limitBytes` across the whole response, cutting the last chunk and ending there, as the kubelet's LimitWriter does. */
const limitBytes = (limit: number | undefined) => <E, R>(chunks: Stream.Stream<string, E, R>): Stream.Stream<Uint8Array, E, R> => {
  const bytes = chunks.pipe(Stream.map((s): Uint8Array => Buffer.from(s, "utf8")))
  if (limit === undefined) return bytes
  return bytes.pipe(
    Stream.mapAccum(() => limit, (left, b) => {
      const cut = b.subarray(0, left)
      return [left - cut.length, [{ cut, left: left - cut.length }]] as const
    }),
    Stream.takeUntil((c) => c.left <= 0),
    Stream.map((c) => c.cut),
    Stream.filter((b) => b.length > 0)
  )
}

/**
 * The response body: the selected lines, then (with follow) new lines as they appear. The stream
 * fails with a KubeletHttpError only before its first chunk; later ECI failures end it (the client
 * has its 200 already) after a log line.
 */
export const containerLogStream = (
  source: LogSource,
  options: LogOptions,
  follow: FollowOptions
): Effect.Effect<Stream.Stream<Uint8Array, never, Eci>, KubeletHttpError, Eci> =>
  Effect.gen(function*() {
    const tail = Math.min(options.tailLines ?? ECI_MAX_TAIL, ECI_MAX_TAIL)
    const sinceNs = options.sinceMs === undefined ? undefined : BigInt(Math.ceil(options.sinceMs)) * 1_000_000n
    const afterSince = (lines: ReadonlyArray<LogLine>) =>
      sinceNs === undefined ? lines : lines.filter((l) => l.at === undefined || l.at >= sinceNs)
    const render = (lines: ReadonlyArray<LogLine>) => lines.map((l) => renderLine(l, options.timestamps)).join("")

    // With --tail=0 nothing is printed, but the newest line still fixes where following starts.
    const first = yield* fetch(source, {
      Tail: Math.max(1, tail),
      ...(options.sinceMs === undefined ? {} : { StartTime: eciStartTime(options.sinceMs) })
    })
    const selected = afterSince(first.lines).slice(-Math.max(1, tail))
    const initial = tail === 0 ? [] : selected
    const start = advance(undefined, selected)
    const head = Stream.make(render(initial))
    if (!options.follow || options.previous) return head.pipe(Stream.filter((s) => s !== ""), limitBytes(options.limitBytes))

    const minMs = Duration.toMillis(Duration.fromInputUnsafe(follow.minInterval ?? Duration.seconds(1)))
    const maxMs = Duration.toMillis(Duration.fromInputUnsafe(follow.maxInterval ?? Duration.seconds(8)))
    interface State {
      readonly cursor: LogCursor | undefined
      readonly delayMs: number
      readonly done: boolean
    }
    const poll = (state: State) =>
      Effect.gen(function*() {
        if (state.done) return undefined
        yield* Effect.sleep(Duration.millis(state.delayMs))
        // Asked before the poll: every line written before the container stopped is in this poll.
        const running = yield* follow.stillRunning
        const since = state.cursor === undefined ? options.sinceMs : cursorMs(state.cursor)
        const got = yield* fetch(source, { Tail: ECI_MAX_TAIL, ...(since === undefined ? {} : { StartTime: eciStartTime(since) }) })
        const { fresh, cursor } = advance(state.cursor, afterSince(got.lines))
        const firstAt = got.lines[0]?.at
        if (got.full && state.cursor !== undefined && firstAt !== undefined && firstAt > state.cursor.at) {
          yield* Effect.logWarning("log lines may have been skipped: more were written between two polls than ECI returns in one answer").pipe(
            Effect.annotateLogs({ containerGroupId: source.groupId, container: source.container })
          )
        }
        const delayMs = got.full ? 0 : fresh.length > 0 ? minMs : Math.min(maxMs, Math.max(minMs, state.delayMs * 2))
        return [render(fresh), { cursor, delayMs, done: !running }] as const
      }).pipe(
        Effect.catch((e: KubeletHttpError) =>
          Effect.logWarning("log follow stopped").pipe(
            Effect.annotateLogs({ containerGroupId: source.groupId, container: source.container, error: e.message }),
            Effect.as(undefined)
          )
        )
      )
    const rest = Stream.unfold<State, string, never, Eci>({ cursor: start.cursor, delayMs: minMs, done: false }, poll)
    return Stream.concat(head, rest).pipe(Stream.filter((s) => s !== ""), limitBytes(options.limitBytes))
  })
