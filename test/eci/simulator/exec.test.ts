import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { ExecChunk } from "../../../src/eci/simulator/exec.ts"
import { EciSimulator } from "../../../src/eci/simulator/simulator.ts"
import { at, call, create, createRequest, failureOf, region, withSimulator } from "./support.ts"

const decoder = new TextDecoder()
const render = (chunks: ReadonlyArray<ExecChunk>) => chunks.map((c) => `${c.stream}:${decoder.decode(c.data)}`).join("")

const configVolume = {
  Volume: [{
    Name: "cfg",
    Type: "ConfigFileVolume",
    ConfigFileVolume: { ConfigFileToPath: [{ Path: "app.conf", Content: Buffer.from("port=8080\n").toString("base64") }] }
  }]
}

/** A running instance and the token of an exec session on its container. */
const session = (command: ReadonlyArray<string>, options: { readonly stdin?: boolean; readonly tty?: boolean } = {}) =>
  Effect.gen(function*() {
    const id = yield* create(createRequest(
      { ...configVolume },
      { EnvironmentVar: [{ Key: "MODE", Value: "test" }], VolumeMount: [{ Name: "cfg", MountPath: "/etc/app" }] }
    ))
    yield* at(100)
    const r = yield* call("ExecContainerCommand", {
      RegionId: region,
      ContainerGroupId: id,
      ContainerName: "app",
      Command: JSON.stringify(command),
      Stdin: options.stdin ?? true,
      TTY: options.tty ?? false
    })
    const token = /[?&]s=([0-9a-f]+)/.exec(r.WebSocketUri ?? "")?.[1]
    expect(token).toBeDefined()
    return { id, token: token! }
  })

describe("ExecContainerCommand sessions", () => {
  it.effect("a command runs once the session is opened: output, then the exit code", () =>
    Effect.gen(function*() {
      const { token } = yield* session(["sh", "-c", "echo out; cat /etc/app/app.conf; echo $MODE >&2; exit 3"])
      const sim = yield* EciSimulator
      const p = yield* sim.openExec(token)
      const output = yield* Stream.runCollect(p.output)
      expect(render(output)).toBe("stdout:out\nstdout:port=8080\nstderr:test\n")
      expect(yield* p.exitCode).toBe(3)
    }).pipe(Effect.scoped, withSimulator()))

  it.effect("cat echoes stdin as it arrives and ends when stdin is closed", () =>
    Effect.gen(function*() {
      const { token } = yield* session(["cat"])
      const sim = yield* EciSimulator
      const p = yield* sim.openExec(token)
      const collected = yield* Stream.runCollect(p.output).pipe(Effect.forkChild)
      yield* p.writeStdin("hello ")
      yield* p.writeStdin(new Uint8Array([0, 1, 2, 255]))
      yield* p.closeStdin
      expect(yield* p.exitCode).toBe(0)
      const chunks = yield* Fiber.join(collected)
      expect(chunks.map((c) => [...c.data])).toEqual([[...new TextEncoder().encode("hello ")], [0, 1, 2, 255]])
    }).pipe(Effect.scoped, withSimulator()))

  it.effect("an interactive sh runs the lines it is given, with a prompt on a TTY", () =>
    Effect.gen(function*() {
      const { token } = yield* session(["sh"], { tty: true })
      const sim = yield* EciSimulator
      const p = yield* sim.openExec(token)
      const collected = yield* Stream.runCollect(p.output).pipe(Effect.forkChild)
      yield* p.writeStdin("hostname\necho $MODE; exit 4\n")
      expect(yield* p.exitCode).toBe(4)
      expect(render(yield* Fiber.join(collected))).toBe("stdout:# stdout:web\nstdout:# stdout:test\n")
    }).pipe(Effect.scoped, withSimulator()))

  it.effect("sleep runs on the simulator's clock; kill ends the command with 137", () =>
    Effect.gen(function*() {
      const { token } = yield* session(["sh", "-c", "echo a; sleep 10; echo b; sleep infinity"])
      const sim = yield* EciSimulator
      const p = yield* sim.openExec(token)
      const collected = yield* Stream.runCollect(p.output).pipe(Effect.forkChild)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* p.kill
      expect(yield* p.exitCode).toBe(137)
      expect(render(yield* Fiber.join(collected))).toBe("stdout:a\nstdout:b\n")
    }).pipe(Effect.scoped, withSimulator()))

  it.effect("a token opens one session only", () =>
    Effect.gen(function*() {
      const { token } = yield* session(["true"])
      const sim = yield* EciSimulator
      yield* sim.openExec(token)
      const second = yield* sim.openExec(token).pipe(Effect.flip)
      expect(second._tag).toBe("SimulatorAdminError")
    }).pipe(Effect.scoped, withSimulator()))

  it.effect("Sync=true answers with the merged output at once", () =>
    Effect.gen(function*() {
      const { id } = yield* session(["true"])
      const r = yield* call("ExecContainerCommand", {
        RegionId: region,
        ContainerGroupId: id,
        ContainerName: "app",
        Command: JSON.stringify(["sh", "-c", "echo one; echo two >&2"]),
        Sync: true
      })
      expect(r.SyncResponse).toBe("one\ntwo\n")
    }).pipe(withSimulator()))

  it.effect("malformed or oversized Command, TTY with Sync, a stopped container: refused", () =>
    Effect.gen(function*() {
      const { id } = yield* session(["true"])
      const base = { RegionId: region, ContainerGroupId: id, ContainerName: "app" }
      expect(yield* failureOf("ExecContainerCommand", { ...base, Command: "ls -l" })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("ExecContainerCommand", { ...base, Command: JSON.stringify(Array(21).fill("a")) })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("ExecContainerCommand", { ...base, Command: JSON.stringify(["a".repeat(257)]) })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("ExecContainerCommand", { ...base, Command: "[\"ls\"]", TTY: true, Sync: true })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("ExecContainerCommand", { ...base, ContainerName: "nope", Command: "[\"ls\"]" })).toMatchObject({ code: "InvalidParameter" })
      expect(yield* failureOf("ExecContainerCommand", { ...base, Command: undefined as unknown as string })).toMatchObject({ code: "MissingParameter" })
      const done = yield* create(createRequest({}, { Command: ["true"] }))
      yield* at(300)
      expect(yield* failureOf("ExecContainerCommand", { ...base, ContainerGroupId: done, Command: "[\"ls\"]" })).toMatchObject({ code: "IncorrectStatus" })
    }).pipe(withSimulator()))
})
