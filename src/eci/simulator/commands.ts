/**
 * The simulator's tiny shell: what a container "does" with its Command/Arg, and what an
 * ExecContainerCommand session runs. One interpreter (a generator that yields what it needs from the
 * outside world) and two drivers: `runTimeline` (pure, for container processes: output at offsets
 * from the start, then an exit, an OOM kill or running forever) and the effectful driver in exec.ts
 * (real stdin, sleeps on the simulator's Clock).
 *
 * The language (see README.md, "Command model"):
 * - `;`, newlines, `&&`, `||`; a single `&` is read as `;`; `#` comments; pipes are not supported.
 * - quoting `'…'`, `"…"`, `\x`; expansion of `$VAR`, `${VAR}`, `$?` (no word splitting).
 * - redirections `>&2`, `1>&2`, `2>&1`, `>/dev/null`, `2>/dev/null` (any other target discards).
 * - builtins: echo [-n] [-e], printf, true, false, :, exit [N], sleep N[s|m|h|d]|infinity,
 *   cat [FILE…] (stdin without files), ls [PATH…], hostname, env, printenv [VAR], pwd, whoami,
 *   `sh|bash|ash -c SCRIPT`, interactive `sh` reading commands from stdin, exec CMD…, NAME=VALUE,
 *   and `oom` (allocates until the kernel kills it: OOMKilled, exit 137).
 * - anything else: in a container, a long-running program (nginx, redis, python app.py…) that runs
 *   until killed and prints a log line every few seconds; in exec, `sh: X: not found`, exit 127.
 */

export type StreamName = "stdout" | "stderr"

export interface ShellContext {
  readonly mode: "container" | "exec"
  /** Environment variables in declaration order. */
  readonly env: ReadonlyArray<readonly [string, string]>
  readonly hostname: string
  readonly workingDir: string
  /** Files by absolute path (ConfigFileVolume content at its mount paths). */
  readonly files: ReadonlyMap<string, Uint8Array>
  /** Echo a prompt before each command of an interactive shell (exec with TTY). */
  readonly tty?: boolean
}

/** What the interpreter asks of its driver. `ReadStdin` resumes with a chunk, or null at EOF. */
export type ShellRequest =
  | { readonly _tag: "Write"; readonly stream: StreamName; readonly data: Uint8Array }
  | { readonly _tag: "Sleep"; readonly ms: number }
  | { readonly _tag: "Block"; readonly service: boolean }
  | { readonly _tag: "ReadStdin" }
  | { readonly _tag: "Oom" }

export type Shell = Generator<ShellRequest, number, Uint8Array | null | undefined>

// ---------------------------------------------------------------------------------------------
// Parsing

interface Segment {
  readonly text: string
  readonly expand: boolean
}
type Word = ReadonlyArray<Segment>
type Target = "stdout" | "stderr" | "null"

interface SimpleCommand {
  readonly words: ReadonlyArray<Word>
  readonly stdout: Target
  readonly stderr: Target
}

export interface ScriptItem {
  /** How this command depends on the previous one. */
  readonly connector: ";" | "&&" | "||"
  readonly command: SimpleCommand
}

export type Script = ReadonlyArray<ScriptItem>

export class ShellSyntaxError extends Error {}

