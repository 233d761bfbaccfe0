/**
 * One replica of the product as a child process: `node src/main.ts run <flags>`, the way a Pod would
 * run it, with its stdout+stderr (JSON log lines) in a file per start and parsed into memory on
 * demand. Ready means its own `GET /readyz` on the metrics port answers 200. Tests stop it with
 * SIGTERM (graceful: leadership released, server drained) or SIGKILL (a crash: nothing runs), and
 * start it again with the same flags and ports, as a restarted Pod would be.
 *
 * The process runs in its own process group through process.ts, so the scope, the exit handler and
 * the reaper stop it however the host ends.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { StringDecoder } from "node:string_decoder"
import { type Duration, Effect, Exit, Scope, Semaphore } from "effect"
import { settings } from "../config/settings.ts"
import { pollUntil, probe, type ProbeResult } from "./probe.ts"
import { type Component, type ExitInfo, spawnComponent, tailFile } from "./process.ts"
import { nodeBinary, repoPath } from "./repo.ts"
import { SandboxError } from "./sandboxError.ts"

export interface VirtualNodeOptions {
  /** Names the replica's log files (`<id>.log`, `<id>.2.log` after a restart, …). */
  readonly id: string
  /** Everything after `run`; the sandbox builds them (sandbox.ts). */
  readonly args: ReadonlyArray<string>
  /** The `--metrics-port` in `args`: where `/readyz` is probed. */
  readonly metricsPort: number
  readonly logDir: string
  /** Added to the environment (the host's own product settings are removed first). */
  readonly env?: Readonly<Record<string, string>>
  /**
   * What Node runs, relative to the repository: `src/main.ts` (default, the TypeScript through type
   * stripping) or a build of it, e.g. `dist/eci-virtual-node.mjs` (`npm run bundle`, what the image runs).
   */
  readonly entry?: string
  /** Seconds `start` waits for `/readyz`. Default 60. */
  readonly readyTimeoutSeconds?: number
  /** Seconds between SIGTERM and SIGKILL when stopping gracefully. Default 30. */
  readonly stopGraceSeconds?: number
}

export interface LogLine {
  /** Which start of the process wrote it (1, then 2 after a restart, …). */
  readonly start: number
  readonly text: string
  /** The parsed line when it is a JSON object (the product's `--log-format json`), else undefined. */
  readonly json: Readonly<Record<string, unknown>> | undefined
}

export type StopSignal = "SIGTERM" | "SIGKILL"

export interface VirtualNodePorts {
  /** The kubelet API (HTTPS): logs, exec, stats. */
  readonly kubelet: number
  /** The steering webhook (HTTPS). */
  readonly webhook: number
  /** /metrics, /healthz, /readyz (HTTP). */
  readonly metrics: number
}

/** The value of `--name v` or `--name=v` in `args` (the last one wins, as in the CLI), else the setting's default. */
export const flagValue = (args: ReadonlyArray<string>, name: string): string | undefined => {
  let value: string | undefined
  args.forEach((a, i) => {
    if (a === `--${name}`) value = args[i + 1]
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3)
  })
  const fallback = settings.find((s) => s.flag === name)?.default
  return value ?? (fallback === "required" ? undefined : fallback)
}

export interface VirtualNode {
  readonly id: string
  readonly args: ReadonlyArray<string>
  /** Its ports, from `args` (or the settings' defaults); the same across restarts. */
  readonly ports: VirtualNodePorts
  /** http://127.0.0.1:<metrics port> */
  readonly metricsUrl: string
  /** The running process's pid, undefined while stopped. */
  readonly pid: Effect.Effect<number | undefined>
  readonly isRunning: Effect.Effect<boolean>
  /** How many times it has been started. */
  readonly starts: Effect.Effect<number>
  /** Starts it unless it runs; by default waits for `/readyz` (and fails, stopping it, if it exits first). */
  readonly start: (options?: { readonly waitReady?: boolean }) => Effect.Effect<void, SandboxError>
  /** Waits until the running process answers `/readyz` 200. */
  readonly awaitReady: Effect.Effect<void, SandboxError>
  /**
   * Stops it and returns how it exited (undefined if it was not running). SIGTERM waits up to the
   * grace period, then SIGKILLs; SIGKILL kills the process group at once.
   */
  readonly stop: (signal?: StopSignal) => Effect.Effect<ExitInfo | undefined>
  /** stop(signal) then start(). */
  readonly restart: (signal?: StopSignal) => Effect.Effect<void, SandboxError>
  /** Completes when the current process exits on its own or is stopped; undefined if none runs. */
  readonly awaitExit: Effect.Effect<ExitInfo | undefined>
  /** How the last process exited; undefined while one runs or before the first start. */
  readonly lastExit: Effect.Effect<ExitInfo | undefined>
  /** Every log line of every start so far, in order. */
  readonly logs: Effect.Effect<ReadonlyArray<LogLine>>
  /** The current (or last) start's log file. */
  readonly logPath: Effect.Effect<string | undefined>
  /** Waits for a log line (from any start) matching `predicate`; fails after `timeout` (default 60 s) with the recent lines. */
  readonly waitForLog: (
    predicate: (line: LogLine) => boolean,
    options?: { readonly timeout?: Duration.Input; readonly description?: string }
  ) => Effect.Effect<LogLine, SandboxError>
  /** GET on the metrics port (`/metrics`, `/healthz`, `/readyz`). Network errors give status 0. */
  readonly get: (path: string) => Effect.Effect<ProbeResult>
}

