import type { V1Pod } from "@kubernetes/client-node"
import { Clock, Effect, Fiber, Layer, Logger, Random, Ref, References } from "effect"
import { TestClock } from "effect/testing"
import { Eci, type EciTransport } from "../../src/eci/Eci.ts"
import { documentedQuotas, makePolicy } from "../../src/eci/policy.ts"
import { SimulatorAdmin, type InstanceSummary } from "../../src/eci/simulator/admin.ts"
import { EciSimulator, simulatorTransport } from "../../src/eci/simulator/simulator.ts"
import { SimulatorAdminFromSimulator } from "../../src/eci/simulator/inMemory.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { jsonLogger } from "../../src/observability/logging.ts"
import { runPodController } from "../../src/pods/podController.ts"
import type { NodeContext } from "../../src/translate/resolved.ts"
import { IDENTITY_TAGS } from "../../src/translate/identity.ts"

/**
 * One deterministic run of the pod controller against the in-memory API server and the in-memory
 * ECI (with the production client policy), under TestClock and one seed: random creates, deletes and
 * image updates while faults are injected on both sides and the controller is killed and restarted
 * at random instants. Only what the real process would keep survives a restart: the API server's
 * objects and ECI's instances.
 */
export interface SimulationOptions {
  readonly seed: number
  readonly pods: number
  /** Virtual seconds of churn before the faults stop and the system is left to settle. */
  readonly churnSeconds: number
  readonly settleSeconds: number
  /** Debug also records every reconcile step (for replaying a failing seed). */
  readonly logLevel?: "Info" | "Debug"
}

export const node: NodeContext = {
  clusterId: "sim-cluster",
  nodeName: "vk-sim",
  regionId: "cn-hangzhou",
  vSwitchIds: ["vsw-sim-a", "vsw-sim-b"],
  securityGroupId: "sg-sim",
  clusterDns: ["10.96.0.10"],
  clusterDomain: "cluster.local"
}

export const secretValue = (seed: number) => `s3cr3t-value-${seed}-do-not-log`

/** Every call that reaches ECI, by action, with its virtual time: the quota check reads it. */
const recording = (transport: EciTransport, calls: Array<readonly [string, number]>): EciTransport => (action, request) =>
  Clock.currentTimeMillis.pipe(
    Effect.tap((at) => Effect.sync(() => calls.push([action, at]))),
    Effect.andThen(transport(action, request))
  )

export interface Outcome {
  readonly pods: ReadonlyArray<V1Pod>
  readonly instances: ReadonlyArray<InstanceSummary>
  readonly calls: ReadonlyArray<readonly [string, number]>
  readonly logLines: ReadonlyArray<string>
  readonly restarts: number
}

const podSpec = (i: number, kind: number, seed: number): V1Pod => {
  const name = `p${i}`
  const base = { name: "main", image: "nginx:1.27", env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "app", key: "token" } } }] }
  const containers = kind === 0
    ? [base]
    : kind === 1
    ? [{ ...base, image: "busybox:1.36", command: ["sh", "-c", `sleep ${1 + (i % 5)}; echo done`] }]
    : [{ ...base, image: "busybox:1.36", command: ["sh", "-c", "sleep 2; exit 3"] }]
  return {
    metadata: { name, namespace: "sim", labels: { app: "sim", seed: String(seed) } },
    spec: { nodeName: node.nodeName, restartPolicy: kind === 0 ? "Always" : "Never", containers, terminationGracePeriodSeconds: 10 }
  }
}

