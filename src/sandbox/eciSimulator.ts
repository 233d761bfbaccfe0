/**
 * The wire ECI simulator (src/eci/simulator/main.ts) as a child process of the sandbox: the product
 * reaches it over HTTP with the real SDK, as it would reach ECI. A separate process keeps a busy
 * simulator off the test's event loop and its log in a file of its own. The key pair goes in through
 * the environment, which keeps the secret off the process list.
 */
import * as fs from "node:fs"
import { Effect, Redacted, type Scope } from "effect"
import type { InstanceSummary } from "../eci/simulator/admin.ts"
import { pollUntil } from "./probe.ts"
import { spawnComponent, tailFile } from "./process.ts"
import { nodeBinary, repoPath } from "./repo.ts"
import { SandboxError } from "./sandboxError.ts"

export interface AccessKey {
  readonly accessKeyId: string
  readonly accessKeySecret: Redacted.Redacted<string>
}

export interface EciSimulatorOptions {
  readonly accessKey: AccessKey
  /** fast: instances run within ~100 ms (tests); realistic: ECI's seconds (npm start). */
  readonly profile: "fast" | "realistic"
  readonly seed: string
  readonly region: string
  readonly logPath: string
  readonly startTimeoutSeconds?: number
}

/** One instance as `GET /admin/instances` lists it: the summary and the request it was created from. */
export interface SimulatorInstance extends InstanceSummary {
  readonly createRequest: unknown
}

export interface EciSimulatorProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** 127.0.0.1:<port>, the form `--eci-endpoint` takes */
  readonly endpoint: string
  readonly port: number
  readonly region: string
  readonly pid: number
  readonly logPath: string
  /** Calls the admin API (src/eci/simulator/README.md, "Admin API"): `admin("GET", "instances")`. */
  readonly admin: (method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown) => Effect.Effect<unknown, SandboxError>
  /** Replaces the accepted key pairs (an empty list revokes all). */
  readonly setAccessKeys: (keys: ReadonlyArray<AccessKey>) => Effect.Effect<void, SandboxError>
  /** Every instance the API can still see. */
  readonly instances: Effect.Effect<ReadonlyArray<SimulatorInstance>, SandboxError>
}

const LISTENING = /eci-simulator listening on (http:\/\/[^\s]+)/

const fail = (message: string) => new SandboxError({ part: "eci-simulator", message })

/** Starts the simulator on a free port and returns once it accepts requests; stopped when the scope closes. */
export const startEciSimulator = (options: EciSimulatorOptions): Effect.Effect<EciSimulatorProcess, SandboxError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeout = options.startTimeoutSeconds ?? 60
    const component = yield* spawnComponent({
      name: "eci-simulator",
      command: nodeBinary(),
      args: [
        repoPath("src", "eci", "simulator", "main.ts"),
        "--port", "0", // the simulator binds it and says which: no race with another process for a port
        "--profile", options.profile, "--seed", options.seed, "--region", options.region
      ],
      logPath: options.logPath,
      env: {
        ...process.env,
        ALIBABA_CLOUD_ACCESS_KEY_ID: options.accessKey.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: Redacted.value(options.accessKey.accessKeySecret)
      }
    }).pipe(Effect.mapError((e) => fail(e.message)))

    const listeningUrl = Effect.sync(() => {
      const text = fs.existsSync(options.logPath) ? fs.readFileSync(options.logPath, "utf8") : ""
      return LISTENING.exec(text)?.[1]
    })
    let url: string | undefined
    yield* Effect.raceFirst(
      pollUntil(Effect.map(listeningUrl, (u) => (url = u) !== undefined), "100 millis"),
      component.awaitExit.pipe(Effect.flatMap((x) =>
        Effect.fail(fail(`exited (code ${x.code}, signal ${x.signal}) before listening\n${tailFile(options.logPath)}`))
      ))
    ).pipe(Effect.timeoutOrElse({
      duration: `${timeout} seconds`,
      orElse: () => Effect.fail(fail(`not listening after ${timeout}s\n${tailFile(options.logPath)}`))
    }))
    const base = url ?? ""
    const port = Number(new URL(base).port)

    const admin = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown) =>
      Effect.tryPromise({
        try: async (signal) => {
          const res = await fetch(`${base}/admin/${path.replace(/^\/+/, "")}`, {
            method,
            signal,
            ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
          })
          const text = await res.text()
          return { status: res.status, text }
        },
        catch: (e) => fail(`admin ${method} ${path}: ${e instanceof Error ? e.message : String(e)}`)
      }).pipe(
        Effect.flatMap(({ status, text }) =>
          status >= 200 && status < 300
            ? Effect.try({ try: (): unknown => (text === "" ? null : JSON.parse(text)), catch: () => fail(`admin ${method} ${path}: not JSON: ${text}`) })
            : Effect.fail(fail(`admin ${method} ${path}: HTTP ${status}: ${text}`))
        )
      )

    return {
      url: base,
      endpoint: `127.0.0.1:${port}`,
      port,
      region: options.region,
      pid: component.pid,
      logPath: options.logPath,
      admin,
      setAccessKeys: (keys) =>
        admin("PUT", "access-keys", {
          keys: keys.map((k) => ({ accessKeyId: k.accessKeyId, accessKeySecret: Redacted.value(k.accessKeySecret) }))
        }).pipe(Effect.asVoid),
      instances: admin("GET", "instances").pipe(
        Effect.map((body) => ((body as { readonly instances?: ReadonlyArray<SimulatorInstance> } | null)?.instances ?? []))
      )
    } satisfies EciSimulatorProcess
  })