interface Running {
  readonly component: Component
  readonly scope: Scope.Closeable
  readonly startNo: number
  readonly logPath: string
}

interface LogReader {
  readonly path: string
  readonly start: number
  offset: number
  partial: string
  readonly decoder: StringDecoder
}

const parseLine = (text: string, start: number): LogLine => {
  let json: Record<string, unknown> | undefined
  if (text.startsWith("{")) {
    try {
      const v: unknown = JSON.parse(text)
      if (typeof v === "object" && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>
    } catch {
      // not JSON after all (a stack trace line, a runtime warning): kept as text
    }
  }
  return { start, text, json }
}

/**
 * The environment for the product: ours, minus every variable the product reads as a setting
 * (KUBECONFIG, HOSTNAME → pod name, ECI_* …), so only the flags we pass configure it.
 */
export const productEnv = (extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const setting of settings) for (const name of setting.env) delete env[name]
  return { ...env, ...extra }
}

/** Creates the replica (not started). It is stopped when the enclosing scope closes. */
export const makeVirtualNode = (options: VirtualNodeOptions): Effect.Effect<VirtualNode, never, Scope.Scope> =>
  Effect.gen(function*() {
    const outer = yield* Effect.scope
    const lock = yield* Semaphore.make(1)
    const part = options.id
    const metricsUrl = `http://127.0.0.1:${options.metricsPort}`
    const readyTimeout = options.readyTimeoutSeconds ?? 60
    const env = productEnv(options.env)
    let current: Running | undefined
    let startNo = 0
    let lastExit: ExitInfo | undefined
    const readers: Array<LogReader> = []
    const lines: Array<LogLine> = []

    // Reads what the files gained since the last look; a finished start's last partial line is kept too.
    const refresh = Effect.sync(() => {
      for (const r of readers) {
        let fd: number
        try {
          fd = fs.openSync(r.path, "r")
        } catch {
          continue // not created yet
        }
        try {
          const size = fs.fstatSync(fd).size
          if (size > r.offset) {
            const buf = Buffer.alloc(size - r.offset)
            fs.readSync(fd, buf, 0, buf.length, r.offset)
            r.offset = size
            const parts = (r.partial + r.decoder.write(buf)).split("\n")
            r.partial = parts.pop() ?? ""
            for (const p of parts) if (p.trim() !== "") lines.push(parseLine(p, r.start))
          }
        } finally {
          fs.closeSync(fd)
        }
        if (r.start !== current?.startNo && r.partial !== "") {
          lines.push(parseLine(r.partial, r.start))
          r.partial = ""
        }
      }
      return lines as ReadonlyArray<LogLine>
    })

    const fail = (message: string) => new SandboxError({ part, message })
    const logTail = (logPath: string) => `--- last lines of ${logPath} ---\n${tailFile(logPath)}`

    const running = Effect.gen(function*() {
      return current !== undefined && !(yield* current.component.hasExited)
    })

    // Closing the start's scope runs spawnComponent's release: SIGTERM to the group, grace, SIGKILL.
    const stopUnlocked = (signal: StopSignal): Effect.Effect<ExitInfo | undefined> =>
      Effect.gen(function*() {
        const run = current
        if (run === undefined) return undefined
        if (signal === "SIGKILL" && !(yield* run.component.hasExited)) {
          try {
            process.kill(-run.component.pid, "SIGKILL")
          } catch {
            // already gone
          }
        }
        yield* Scope.close(run.scope, Exit.void)
        const exit = yield* run.component.awaitExit
        current = undefined
        lastExit = exit
        yield* refresh
        return exit
      })

    const awaitReady: Effect.Effect<void, SandboxError> = Effect.suspend(() => {
      const run = current
      if (run === undefined) return Effect.fail(fail("not started"))
      return Effect.raceFirst(
        pollUntil(probe(`${metricsUrl}/readyz`).pipe(Effect.map((r) => r.status === 200)), "200 millis"),
        run.component.awaitExit.pipe(Effect.flatMap((x) =>
          Effect.fail(fail(`exited (code ${x.code}, signal ${x.signal}) before /readyz answered 200\n${logTail(run.logPath)}`))
        ))
      ).pipe(Effect.timeoutOrElse({
        duration: `${readyTimeout} seconds`,
        orElse: () =>
          probe(`${metricsUrl}/readyz`).pipe(Effect.flatMap((last) =>
            Effect.fail(fail(`/readyz not 200 after ${readyTimeout}s (last: ${last.status} ${last.body.trim()})\n${logTail(run.logPath)}`))
          ))
      }))
    })

    const spawn = Effect.gen(function*() {
      if (yield* running) return
      if (current !== undefined) yield* stopUnlocked("SIGTERM") // exited on its own: release its registration
      startNo += 1
      const logPath = path.join(options.logDir, startNo === 1 ? `${options.id}.log` : `${options.id}.${startNo}.log`)
      const scope = yield* Scope.fork(outer)
      const component = yield* spawnComponent({
        name: options.id,
        command: nodeBinary(),
        args: [repoPath(options.entry ?? path.join("src", "main.ts")), "run", ...options.args],
        logPath,
        env,
        stopGraceSeconds: options.stopGraceSeconds ?? 30
      }).pipe(
        Scope.provide(scope),
        Effect.mapError((e) => fail(e.message))
      )
      current = { component, scope, startNo, logPath }
      lastExit = undefined
      readers.push({ path: logPath, start: startNo, offset: 0, partial: "", decoder: new StringDecoder("utf8") })
    })

    const start = (opts: { readonly waitReady?: boolean } = {}) =>
      Effect.gen(function*() {
        yield* lock.withPermits(1)(spawn)
        if (opts.waitReady === false) return
        // A start that never becomes ready is undone, so a failed start leaves nothing running.
        yield* awaitReady.pipe(Effect.tapError(() => lock.withPermits(1)(stopUnlocked("SIGTERM"))))
      })

    const stop = (signal: StopSignal = "SIGTERM") => lock.withPermits(1)(stopUnlocked(signal))

    const waitForLog = (
      predicate: (line: LogLine) => boolean,
      opts: { readonly timeout?: Duration.Input; readonly description?: string } = {}
    ) =>
      Effect.gen(function*() {
        let found: LogLine | undefined
        yield* pollUntil(Effect.map(refresh, (all) => (found = all.find(predicate)) !== undefined), "100 millis")
        return found as LogLine
      }).pipe(
        Effect.timeoutOrElse({
          duration: opts.timeout ?? "60 seconds",
          orElse: () =>
            Effect.flatMap(refresh, (all) =>
              Effect.fail(fail(
                `no log line ${opts.description ?? "matching the predicate"} within ${String(opts.timeout ?? "60 seconds")}; last lines:\n` +
                  all.slice(-30).map((l) => l.text).join("\n")
              )))
        })
      )

    return {
      id: options.id,
      args: options.args,
      ports: {
        kubelet: Number(flagValue(options.args, "kubelet-port")),
        webhook: Number(flagValue(options.args, "webhook-port")),
        metrics: options.metricsPort
      },
      metricsUrl,
      pid: Effect.map(running, (r) => (r ? current?.component.pid : undefined)),
      isRunning: running,
      starts: Effect.sync(() => startNo),
      start,
      awaitReady,
      stop,
      restart: (signal) => Effect.andThen(stop(signal), start()),
      awaitExit: Effect.suspend(() => (current === undefined ? Effect.succeed(lastExit) : current.component.awaitExit)),
      lastExit: Effect.suspend(() => {
        const run = current
        if (run === undefined) return Effect.succeed(lastExit)
        return Effect.flatMap(run.component.hasExited, (done) => (done ? Effect.map(run.component.awaitExit, (x): ExitInfo | undefined => x) : Effect.succeed(undefined)))
      }),
      logs: refresh,
      logPath: Effect.sync(() => current?.logPath ?? readers.at(-1)?.path),
      waitForLog,
      get: (p) => probe(`${metricsUrl}${p.startsWith("/") ? p : `/${p}`}`)
    } satisfies VirtualNode
  })
