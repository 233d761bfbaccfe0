/**
 * The kubelet API's exec against Go's own client: tools/exec-client runs client-go v0.36.3's
 * remotecommand executors (SPDY/3.1 over moby/spdystream, as kube-apiserver and kubectl use it;
 * WebSocket v5) against our server, which bridges to the ECI simulator. In the e2e tier because it
 * builds and starts a Go program; it needs no control plane. The build uses only the module cache
 * (GOPROXY=off, -mod=readonly), as tools/control-plane/build.sh does.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { runCommand } from "../../src/sandbox/process.ts"
import { type Harness, runningPod, startHarness } from "../kubelet/harness.ts"

const toolDir = fileURLToPath(new URL("../../tools/exec-client", import.meta.url))
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "exec-client-"))
const binary = path.join(workDir, "exec-client")

beforeAll(async () => {
  const r = await Effect.runPromise(runCommand("bash", ["-c", `cd ${JSON.stringify(toolDir)} && go build -o ${JSON.stringify(binary)} .`], {
    env: { ...process.env, GOFLAGS: "-mod=readonly", GOPROXY: "off", GOTOOLCHAIN: "local", GOWORK: "off", CGO_ENABLED: "0" }
  }))
  if (r.exitCode !== 0) throw new Error(`building tools/exec-client failed:\n${r.stderr}`)
})

const credentials = (h: Harness) => {
  const cert = path.join(workDir, "apiserver.crt")
  const key = path.join(workDir, "apiserver.key")
  fs.writeFileSync(cert, h.apiserver.certPem)
  fs.writeFileSync(key, h.apiserver.keyPem, { mode: 0o600 })
  return ["-cert", cert, "-key", key]
}

const exec = (h: Harness, command: ReadonlyArray<string>, options: { readonly protocol?: "spdy" | "websocket"; readonly stdin?: string } = {}) => {
  const query = [...command.map((c) => `command=${encodeURIComponent(c)}`), "output=1", "error=1", ...(options.stdin === undefined ? [] : ["input=1"])].join("&")
  const url = `https://127.0.0.1:${h.port}/exec/default/web/app?${query}`
  return runCommand(binary, [
    "-url",
    url,
    ...credentials(h),
    "-protocol",
    options.protocol ?? "spdy",
    ...(options.stdin === undefined ? [] : ["-stdin"])
  ], options.stdin === undefined ? {} : { stdin: options.stdin })
}

describe("exec with client-go's executors", () => {
  it.live("SPDY/3.1 (spdystream): echo, exit codes, stdin, large output", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      yield* runningPod(h, "web", ["sh", "-c", "sleep 3600"])

      expect(yield* exec(h, ["echo", "hi"])).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0 })
      expect(yield* exec(h, ["sh", "-c", "echo out; echo err >&2; exit 3"])).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 3 })
      expect(yield* exec(h, ["cat"], { stdin: "hello from stdin\n" })).toEqual({ stdout: "hello from stdin\n", stderr: "", exitCode: 0 })
      const big = "0123456789abcdef".repeat(20_000) // 320 KB: far beyond any 64 KiB window
      const echoed = yield* exec(h, ["cat"], { stdin: big })
      expect(echoed.exitCode).toBe(0)
      expect(echoed.stdout.length).toBe(big.length)
      expect(echoed.stdout === big).toBe(true)
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("WebSocket v5 (the 1.36 pass-through): echo, exit codes, stdin with the close signal", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      yield* runningPod(h, "web", ["sh", "-c", "sleep 3600"])
      expect(yield* exec(h, ["echo", "hi"], { protocol: "websocket" })).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0 })
      expect(yield* exec(h, ["sh", "-c", "exit 3"], { protocol: "websocket" })).toMatchObject({ exitCode: 3 })
      expect(yield* exec(h, ["cat"], { protocol: "websocket", stdin: "over websocket\n" })).toEqual({ stdout: "over websocket\n", stderr: "", exitCode: 0 })
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("a refused exec is a readable error, as kubectl shows it", () =>
    Effect.gen(function*() {
      const h = yield* startHarness()
      const r = yield* exec(h, ["echo", "hi"])
      expect(r.exitCode).toBe(1)
      // client-go decoded our Status: its message, not the JSON body.
      expect(r.stderr).toBe("error: unable to upgrade connection: pod \"web\" does not exist\n")
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
