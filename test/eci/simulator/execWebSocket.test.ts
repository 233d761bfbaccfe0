import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { startExec } from "../../../src/eci/simulator/exec.ts"
import { execToken, execUpgradeHandler } from "../../../src/eci/simulator/execWebSocket.ts"
import { makeAccessKeyStore, startWireServer } from "../../../src/eci/simulator/wireServer.ts"
import { channel, execSession } from "./execClient.ts"

const context = { mode: "exec" as const, env: [], hostname: "web-0", workingDir: "/", files: new Map<string, Uint8Array>() }

describe("exec WebSocket sessions", () => {
  it("reads the token from both URI forms", () => {
    assert.strictEqual(execToken("/exec/?s=tok-2"), "tok-2")
    assert.strictEqual(execToken("/exec/tok-1"), "tok-1")
    assert.strictEqual(execToken("/other/tok"), undefined)
  })

  it.live("stdin in, stdout/stderr out on their channels, then the exit status and close 1000; a token opens once", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const clock = yield* Clock.Clock
        const command = ["sh", "-c", "cat; echo done >&2; exit 3"]
        const tokens = new Set(["tok"])
        const server = yield* startWireServer({ accessKeys: makeAccessKeyStore([]) }, () =>
          Effect.succeed({
            api: { call: () => Effect.die("no API here") },
            upgrade: execUpgradeHandler((token) =>
              tokens.delete(token)
                ? startExec({ token, containerGroupId: "eci-1", containerName: "c", command, tty: false, stdin: true, createdAt: 0, context }, clock)
                : Effect.succeed(undefined)
            )
          }))
        const t = yield* execSession(`ws://${server.endpoint}/exec/?s=tok`, ["hello ", "world"])
        assert.strictEqual(t.protocol, "v5.channel.k8s.io") // our preference, whatever the client's order
        assert.strictEqual(t.closeCode, 1000)
        assert.strictEqual(channel(t, 1), "hello world")
        assert.strictEqual(channel(t, 2), "done\n")
        const status = t.frames.at(-1)!
        assert.strictEqual(status[0], 3)
        assert.deepStrictEqual(JSON.parse(status[1]).details, { causes: [{ reason: "ExitCode", message: "3" }] })

        const again = yield* Effect.flip(execSession(`ws://${server.endpoint}/exec/?s=tok`, []))
        assert.include(again.message, "404")
      })
    ))
})