export const parseScript = (source: string): Script => {
  const items: Array<ScriptItem> = []
  let words: Array<Word> = []
  let stdout: Target = "stdout"
  let stderr: Target = "stderr"
  let connector: ScriptItem["connector"] = ";"
  let segments: Array<Segment> = []
  let inWord = false
  let i = 0

  const endWord = () => {
    if (inWord) words.push(segments)
    segments = []
    inWord = false
  }
  const endCommand = (next: ScriptItem["connector"]) => {
    endWord()
    if (words.length > 0) items.push({ connector, command: { words, stdout, stderr } })
    else if (next !== ";") throw new ShellSyntaxError(`syntax error near unexpected token \`${next}'`)
    words = []
    stdout = "stdout"
    stderr = "stderr"
    connector = next
  }
  const push = (text: string, expand: boolean) => {
    segments.push({ text, expand })
    inWord = true
  }
  const redirectTarget = (): Target => {
    while (source[i] === " " || source[i] === "\t") i++
    if (source[i] === "&") {
      i++
      const fd = source[i]
      i++
      if (fd === "1") return "stdout"
      if (fd === "2") return "stderr"
      throw new ShellSyntaxError("unsupported redirection")
    }
    let target = ""
    while (i < source.length && !/[\s;&|]/.test(source[i]!)) target += source[i++]
    if (target === "") throw new ShellSyntaxError("syntax error near unexpected token `newline'")
    return "null" // /dev/null and any file: the simulated process has nowhere to keep it
  }

  while (i < source.length) {
    const c = source[i]!
    if (c === "'") {
      const end = source.indexOf("'", i + 1)
      if (end < 0) throw new ShellSyntaxError("unexpected EOF while looking for matching `''")
      push(source.slice(i + 1, end), false)
      i = end + 1
    } else if (c === "\"") {
      let text = ""
      i++
      while (i < source.length && source[i] !== "\"") {
        if (source[i] === "\\" && i + 1 < source.length && "\"\\$`".includes(source[i + 1]!)) {
          // An escaped `$` must not expand: flush what we have as an expanding segment first.
          if (source[i + 1] === "$") {
            push(text, true)
            push("$", false)
            text = ""
          } else text += source[i + 1]
          i += 2
        } else text += source[i++]
      }
      if (i >= source.length) throw new ShellSyntaxError("unexpected EOF while looking for matching `\"'")
      push(text, true)
      i++
    } else if (c === "\\") {
      if (source[i + 1] === "\n") i += 2
      else {
        push(source[i + 1] ?? "", false)
        i += 2
      }
    } else if (c !== "\n" && /\s/.test(c)) {
      endWord()
      i++
    } else if (c === "\n" || c === ";") {
      endCommand(";")
      i++
    } else if (c === "&" && source[i + 1] === "&") {
      endCommand("&&")
      i += 2
    } else if (c === "|" && source[i + 1] === "|") {
      endCommand("||")
      i += 2
    } else if (c === "|") {
      throw new ShellSyntaxError("pipes are not supported by the simulator's shell")
    } else if (c === "&") {
      endCommand(";")
      i++
    } else if (c === "#" && !inWord) {
      while (i < source.length && source[i] !== "\n") i++
    } else if (!inWord && (c === ">" || ((c === "1" || c === "2") && source[i + 1] === ">"))) {
      const fd = c === "2" ? "stderr" : "stdout"
      i += c === ">" ? 1 : 2
      if (source[i] === ">") i++ // append: same as write here
      const target = redirectTarget()
      if (fd === "stdout") stdout = target
      else stderr = target
    } else {
      let text = ""
      // `#` starts a comment only at the start of a word (handled above); `>` inside a word is text.
      while (i < source.length && !/[\s'"\\;&|>]/.test(source[i]!)) text += source[i++]
      if (text === "" && source[i] === ">") text = source[i++]!
      push(text, true)
    }
  }
  if (connector !== ";" && words.length === 0 && !inWord) throw new ShellSyntaxError("syntax error: unexpected end of file")
  endCommand(";")
  return items
}

/** Quote an argv so that `parseScript` gives it back unchanged. */
export const quoteArgv = (argv: ReadonlyArray<string>): string =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(" ")

// ---------------------------------------------------------------------------------------------
// Interpretation

const encoder = new TextEncoder()
const decoder = new TextDecoder()
export const utf8 = (text: string): Uint8Array => encoder.encode(text)
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes)

interface ShellState {
  readonly vars: Map<string, string>
  /** `$0`, `$1`, … of `sh -c SCRIPT NAME ARGS…`. */
  readonly positional: ReadonlyArray<string>
  lastCode: number
  exited: boolean
}

const write = (stream: StreamName, text: string | Uint8Array): ShellRequest => ({
  _tag: "Write",
  stream,
  data: typeof text === "string" ? utf8(text) : text
})

const expandWord = (word: Word, state: ShellState): string =>
  word.map((s) =>
    s.expand
      ? s.text.replace(/\$(\?|#|@|[0-9]|\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
        if (name === "?") return String(state.lastCode)
        if (name === "#") return String(Math.max(0, state.positional.length - 1))
        if (name === "@") return state.positional.slice(1).join(" ")
        if (/^[0-9]$/.test(name)) return state.positional[Number(name)] ?? ""
        const key = name.startsWith("{") ? name.slice(1, -1) : name
        return state.vars.get(key) ?? ""
      })
      : s.text
  ).join("")

/** Route a command's writes through its redirections. */
function* redirect(shell: Shell, command: SimpleCommand): Shell {
  let input: Uint8Array | null | undefined = undefined
  while (true) {
    const step = shell.next(input)
    if (step.done) return step.value
    const req = step.value
    if (req._tag === "Write") {
      const target = req.stream === "stdout" ? command.stdout : command.stderr
      if (target !== "null") input = yield { ...req, stream: target }
      else input = undefined
    } else input = yield req
  }
}

function* runItems(script: Script, ctx: ShellContext, state: ShellState): Shell {
  for (const item of script) {
    if (state.exited) break
    if (item.connector === "&&" && state.lastCode !== 0) continue
    if (item.connector === "||" && state.lastCode === 0) continue
    const argv = item.command.words.map((w) => expandWord(w, state))
    state.lastCode = yield* redirect(runCommand(argv, ctx, state), item.command)
  }
  return state.lastCode
}

/** Run a parsed script; returns the exit code of the last command (or of `exit`). */
export function* runScript(
  script: Script,
  ctx: ShellContext,
  vars?: ReadonlyMap<string, string>,
  positional: ReadonlyArray<string> = ["sh"]
): Shell {
  const state: ShellState = { vars: new Map(vars ?? ctx.env), positional, lastCode: 0, exited: false }
  return yield* runItems(script, ctx, state)
}

/** Run an argv as a container entrypoint or an exec command. An empty argv runs forever. */
export function* runArgv(argv: ReadonlyArray<string>, ctx: ShellContext): Shell {
  if (argv.length === 0) {
    if (ctx.mode === "container") {
      yield { _tag: "Block", service: true }
      return 0
    }
    return 0
  }
  const state: ShellState = { vars: new Map(ctx.env), positional: ["sh"], lastCode: 0, exited: false }
  return yield* runCommand(argv, ctx, state)
}

const parseSleep = (arg: string | undefined): number | "infinity" | undefined => {
  if (arg === "infinity" || arg === "inf") return "infinity"
  const m = /^(\d+(?:\.\d+)?|\.\d+)([smhd]?)$/.exec(arg ?? "")
  if (m === null) return undefined
  const units: Readonly<Record<string, number>> = { "": 1_000, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
  const unit = units[m[2] ?? ""] ?? 1_000
  return Math.round(Number(m[1]) * unit)
}

const echoEscapes: Readonly<Record<string, string>> = { n: "\n", t: "\t", "\\": "\\", r: "\r", a: "\u0007", "0": "" }
const unescapeEcho = (text: string) => text.replace(/\\(n|t|\\|r|a|0)/g, (_, c: string) => echoEscapes[c] ?? c)

const resolvePath = (ctx: ShellContext, path: string) => {
  const absolute = path.startsWith("/") ? path : `${ctx.workingDir.replace(/\/$/, "")}/${path}`
  const parts: Array<string> = []
  for (const p of absolute.split("/")) {
    if (p === "" || p === ".") continue
    if (p === "..") parts.pop()
    else parts.push(p)
  }
  return `/${parts.join("/")}`
}

const listDirectory = (ctx: ShellContext, dir: string): ReadonlyArray<string> | undefined => {
  const prefix = dir === "/" ? "/" : `${dir}/`
  const names = new Set<string>()
  for (const path of ctx.files.keys()) {
    if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split("/")[0]!)
  }
  return names.size === 0 ? undefined : [...names].sort()
}

function* interactiveShell(ctx: ShellContext, state: ShellState): Shell {
  let buffer = ""
  while (!state.exited) {
    if (ctx.tty === true) yield write("stdout", "# ")
    let newline = buffer.indexOf("\n")
    while (newline < 0) {
      const chunk = yield { _tag: "ReadStdin" }
      if (chunk === null || chunk === undefined) {
        if (buffer.trim() !== "") yield* runLine(buffer, ctx, state)
        return state.lastCode
      }
      buffer += fromUtf8(chunk)
      newline = buffer.indexOf("\n")
    }
    const line = buffer.slice(0, newline)
    buffer = buffer.slice(newline + 1)
    yield* runLine(line, ctx, state)
  }
  return state.lastCode
}

function* runLine(line: string, ctx: ShellContext, state: ShellState): Generator<ShellRequest, void, Uint8Array | null | undefined> {
  try {
    const script = parseScript(line)
    yield* runItems(script, ctx, state)
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e
    yield write("stderr", `sh: ${e.message}\n`)
    state.lastCode = 2
  }
}

const shells = new Set(["sh", "bash", "ash", "dash", "zsh"])

function* runCommand(argv: ReadonlyArray<string>, ctx: ShellContext, state: ShellState): Shell {
  const [program = "", ...args] = argv
  const name = program.includes("/") ? program.slice(program.lastIndexOf("/") + 1) : program

  if (argv.every((a) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(a))) {
    for (const a of argv) state.vars.set(a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1))
    return 0
  }

  switch (name) {
    case "echo": {
      let newline = true
      let escapes = false
      let rest = args
      while (rest[0] !== undefined && /^-[neE]+$/.test(rest[0])) {
        if (rest[0].includes("n")) newline = false
        if (rest[0].includes("e")) escapes = true
        rest = rest.slice(1)
      }
      const text = rest.join(" ")
      yield write("stdout", (escapes ? unescapeEcho(text) : text) + (newline ? "\n" : ""))
      return 0
    }
    case "printf": {
      const [format = "", ...values] = args
      let k = 0
      const text = unescapeEcho(format).replace(/%([sd%])/g, (_, f: string) => {
        if (f === "%") return "%"
        const v = values[k++] ?? ""
        return f === "d" ? String(Number.parseInt(v, 10) || 0) : v
      })
      yield write("stdout", text)
      return 0
    }
    case "true":
    case ":":
      return 0
    case "false":
      return 1
    case "exit": {
      const code = args[0] === undefined ? state.lastCode : Number.parseInt(args[0], 10)
      state.exited = true
      if (Number.isNaN(code)) {
        yield write("stderr", `sh: exit: ${args[0]}: numeric argument required\n`)
        return 2
      }
      return ((code % 256) + 256) % 256
    }
    case "sleep": {
      const ms = parseSleep(args[0])
      if (ms === undefined) {
        yield write("stderr", `sleep: invalid time interval '${args[0] ?? ""}'\n`)
        return 1
      }
      if (ms === "infinity") {
        yield { _tag: "Block", service: false }
        return 0
      }
      if (ms > 0) yield { _tag: "Sleep", ms }
      return 0
    }
    case "cat": {
      if (args.length === 0 || (args.length === 1 && args[0] === "-")) {
        while (true) {
          const chunk = yield { _tag: "ReadStdin" }
          if (chunk === null || chunk === undefined) return 0
          yield write("stdout", chunk)
        }
      }
      let code = 0
      for (const a of args) {
        const content = ctx.files.get(resolvePath(ctx, a))
        if (content === undefined) {
          yield write("stderr", `cat: ${a}: ${listDirectory(ctx, resolvePath(ctx, a)) ? "Is a directory" : "No such file or directory"}\n`)
          code = 1
        } else yield write("stdout", content)
      }
      return code
    }
    case "ls": {
      let code = 0
      const paths = args.filter((a) => !a.startsWith("-"))
      for (const p of paths.length === 0 ? ["."] : paths) {
        const path = resolvePath(ctx, p)
        if (ctx.files.has(path)) yield write("stdout", `${p}\n`)
        else {
          const names = listDirectory(ctx, path)
          if (names === undefined && path !== resolvePath(ctx, ".")) {
            yield write("stderr", `ls: cannot access '${p}': No such file or directory\n`)
            code = 2
          } else if (names !== undefined && names.length > 0) yield write("stdout", `${names.join("\n")}\n`)
        }
      }
      return code
    }
    case "hostname":
      yield write("stdout", `${ctx.hostname}\n`)
      return 0
    case "env":
      if (args.length === 0) {
        const lines = [...state.vars].map(([k, v]) => `${k}=${v}\n`).join("")
        if (lines !== "") yield write("stdout", lines)
        return 0
      }
      break
    case "printenv": {
      if (args.length === 0) return yield* runCommand(["env"], ctx, state)
      let code = 0
      for (const a of args) {
        const v = state.vars.get(a)
        if (v === undefined) code = 1
        else yield write("stdout", `${v}\n`)
      }
      return code
    }
    case "pwd":
      yield write("stdout", `${ctx.workingDir}\n`)
      return 0
    case "whoami":
      yield write("stdout", "root\n")
      return 0
    case "oom":
      yield { _tag: "Oom" }
      return 137
    case "exec": {
      const code = args.length === 0 ? 0 : yield* runCommand(args, ctx, state)
      state.exited = true
      return code
    }
  }

  if (shells.has(name)) {
    const dashC = args.indexOf("-c")
    if (dashC >= 0) {
      const source = args[dashC + 1]
      if (source === undefined) {
        yield write("stderr", `${name}: -c: option requires an argument\n`)
        return 2
      }
      let script: Script
      try {
        script = parseScript(source)
      } catch (e) {
        if (!(e instanceof ShellSyntaxError)) throw e
        yield write("stderr", `${name}: ${e.message}\n`)
        return 2
      }
      // A nested shell: its own `exit` and positional parameters, the caller's variables.
      return yield* runScript(script, ctx, state.vars, args.length > dashC + 2 ? args.slice(dashC + 2) : [name])
    }
    return yield* interactiveShell(ctx, { vars: new Map(state.vars), positional: [name], lastCode: 0, exited: false })
  }

  if (ctx.mode === "container") {
    yield { _tag: "Block", service: true }
    return 0
  }
  yield write("stderr", `sh: ${program}: not found\n`)
  return 127
}

