#!/usr/bin/env node
/**
 * The ECI simulator as the benchmark runs it (a child process, like the sandbox's): the same core and
 * wire server as `npm run eci-simulator`, with two differences the benchmark needs —
 *  - a profile of its own: `zero` (every lifecycle timing 0 and no quotas: measures the kubelet, not
 *    the fake cloud) or `quota` (timings 0, ECI's published per-action quotas: Create 1000/min burst
 *    100, Describe 2000/min, … — the simulator's defaults);
 *  - a call journal: every API call's arrival time (this process's wall clock, comparable with the
 *    harness's), action and outcome, and for CreateContainerGroup the pod UID from its tags. It is read
 *    with `GET /admin/bench/calls` and cleared with `POST /admin/bench/reset`. Counting here, at the
 *    server, sees exactly what the cloud would bill and throttle, whatever the client believes.
 *
 * Prints `eci-simulator listening on http://127.0.0.1:<port>` when ready (what src/sandbox expects).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Random } from "effect"
import { adminHandler } from "../src/eci/simulator/adminApi.ts"
import { instantLifecycle } from "../src/eci/simulator/config.ts"
import { execUpgradeHandler } from "../src/eci/simulator/execWebSocket.ts"
import { makeSimulator } from "../src/eci/simulator/simulator.ts"
import { accessKeyPair, makeAccessKeyStore, startWireServer } from "../src/eci/simulator/wireServer.ts"

export type BenchProfile = "zero" | "quota"

const POD_UID_TAG = "k8s.aliyun.com/pod-uid" // fallback; the real key is found by suffix below

/** One API call: [ms since epoch, action, outcome ("ok" or the error code), pod uid (Create only)]. */
export type CallRecord = readonly [number, string, string, string?]

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

const podUidOf = (request: Record<string, unknown>): string | undefined => {
  const tags = request["Tag"]
  const list = Array.isArray(tags) ? tags : typeof tags === "object" && tags !== null ? Object.values(tags) : []
  for (const t of list as ReadonlyArray<{ readonly Key?: unknown; readonly Value?: unknown }>) {
    if (typeof t.Key === "string" && (t.Key === POD_UID_TAG || t.Key.endsWith("pod-uid")) && typeof t.Value === "string") return t.Value
  }
  return undefined
}

const main = Effect.gen(function*() {
  const profile = arg("profile", "zero") as BenchProfile
  const region = arg("region", "cn-hangzhou")
  const id = process.env["ALIBABA_CLOUD_ACCESS_KEY_ID"] ?? ""
  const secret = process.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] ?? ""
  const accessKeys = makeAccessKeyStore([accessKeyPair(id, secret)])
  let calls: Array<CallRecord> = []

  const server = yield* startWireServer({ accessKeys, port: 0, regionId: region }, (srv) =>
    Effect.gen(function*() {
      const sim = yield* makeSimulator({
        profile: "fast",
        timings: instantLifecycle,
        seed: "bench",
        regionId: region,
        execBaseUrl: `ws://${srv.endpoint}`,
        // Keep finished instances listable for the whole run (Describe sees what the product expects).
        retention: { keepNewest: 100_000 },
        ...(profile === "zero"
          ? {
            quotas: {
              CreateContainerGroup: null, DeleteContainerGroup: null, DescribeContainerGroups: null,
              UpdateContainerGroup: null, RestartContainerGroup: null, DescribeContainerLog: null,
              ExecContainerCommand: null, DescribeContainerGroupMetric: null, DescribeMultiContainerGroupMetric: null
            }
          }
          : {})
      })
      const admin = adminHandler(sim.admin, accessKeys)
      return {
        api: {
          call: (action: string, request: Record<string, unknown>) => {
            const at = Date.now()
            const uid = action === "CreateContainerGroup" ? podUidOf(request) : undefined
            return sim.handle(action, request).pipe(
              Effect.tap(() => Effect.sync(() => calls.push(uid === undefined ? [at, action, "ok"] : [at, action, "ok", uid]))),
              Effect.tapError((e) =>
                Effect.sync(() => {
                  const code = e._tag === "SimulatorApiError" ? e.code : "ConnectionDropped"
                  calls.push(uid === undefined ? [at, action, code] : [at, action, code, uid])
                })
              )
            )
          }
        },
        admin: (req: Parameters<typeof admin>[0]) => {
          if (req.path === "/admin/bench/calls") return Effect.sync(() => ({ status: 200, body: { profile, calls } }))
          if (req.path === "/admin/bench/reset") return Effect.sync(() => ((calls = []), { status: 200, body: { ok: true } }))
          return admin(req)
        },
        upgrade: execUpgradeHandler((token) =>
          sim.openExec(token).pipe(Effect.catchTag("SimulatorAdminError", () => Effect.succeed(undefined)))
        )
      }
    }))
  yield* Console.log(`eci-simulator listening on ${server.url}`)
  return yield* Effect.never
}).pipe(Effect.scoped, Random.withSeed("bench/wire"))

NodeRuntime.runMain(main)
