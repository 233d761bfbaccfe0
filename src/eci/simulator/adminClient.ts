import { Effect } from "effect"
import type { CreateContainerGroupRequest } from "../api.generated.ts"
import type { EciAction } from "../Eci.ts"
import { type InstanceSummary, type JournalEntry, SimulatorAdminError, type SimulatorAdminShape } from "./admin.ts"

/**
 * The simulator's control panel over the admin HTTP API of a running wire face (adminApi.ts,
 * README.md "Admin API"): the same `SimulatorAdminShape` the in-memory face offers, so a suite runs
 * unchanged against either. `baseUrl` is the server's `http://host:port`.
 */
export const adminClient = (baseUrl: string): SimulatorAdminShape => {
  const request = (method: string, path: string, body?: unknown) =>
    Effect.tryPromise({
      try: async (signal) => {
        const res = await fetch(`${baseUrl}/admin${path}`, {
          method,
          signal,
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
        })
        const json = (await res.json()) as Record<string, unknown>
        return { status: res.status, json }
      },
      catch: (e) => new SimulatorAdminError({ message: `admin API ${method} ${path}: ${e instanceof Error ? e.message : String(e)}` })
    }).pipe(
      Effect.flatMap(({ json, status }) =>
        status === 200
          ? Effect.succeed(json)
          : Effect.fail(new SimulatorAdminError({ message: String(json["error"] ?? `admin API ${method} ${path}: HTTP ${status}`) }))
      )
    )
  const action = (a: EciAction | "*") => encodeURIComponent(a)

  return {
    reset: request("POST", "/reset").pipe(Effect.asVoid),
    setFaults: (a, fault) => request("PUT", `/faults/${action(a)}`, fault).pipe(Effect.asVoid),
    failNext: (a, failure, times = 1) => request("POST", `/fail-next/${action(a)}`, { failure, times }).pipe(Effect.asVoid),
    setQuota: (a, quota) =>
      (quota === undefined ? request("DELETE", `/quotas/${action(a)}`) : request("PUT", `/quotas/${action(a)}`, quota)).pipe(Effect.asVoid),
    setStockOut: (stockOut) => request("PUT", "/stock-out", stockOut).pipe(Effect.asVoid),
    setTopology: (topology) => request("PUT", "/topology", topology).pipe(Effect.asVoid),
    setRetention: (retention) => request("PUT", "/retention", retention).pipe(Effect.asVoid),
    reclaimSpot: (id) => request("POST", `/instances/${encodeURIComponent(id)}/reclaim-spot`).pipe(Effect.asVoid),
    listInstances: request("GET", "/instances").pipe(
      Effect.map((json) =>
        ((json["instances"] ?? []) as ReadonlyArray<InstanceSummary & { readonly createRequest?: unknown }>).map(
          ({ createRequest: _, ...summary }) => summary
        )
      )
    ),
    createRequestOf: (id) =>
      request("GET", `/instances/${encodeURIComponent(id)}/create-request`).pipe(
        Effect.map((json) => json as CreateContainerGroupRequest)
      ),
    journal: request("GET", "/journal").pipe(Effect.map((json) => (json["entries"] ?? []) as ReadonlyArray<JournalEntry>))
  }
}
