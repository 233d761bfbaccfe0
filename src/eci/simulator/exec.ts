/**
 * ExecContainerCommand sessions. The API call validates and stores a session under a one-time token
 * and answers with a WebSocketUri naming it; whoever serves that WebSocket (the wire face) opens the
 * session with `EciSimulator.openExec(token)` and gets an `ExecProcess`: a running scripted shell
 * (commands.ts) with streaming stdin, an output stream and an exit code. Sleeps run on the
 * simulator's Clock, so a session can be tested under TestClock.
 */
import { Cause, Clock, Deferred, Duration, Effect, Fiber, Queue, type Scope, Stream } from "effect"
import { fromUtf8, runArgv, type ShellContext, type StreamName, utf8 } from "./commands.ts"

export interface ExecSession {
  readonly token: string
  readonly containerGroupId: string
  readonly containerName: string
  readonly command: ReadonlyArray<string>
  readonly tty: boolean
  /** Stdin=false: the command sees an empty, closed stdin. */
  readonly stdin: boolean
  readonly createdAt: number
  readonly context: ShellContext
}

export interface ExecChunk {
  readonly stream: StreamName
  readonly data: Uint8Array
}

export interface ExecProcess {
  readonly session: ExecSession
  /** stdout and stderr in the order written; ends after the command exits. */
  readonly output: Stream.Stream<ExecChunk>
  readonly writeStdin: (data: Uint8Array | string) => Effect.Effect<void>
  /** End of input (a `cat` finishes, an interactive `sh` exits). */
  readonly closeStdin: Effect.Effect<void>
  /** Waits for the command to exit. */
  readonly exitCode: Effect.Effect<number>
  /** Kill the command (exit code 137) and end the output. */
  readonly kill: Effect.Effect<void>
}

/**
 * Start the session's command. The process lives in the given scope: closing it kills the command.
 */
export const startExec = (session: ExecSession, clock: Clock.Clock): Effect.Effect<ExecProcess, never, Scope.Scope> =>
  Effect.gen(function*() {
    const stdin = yield* Queue.unbounded<Uint8Array, Cause.Done>()
    const output = yield* Queue.unbounded<ExecChunk, Cause.Done>()
    const exit = yield* Deferred.make<number>()
    if (!session.stdin) yield* Queue.end(stdin)

    const finish = (code: number) =>
      Deferred.succeed(exit, code).pipe(Effect.andThen(Queue.end(output)), Effect.asVoid)

    const drive = Effect.gen(function*() {
      const shell = runArgv(session.command, session.context)
      let input: Uint8Array | null | undefined = undefined
      while (true) {
        const step = shell.next(input)
        input = undefined
        if (step.done) return step.value
        const req = step.value
        switch (req._tag) {
          case "Write":
            yield* Queue.offer(output, { stream: req.stream, data: req.data })
            break
          case "Sleep":
            yield* clock.sleep(Duration.millis(req.ms))
            break
          case "ReadStdin":
            input = yield* Queue.take(stdin).pipe(Effect.catchIf(Cause.isDone, () => Effect.succeed(null)))
            break
          case "Block":
            return yield* Effect.never
          case "Oom":
            return 137
        }
      }
    })

    const fiber = yield* drive.pipe(
      Effect.flatMap(finish),
      Effect.onInterrupt(() => finish(137)),
      Effect.forkScoped
    )

    return {
      session,
      output: Stream.fromQueue(output),
      writeStdin: (data) => Queue.offer(stdin, typeof data === "string" ? utf8(data) : data).pipe(Effect.asVoid),
      closeStdin: Queue.end(stdin).pipe(Effect.asVoid),
      exitCode: Deferred.await(exit),
      kill: Fiber.interrupt(fiber)
    } satisfies ExecProcess
  })

/**
 * ExecContainerCommand with Sync=true: run without stdin and answer with the output at once
 * (stdout and stderr merged, reference §1.8). Sleeps are not waited for; a command that would run
 * forever is cut off where it blocks, as ECI's synchronous call would time out.
 */
export const runSync = (command: ReadonlyArray<string>, context: ShellContext): { readonly output: string; readonly exitCode: number } => {
  const shell = runArgv(command, context)
  let text = ""
  let input: Uint8Array | null | undefined = undefined
  for (let step = 0; step < 100_000; step++) {
    const next = shell.next(input)
    input = undefined
    if (next.done) return { output: text, exitCode: next.value }
    const req = next.value
    if (req._tag === "Write") text += fromUtf8(req.data)
    else if (req._tag === "ReadStdin") input = null
    else if (req._tag === "Block") return { output: text, exitCode: 124 }
    else if (req._tag === "Oom") return { output: text, exitCode: 137 }
  }
  return { output: text, exitCode: 124 }
}
