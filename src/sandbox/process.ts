/**
 * Child processes for the local control plane — a platform edge (node:child_process, signals).
 *
 * Long-running components run in their own process group (`detached: true`), so Ctrl-C in a terminal
 * does not hit them half-way through a graceful shutdown, and one `process.kill(-pid)` stops the
 * component with anything it forked. Three layers make sure none outlives us:
 *  1. the scope: `spawnComponent` is an `acquireRelease`; closing the scope sends SIGTERM to the group,
 *     then SIGKILL after a grace period;
 *  2. `process.on("exit")`: kills groups still registered when Node exits without closing the scope;
 *  3. a reaper: one small bash process outside our group whose stdin is a pipe from us. When we die in
 *     any way — even SIGKILL, or a test runner killing its worker — the pipe closes and it SIGKILLs
 *     every group still registered. We deliberately install no SIGINT handler: the host (NodeRuntime
 *     runMain in cluster.ts, or vitest) owns signals; if it handles them the scope closes (1), if it
 *     dies from them the reaper (3) cleans up.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { Effect, type Scope } from "effect"
import { ControlPlaneError } from "./errors.ts"

export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Component {
  readonly name: string
  readonly pid: number
  readonly logPath: string
  /** Completes when the process exits (never fails). */
  readonly awaitExit: Effect.Effect<ExitInfo>
  /** Whether the process has exited yet. */
  readonly hasExited: Effect.Effect<boolean>
}

// ---- process-wide safety nets (module state is deliberate: there is one Node process to protect) ----

const liveGroups = new Set<number>()
let reaper: ChildProcess | undefined

const REAPER_SCRIPT = `
declare -A groups
while read -r op pgid; do
  if [[ $op == "+" ]]; then groups[$pgid]=1; else unset "groups[$pgid]"; fi
done
for pgid in "\${!groups[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null; done
`

const tellReaper = (line: string): void => {
  if (reaper === undefined) {
    reaper = spawn("bash", ["-c", REAPER_SCRIPT], { detached: true, stdio: ["pipe", "ignore", "ignore"] })
    reaper.on("error", () => {}) // no bash: the other two layers still apply
    reaper.stdin?.on("error", () => {})
    reaper.unref() // the reaper must never keep Node alive
    ;(reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.()
    process.on("exit", () => {
      for (const pgid of liveGroups) killGroup(pgid, "SIGKILL")
    })
  }
  reaper.stdin?.write(`${line}\n`)
}

const killGroup = (pgid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false // ESRCH: the group is already gone
  }
}

/** True while any process of the group `pgid` is alive (signal 0 only checks). */
export const groupAlive = (pgid: number): boolean => killGroup(pgid, 0)

/** The last `lines` lines of a log file, for error messages. */
export const tailFile = (path: string, lines = 40): string => {
  try {
    const text = fs.readFileSync(path, "utf8")
    return text.split("\n").slice(-lines - 1).join("\n").trimEnd()
  } catch {
    return "(no log)"
  }
}

export interface SpawnOptions {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly logPath: string
  readonly env?: NodeJS.ProcessEnv
  /** Seconds between SIGTERM and SIGKILL on release. */
  readonly stopGraceSeconds?: number
}

/**
 * Starts a long-running component with stdout+stderr written to `logPath`; stops its whole process
 * group when the scope closes.
 */
export const spawnComponent = (options: SpawnOptions): Effect.Effect<Component, ControlPlaneError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => start(options),
      catch: (e) => new ControlPlaneError({ component: options.name, message: `cannot start ${options.command}: ${e}` })
    }),
    (c) => stop(c, options.stopGraceSeconds ?? 5)
  )

const start = (options: SpawnOptions): Component => {
  const fd = fs.openSync(options.logPath, "w") // a fresh log per start
  let child: ChildProcess
  try {
    child = spawn(options.command, [...options.args], {
      detached: true, // own process group: see the module comment
      stdio: ["ignore", fd, fd],
      env: options.env ?? process.env
    })
  } finally {
    fs.closeSync(fd) // the child holds its own copy
  }
  let exitInfo: ExitInfo | undefined
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on("exit", (code, signal) => {
      exitInfo = { code, signal }
      resolve(exitInfo)
    })
    child.on("error", (err) => {
      fs.appendFileSync(options.logPath, `\n[launcher] spawn failed: ${err.message}\n`)
      exitInfo = { code: -1, signal: null }
      resolve(exitInfo)
    })
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`spawn ${options.command} returned no pid (missing binary?)`)
  liveGroups.add(pid)
  tellReaper(`+ ${pid}`)
  return {
    name: options.name,
    pid,
    logPath: options.logPath,
    awaitExit: Effect.promise(() => exited),
    hasExited: Effect.sync(() => exitInfo !== undefined)
  }
}

const stop = (c: Component, graceSeconds: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!(yield* c.hasExited)) {
      killGroup(c.pid, "SIGTERM")
      const exitedInTime = yield* c.awaitExit.pipe(
        Effect.as(true),
        Effect.timeoutOrElse({ duration: `${graceSeconds} seconds`, orElse: () => Effect.succeed(false) })
      )
      if (!exitedInTime) {
        killGroup(c.pid, "SIGKILL")
        yield* c.awaitExit
      }
    }
    // The leader is gone; SIGKILL anything it left in its group, then forget the group.
    if (groupAlive(c.pid)) killGroup(c.pid, "SIGKILL")
    liveGroups.delete(c.pid)
    tellReaper(`- ${c.pid}`)
  })

export interface RunResult {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
}

/**
 * Runs a short command to completion and collects its output. A non-zero exit is a result, not a
 * failure; only failing to start is an error. Interrupting the effect kills the command.
 */
export const runCommand = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly stdin?: string; readonly env?: NodeJS.ProcessEnv; readonly inheritStderr?: boolean } = {}
): Effect.Effect<RunResult, ControlPlaneError> =>
  Effect.callback<RunResult, ControlPlaneError>((resume, signal) => {
    const child = spawn(command, [...args], {
      stdio: ["pipe", "pipe", options.inheritStderr === true ? "inherit" : "pipe"],
      env: options.env ?? process.env,
      signal
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout?.on("data", (b: Buffer) => out.push(b))
    child.stderr?.on("data", (b: Buffer) => err.push(b))
    child.on("error", (e) => {
      if (!signal.aborted) resume(Effect.fail(new ControlPlaneError({ component: command, message: e.message })))
    })
    child.on("close", (code, sig) =>
      resume(Effect.succeed({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        exitCode: code ?? (sig === null ? -1 : 128)
      })))
    child.stdin?.on("error", () => {}) // the command may exit before reading its input
    child.stdin?.end(options.stdin ?? "")
  })
