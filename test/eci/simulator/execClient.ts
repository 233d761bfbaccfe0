import { WebSocket } from "@effect/platform-node/NodeWS"
import { Effect } from "effect"

/** Test helper: a client of the simulator's exec WebSocket (Kubernetes channel framing). */
export interface Transcript {
  readonly protocol: string
  readonly frames: ReadonlyArray<readonly [channel: number, text: string]>
  readonly closeCode: number
}

/** Connects, sends `input` on stdin then closes stdin, and records everything until the server closes. */
export const execSession = (url: string, input: ReadonlyArray<string>) =>
  Effect.callback<Transcript, Error>((resume) => {
    const frames: Array<readonly [number, string]> = []
    const ws = new WebSocket(url, ["v4.channel.k8s.io", "v5.channel.k8s.io"])
    ws.on("open", () => {
      for (const text of input) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(text)]))
      ws.send(Buffer.from([255, 0]))
    })
    ws.on("message", (data: Buffer) => frames.push([data[0]!, data.subarray(1).toString("utf8")]))
    ws.on("close", (code: number) => resume(Effect.succeed({ protocol: ws.protocol, frames, closeCode: code })))
    ws.on("error", (e: Error) => resume(Effect.fail(e)))
  })

export const channel = (t: Transcript, n: number) => t.frames.filter(([c]) => c === n).map(([, s]) => s).join("")