export const simulate = (o: SimulationOptions) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const kubeAdmin = yield* KubeInMemoryAdmin
    const sim = yield* EciSimulator
    const simAdmin = yield* SimulatorAdmin
    const calls: Array<readonly [string, number]> = []
    const logLines: Array<string> = []
    const eci = yield* makePolicy(recording(simulatorTransport(sim), calls), { regionId: node.regionId })
    yield* kubeAdmin.putNamespace("sim")
    yield* kubeAdmin.putSecret({ metadata: { name: "app", namespace: "sim" }, stringData: { token: secretValue(o.seed) } })

    const controller = runPodController({ node, workers: 8, orphanSafetyDelay: "30 seconds" }).pipe(
      Effect.provideService(Eci, eci),
      Effect.provide(Logger.layer([jsonLogger((line) => logLines.push(line))])),
      Effect.provideService(References.MinimumLogLevel, o.logLevel ?? "Info")
    )
    const running = yield* Ref.make(yield* Effect.forkChild(controller))
    let restarts = 0
    const settle = Effect.gen(function*() {
      for (let i = 0; i < 40; i++) yield* Effect.yieldNow
    })
    const tick = TestClock.adjust("500 millis").pipe(Effect.andThen(settle))

    // Churn: faults on, random operations every tick.
    yield* kubeAdmin.setFaults({ watchDropRate: 0.02, conflictRate: 0.1 })
    yield* simAdmin.setFaults("*", { errorRate: 0.15, errorCode: "ServiceUnavailable", dropRate: 0.03, dropPhase: "response" })
    yield* simAdmin.setFaults("CreateContainerGroup", { errorRate: 0.2, errorCode: "Throttling.User", dropRate: 0.05, dropPhase: "response" })
    yield* simAdmin.setStockOut({ zones: ["cn-hangzhou-a"], mode: "async" })
    let created = 0
    const ticks = o.churnSeconds * 2
    for (let t = 0; t < ticks; t++) {
      const roll = yield* Random.next
      if (created < o.pods && roll < 0.6) {
        const kind = yield* Random.nextIntBetween(0, 3)
        yield* kube.createPod(podSpec(created, kind, o.seed)).pipe(Effect.ignore)
        created++
      } else if (roll < 0.7) {
        const victim = yield* Random.nextIntBetween(0, Math.max(1, created))
        yield* kube.deletePod("sim", `p${victim}`, { gracePeriodSeconds: 10 }).pipe(Effect.ignore)
      } else if (roll < 0.75) {
        const target = yield* Random.nextIntBetween(0, Math.max(1, created))
        yield* kube.patchPod("sim", `p${target}`, { spec: { containers: [{ name: "main", image: `nginx:1.${t % 30}` }] } }, "strategic").pipe(Effect.ignore)
      } else if (roll < 0.78) {
        yield* Fiber.interrupt(yield* Ref.get(running))
        restarts++
        yield* tick
        yield* Ref.set(running, yield* Effect.forkChild(controller))
      } else if (roll < 0.8) {
        yield* kubeAdmin.compact
        yield* kubeAdmin.dropWatches
      }
      yield* tick
    }
    // Settle: faults off, nothing new; the controller must converge on its own.
    yield* kubeAdmin.setFaults({ watchDropRate: 0, conflictRate: 0 })
    yield* simAdmin.setFaults("*", null)
    yield* simAdmin.setFaults("CreateContainerGroup", null)
    yield* simAdmin.setStockOut({})
    for (let t = 0; t < o.settleSeconds; t++) yield* TestClock.adjust("1 second").pipe(Effect.andThen(settle))
    yield* Fiber.interrupt(yield* Ref.get(running))

    const pods = yield* kube.listPods({ namespace: "sim" })
    const instances = yield* simAdmin.listInstances
    return { pods, instances, calls, logLines, restarts } satisfies Outcome
  })

export const simulationLayer = (seed: number) =>
  Layer.mergeAll(
    KubeInMemory(),
    SimulatorAdminFromSimulator.pipe(Layer.provideMerge(EciSimulator.layer({ seed, profile: "fast", regionId: node.regionId })))
  )

/** The invariants at quiescence; each violated one is a line of the returned list. */
export const violations = (o: Outcome, seed: number): Array<string> => {
  const problems: Array<string> = []
  const live = new Map(o.pods.map((p) => [p.metadata?.uid ?? "", p]))
  const uidOf = (i: InstanceSummary) => i.tags.find((t) => t.key === IDENTITY_TAGS.podUid)?.value ?? ""
  const groupsByPod = new Map<string, Array<InstanceSummary>>()
  for (const i of o.instances) {
    if (i.tags.find((t) => t.key === IDENTITY_TAGS.clusterId)?.value !== node.clusterId) continue
    const uid = uidOf(i)
    groupsByPod.set(uid, [...(groupsByPod.get(uid) ?? []), i])
    if (!live.has(uid)) problems.push(`group ${i.containerGroupId} (${i.status}) has no live pod (uid ${uid})`)
  }
  for (const p of o.pods) {
    const name = p.metadata?.name
    if (p.metadata?.deletionTimestamp !== undefined) problems.push(`pod ${name} is still being deleted`)
    const phase = p.status?.phase
    const groups = (groupsByPod.get(p.metadata?.uid ?? "") ?? []).filter((g) => g.status !== "ScheduleFailed")
    if (phase !== "Running" && phase !== "Succeeded" && phase !== "Failed") problems.push(`pod ${name} is ${phase}, not Running or terminal`)
    if (groups.length !== 1) problems.push(`pod ${name} (${phase}: ${p.status?.reason}: ${p.status?.message}) has ${groups.length} groups: ${groups.map((g) => `${g.containerGroupId}/${g.status}`).join(", ")}`)
  }
  // Quota: in every 60 s window, calls of an action stay within its documented rate plus burst.
  const byAction = new Map<string, Array<number>>()
  for (const [action, at] of o.calls) byAction.set(action, [...(byAction.get(action) ?? []), at])
  for (const [action, times] of byAction) {
    const quota = documentedQuotas[action as keyof typeof documentedQuotas]
    const allowed = quota.perSecond * 60 + quota.burst
    let start = 0
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= 60_000) start++
      if (end - start + 1 > allowed) {
        problems.push(`${action}: ${end - start + 1} calls within 60 s, quota allows ${allowed}`)
        break
      }
    }
  }
  const leaked = o.logLines.filter((l) => l.includes(secretValue(seed)))
  if (leaked.length > 0) problems.push(`${leaked.length} log lines contain the secret value`)
  return problems
}