// ---------------------------------------------------------------------------------------------
// Pure driver: a container process as a timeline

export interface TimelineLine {
  readonly atMs: number
  readonly stream: StreamName
  readonly text: string
}

export type TimelineEnd =
  | { readonly kind: "exit"; readonly code: number; readonly atMs: number }
  | { readonly kind: "oom"; readonly atMs: number }
  /** Runs until killed. `service`: an unscripted long-running program that logs periodically. */
  | { readonly kind: "forever"; readonly atMs: number; readonly service: boolean }

export interface Timeline {
  readonly lines: ReadonlyArray<TimelineLine>
  readonly end: TimelineEnd
}

const maxSteps = 100_000

/**
 * What a container whose stdin is closed does with `argv`, as offsets from its start. Pure: the
 * same argv and context give the same timeline.
 */
export const runTimeline = (argv: ReadonlyArray<string>, ctx: ShellContext, oomAfterMs: number): Timeline => {
  const lines: Array<TimelineLine> = []
  const partial: Record<StreamName, string> = { stdout: "", stderr: "" }
  let t = 0
  const flush = (stream: StreamName, all: boolean) => {
    const parts = partial[stream].split("\n")
    const rest = parts.pop() ?? ""
    for (const text of parts) lines.push({ atMs: t, stream, text })
    partial[stream] = rest
    if (all && rest !== "") {
      lines.push({ atMs: t, stream, text: rest })
      partial[stream] = ""
    }
  }
  const shell = runArgv(argv, ctx)
  let input: Uint8Array | null | undefined = undefined
  for (let step = 0; step < maxSteps; step++) {
    const next = shell.next(input)
    input = undefined
    if (next.done) {
      flush("stdout", true)
      flush("stderr", true)
      return { lines, end: { kind: "exit", code: next.value, atMs: t } }
    }
    const req = next.value
    switch (req._tag) {
      case "Write":
        partial[req.stream] += fromUtf8(req.data)
        flush(req.stream, false)
        break
      case "Sleep":
        flush("stdout", true)
        flush("stderr", true)
        t += req.ms
        break
      case "ReadStdin":
        input = null // a container's stdin is closed
        break
      case "Block":
        flush("stdout", true)
        flush("stderr", true)
        return { lines, end: { kind: "forever", atMs: t, service: req.service } }
      case "Oom":
        flush("stdout", true)
        flush("stderr", true)
        return { lines, end: { kind: "oom", atMs: t + oomAfterMs } }
    }
  }
  return { lines, end: { kind: "forever", atMs: t, service: false } }
}
