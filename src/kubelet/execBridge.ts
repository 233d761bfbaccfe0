/**
 * Pipes an exec session between the client (SPDY or WebSocket, as a RemoteCommandClient) and ECI's
 * exec WebSocket (channel protocol, eciExec.ts), both ways, and works out how the command ended.
 *
 * - client stdin → ECI channel 0; the client's EOF → `[255, 0]` (v5's half-close; a v4 peer ignores
 *   channel 255, so it is harmless to send whatever ECI chose);
 * - client resize → ECI channel 4, re-encoded as Go's encoder writes it;
 * - ECI channels 1 and 2 → the client's stdout and stderr (stderr goes to stdout when the client has
 *   no stderr stream: with a tty the terminal merges them, as the kubelet does);
 * - ECI channel 3 → the exit status.
 *
 * Each direction waits for the other side's writes to complete, so a slow client slows ECI down
 * and vice versa. If the client goes away first, the ECI connection is closed, which ends the
 * command in the simulator (whether real ECI kills it is UNCONFIRMED, notes §7).
 */
import { Effect, Fiber, Stream } from "effect"
import type { EciExecConnection } from "./eciExec.ts"
import { type ExecResult, type RemoteCommandClient, resizeMessage, resultFromStatus } from "./remotecommand.ts"

const frame = (channel: number, data: Uint8Array) => {
  const out = new Uint8Array(data.length + 1)
  out[0] = channel
  out.set(data, 1)
  return out
}

const STDIN_EOF = Uint8Array.from([255, 0])

/**
 * Runs the session until ECI closes it (the result) or the client leaves (`undefined`: nobody is
 * left to tell).
 */
export const bridgeExec = (client: RemoteCommandClient, eci: EciExecConnection): Effect.Effect<ExecResult | undefined> =>
  Effect.gen(function*() {
    const pumps: Array<Fiber.Fiber<void>> = []
    if (client.stdin !== undefined) {
      pumps.push(
        yield* Stream.runForEach(client.stdin, (data) => eci.send(frame(0, data))).pipe(
          Effect.andThen(eci.send(STDIN_EOF)),
          Effect.forkChild
        )
      )
    }
    if (client.resize !== undefined) {
      pumps.push(yield* Stream.runForEach(client.resize, (size) => eci.send(frame(4, resizeMessage(size)))).pipe(Effect.forkChild))
    }

    const status: Array<Uint8Array> = []
    const toStdout = client.stdout
    const toStderr = client.stderr ?? client.stdout
    const fromEci = Stream.runForEach(eci.messages, (message) =>
      Effect.suspend(() => {
        // Text is not part of the channel protocol; an empty message is a peer's "ready" signal.
        if (typeof message === "string" || message.length < 2) return Effect.void
        const payload = message.subarray(1)
        switch (message[0]) {
          case 1:
            return toStdout === undefined ? Effect.void : toStdout(payload)
          case 2:
            return toStderr === undefined ? Effect.void : toStderr(payload)
          case 3:
            return Effect.sync(() => {
              status.push(Uint8Array.from(payload))
            })
          default:
            return Effect.void
        }
      })
    ).pipe(
      Effect.andThen(eci.closed),
      Effect.map((close): ExecResult => {
        if (status.length > 0) return resultFromStatus(Buffer.concat(status).toString("utf8"))
        // ECI said nothing about the exit: a clean close is taken as success, as client-go treats an
        // empty error stream.
        if (close.code === 1000) return { _tag: "Exited", code: 0 }
        return { _tag: "Failed", message: `the ECI exec session closed unexpectedly (code ${close.code}${close.reason === "" ? "" : `: ${close.reason}`})` }
      })
    )

    const outcome = yield* Effect.raceFirst(fromEci, Effect.as(client.gone, "gone" as const))
    for (const pump of pumps) yield* Fiber.interrupt(pump)
    if (outcome !== "gone") return outcome
    yield* eci.close(1000)
    return undefined
  })
