import { type V1Lease, V1MicroTime } from "@kubernetes/client-node"
import { Clock, Duration, Effect, Option, Ref, Schedule } from "effect"
import { Kube } from "../kube/Kube.ts"

/**
 * Lease-based leader election among the replicas of one virtual node, with client-go's default
 * timings: a 15 s lease, renewed every 2 s, given up after 10 s without a successful renewal. A dead
 * leader is replaced within about 17 s, well inside the 50 s node-monitor grace period, so the node
 * never turns NotReady during a fail-over. A leader that stops (SIGTERM) releases the lease at once.
 *
 * Expiry is judged by when *we* last saw the record change, not by the renewTime written in it, so
 * clock skew between replicas cannot make a standby steal a live leader's lease.
 */
export interface LeaderElectionOptions {
  readonly namespace: string
  readonly name: string
  readonly identity: string
  readonly leaseDuration?: Duration.Duration
  readonly renewDeadline?: Duration.Duration
  readonly retryPeriod?: Duration.Duration
}

interface Observed {
  readonly resourceVersion: string
  readonly at: number
}

export const runWithLeaderElection = <E, R>(options: LeaderElectionOptions, whileLeader: Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const leaseDuration = options.leaseDuration ?? Duration.seconds(15)
    const renewDeadline = options.renewDeadline ?? Duration.seconds(10)
    const retryPeriod = options.retryPeriod ?? Duration.seconds(2)
    const leaseSeconds = Math.ceil(Duration.toSeconds(leaseDuration))
    const observed = yield* Ref.make(Option.none<Observed>())
    const held = yield* Ref.make(Option.none<V1Lease>())

    /** One attempt to take or keep the lease; true when we hold it afterwards. */
    const tryAcquireOrRenew = Effect.gen(function*() {
      const nowMs = yield* Clock.currentTimeMillis
      const now = new V1MicroTime(nowMs) // Lease times are MicroTime (six fractional digits)
      const existing = yield* kube.getLease(options.namespace, options.name).pipe(
        Effect.map(Option.some),
        Effect.catchTag("KubeNotFound", () => Effect.succeed(Option.none<V1Lease>()))
      )
      if (Option.isNone(existing)) {
        const created = yield* kube.createLease({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: options.name, namespace: options.namespace },
          spec: { holderIdentity: options.identity, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 }
        })
        yield* Ref.set(held, Option.some(created))
        return true
      }
      const lease = existing.value
      const rv = lease.metadata?.resourceVersion ?? ""
      const seen = yield* Ref.get(observed)
      if (Option.isNone(seen) || seen.value.resourceVersion !== rv) yield* Ref.set(observed, Option.some({ resourceVersion: rv, at: nowMs }))
      const since = Option.match(seen, { onNone: () => nowMs, onSome: (s) => (s.resourceVersion === rv ? s.at : nowMs) })
      const holder = lease.spec?.holderIdentity ?? ""
      const duration = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000
      const heldByOther = holder !== "" && holder !== options.identity
      if (heldByOther && nowMs < since + duration) return false
      const takingOver = holder !== options.identity
      const updated = yield* kube.updateLease({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: options.identity,
          leaseDurationSeconds: leaseSeconds,
          renewTime: now,
          ...(takingOver ? { acquireTime: now, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 } : {})
        }
      })
      yield* Ref.set(held, Option.some(updated))
      return true
    }).pipe(
      Effect.catch((e) => Effect.logDebug("leader election attempt failed", e.message).pipe(Effect.as(false)))
    )

    const acquire = tryAcquireOrRenew.pipe(
      Effect.repeat({ schedule: Schedule.spaced(retryPeriod), until: (won) => won })
    )

    /** Renews every retryPeriod; returns when renewals have failed for longer than renewDeadline. */
    const keep = Effect.gen(function*() {
      let lastSuccess = yield* Clock.currentTimeMillis
      while (true) {
        yield* Effect.sleep(retryPeriod)
        const ok = yield* tryAcquireOrRenew
        const nowMs = yield* Clock.currentTimeMillis
        if (ok) lastSuccess = nowMs
        else if (nowMs - lastSuccess > Duration.toMillis(renewDeadline)) return
      }
    })

    /** Hand the lease over at once: an empty holder lets a standby take it on its next attempt. */
    const release = Effect.gen(function*() {
      const lease = yield* Ref.get(held)
      if (Option.isNone(lease)) return
      const now = new V1MicroTime(yield* Clock.currentTimeMillis)
      yield* kube.updateLease({
        ...lease.value,
        spec: { ...lease.value.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now }
      }).pipe(Effect.ignore)
      yield* Ref.set(held, Option.none())
      yield* Effect.logInfo("released leadership")
    })

    yield* Effect.addFinalizer(() => release)
    while (true) {
      yield* acquire
      yield* Effect.logInfo("became the leader", options.identity)
      yield* Effect.raceFirst(whileLeader, keep)
      yield* Effect.logWarning("lost the leadership; controllers stopped, standing by", options.identity)
      yield* Ref.set(held, Option.none())
    }
  }).pipe(Effect.annotateLogs({ election: `${options.namespace}/${options.name}` }))
