import { createHash } from "node:crypto"
import { Clock, Duration, Effect, Metric, PubSub, Schedule, Stream } from "effect"
import { internStrings } from "../common/intern.ts"
import { describeGroupsByIds, forEachPageOfGroupsByTags, type ContainerGroup } from "../eci/queries.ts"

/**
 * What we know of our container groups, by pod UID, from batched DescribeContainerGroups polls
 * (the "observe" half of the controller for the cloud side). Two cadences keep us inside the
 * Describe quota (2000/min):
 * - a full list by our cluster and node tags every `resyncInterval` (N/20 calls): it finds every
 *   group, including ones we did not create in this process, and proves absence;
 * - a hot set polled by id (20 per call) every `hotInterval`: groups in transition (creating,
 *   starting, restarting, updating, deleting) and groups whose pod asked to be watched closely.
 *   A hot group that stops changing cools off with a doubling delay up to `resyncInterval`.
 * Every observed change publishes the pod UID, which the controller feeds to its work queue.
 */
export interface GroupCacheOptions {
  readonly listTags: Readonly<Record<string, string>>
  readonly podUidOf: (group: ContainerGroup) => string | undefined
  readonly resyncInterval?: Duration.Input
  readonly hotInterval?: Duration.Input
}

/**
 * What the cache keeps of a group: the fields the pod controller reads (decide.ts, eciToStatus.ts,
 * containerStatus.ts, writeBack.ts, this file). The rest of DescribeContainerGroups' answer —
 * the containers' environment, commands, ports, mounts and probes, volumes, DNS, tags — is dropped
 * when a group is stored: it was two thirds of the ~6 KB each cached group held (heap snapshot at
 * 1,000 bench pods), and a node holds thousands. A field read from a cached group must be listed here.
 */
export type CachedGroup = Pick<ContainerGroup,
  | "ContainerGroupId" | "Status" | "CreationTime" | "SucceededTime" | "FailedTime" | "ExpiredTime"
  | "IntranetIp" | "InternetIp" | "Ipv6Address" | "SpotStrategy" | "InstanceType" | "Cpu" | "Memory"
  | "ZoneId" | "VSwitchId" | "SecurityGroupId" | "VpcId" | "EniInstanceId" | "Events" | "Containers" | "InitContainers">

type EciContainer = NonNullable<ContainerGroup["Containers"]>[number] | NonNullable<ContainerGroup["InitContainers"]>[number]

/** Copies the defined values of `keys` only (no key for an absent value, as the decoded answer has none). */
const pick = <A extends object, K extends keyof A>(a: A, keys: ReadonlyArray<K>): Pick<A, K> => {
  const out: Partial<Pick<A, K>> = {}
  for (const k of keys) if (a[k] !== undefined) out[k] = a[k]
  return out as Pick<A, K>
}

const GROUP_FIELDS = [
  "ContainerGroupId", "Status", "CreationTime", "SucceededTime", "FailedTime", "ExpiredTime", "IntranetIp", "InternetIp",
  "Ipv6Address", "SpotStrategy", "InstanceType", "Cpu", "Memory", "ZoneId", "VSwitchId", "SecurityGroupId", "VpcId", "EniInstanceId"
] as const satisfies ReadonlyArray<keyof CachedGroup>
const CONTAINER_FIELDS = ["Name", "Image", "Ready", "RestartCount", "CurrentState", "PreviousState"] as const satisfies ReadonlyArray<keyof EciContainer>
const EVENT_FIELDS = ["Count", "FirstTimestamp", "LastTimestamp", "Message", "Name", "Reason", "Type"] as const

/** A group as the cache keeps it (see `CachedGroup`), its short strings interned (`internStrings`). */
export const slimGroup = (g: ContainerGroup): CachedGroup => {
  const out: { -readonly [K in keyof CachedGroup]: CachedGroup[K] } = pick(g, GROUP_FIELDS)
  if (g.Events !== undefined) out.Events = g.Events.map((e) => pick(e, EVENT_FIELDS))
  if (g.Containers !== undefined) out.Containers = g.Containers.map((c) => pick(c, CONTAINER_FIELDS))
  if (g.InitContainers !== undefined) out.InitContainers = g.InitContainers.map((c) => pick(c, CONTAINER_FIELDS))
  return internStrings(out)
}

export interface GroupCache {
  /** The group of a pod, as last observed (what `CachedGroup` keeps of it). */
  readonly get: (podUid: string) => CachedGroup | undefined
  /** When the last full list finished (ms since epoch), or undefined before the first one. */
  readonly lastFullList: () => number | undefined
  /** Poll this group closely for a while (it was just created, updated or deleted). */
  readonly watchClosely: (groupId: string) => Effect.Effect<void>
  /**
   * Record a group we just learned about (e.g. from a lookup), publishing the change. `quiet`: record
   * without publishing — a group we just created, whose first poll will publish what it really is.
   */
  readonly put: (podUid: string, group: ContainerGroup, options?: { readonly quiet?: boolean }) => Effect.Effect<void>
  /** Forget a pod's group (it is gone for good). */
  readonly remove: (podUid: string) => void
  /** Pod UIDs whose group changed, appeared or disappeared. */
  readonly changes: Stream.Stream<string>
  /** Every group we know, for garbage collection. */
  readonly all: () => ReadonlyArray<readonly [string, CachedGroup]>
  /** The polling loops; run for as long as the cache is in use. */
  readonly run: Effect.Effect<never, never, import("../eci/Eci.ts").Eci>
}

const transitional = new Set(["Scheduling", "Pending", "Restarting", "Updating", "Terminating"])

/** A cheap fingerprint of what the pod status is computed from (of a slim group; a digest, 28 characters per pod). */
const fingerprint = (g: CachedGroup) =>
  createHash("sha1").update(JSON.stringify([g.Status, g.IntranetIp, g.Containers, g.InitContainers, g.Events?.length])).digest("base64")

const terminal = new Set(["Succeeded", "Failed", "Expired", "ScheduleFailed"])

/**
 * One group per pod: a pod may briefly have two (a group that could not be scheduled, being
 * replaced). The live one wins over a finished one, then the newest.
 */
type Ranked = Pick<ContainerGroup, "Status" | "CreationTime">
const rank = (g: Ranked) => [terminal.has(g.Status ?? "") ? 0 : 1, Date.parse(g.CreationTime ?? "") || 0] as const

export const preferGroup = <G extends Ranked>(a: G, b: G): G => {
  const [ra, rb] = [rank(a), rank(b)]
  return ra[0] !== rb[0] ? (ra[0] > rb[0] ? a : b) : ra[1] >= rb[1] ? a : b
}

const groupsTracked = Metric.gauge("eci_vn_container_groups", { description: "container groups known to the cache" })

export const makeGroupCache = (options: GroupCacheOptions) =>
  Effect.gen(function*() {
    const resyncMs = Duration.toMillis(options.resyncInterval ?? "30 seconds")
    const hotMs = Duration.toMillis(options.hotInterval ?? "2 seconds")
    /** How often the hot set is checked for due groups, and the first look at a new group. */
    const pollTick = Math.max(100, Math.floor(hotMs / 8))
    const firstPollMs = Math.max(pollTick, Math.floor(hotMs / 4))
    const byPod = new Map<string, CachedGroup>()
    /** group id → pod UID of the groups in `byPod`, so a vanished id is found without a scan. */
    const podByGroupId = new Map<string, string>()
    const prints = new Map<string, string>()
    /** group id → { next poll time, current delay } */
    const hot = new Map<string, { next: number; delay: number }>()
    let fullListAt: number | undefined
    const published = yield* PubSub.unbounded<string>()

    /**
     * When each pod's entry was last written: a full list may only evict what it could have seen. An
     * entry for a pod without a group matters only to a poll or list already running when it was
     * written, so it is dropped once none is (`forgetOldWrites`): nothing grows with every pod ever seen.
     */
    const writtenAt = new Map<string, number>()
    /** When the hot poll in flight began (undefined between polls). */
    let pollStartedAt: number | undefined
    const forgetOldWrites = () => {
      const cutoff = pollStartedAt ?? Number.POSITIVE_INFINITY
      for (const [uid, at] of writtenAt) if (at < cutoff && !byPod.has(uid)) writtenAt.delete(uid)
    }
    const observe = (podUid: string, group: CachedGroup | undefined, quiet = false) =>
      Effect.gen(function*() {
        writtenAt.set(podUid, yield* Clock.currentTimeMillis)
        const before = prints.get(podUid)
        const now = group === undefined ? undefined : fingerprint(group)
        const previousId = byPod.get(podUid)?.ContainerGroupId
        if (previousId !== undefined && podByGroupId.get(previousId) === podUid) podByGroupId.delete(previousId)
        if (group === undefined) {
          byPod.delete(podUid)
          prints.delete(podUid)
        } else {
          byPod.set(podUid, group)
          prints.set(podUid, now!)
          if (group.ContainerGroupId !== undefined) podByGroupId.set(group.ContainerGroupId, podUid)
        }
        if (before !== now && !quiet) yield* PubSub.publish(published, podUid)
      })

    const heat = (group: CachedGroup, changed: boolean, at: number) => {
      const id = group.ContainerGroupId
      if (id === undefined) return
      const entry = hot.get(id)
      if (transitional.has(group.Status ?? "") || changed) {
        hot.set(id, { next: at + hotMs, delay: hotMs })
      } else if (entry !== undefined) {
        const delay = entry.delay * 2
        if (delay >= resyncMs) hot.delete(id)
        else hot.set(id, { next: at + delay, delay })
      }
    }

    /**
     * The list is taken in page by page, each group as its page arrives, so the cache never holds a
     * second copy of every group (at 10,000 groups, a list in flight — and one almost always is — held
     * 20 MB more). A pod with two groups (on different pages) ends with the preferred one.
     */
    const fullList = Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      /** The preferred group of each pod listed so far. */
      const listed = new Map<string, CachedGroup>()
      /** When this list wrote a pod's entry: a later write (a poll, a create) is newer than the list. */
      const wroteAt = new Map<string, number>()
      yield* forEachPageOfGroupsByTags(options.listTags, (page) =>
        Effect.gen(function*() {
          const at = yield* Clock.currentTimeMillis
          for (const full of page) {
            const uid = options.podUidOf(full)
            if (uid === undefined) continue
            const earlier = listed.get(uid)
            const g = earlier === undefined ? slimGroup(full) : preferGroup(earlier, slimGroup(full))
            listed.set(uid, g)
            if (g === earlier) continue
            // A newer observation (a poll or a create that finished while the list ran) wins.
            if ((writtenAt.get(uid) ?? 0) > (wroteAt.get(uid) ?? startedAt)) continue
            const changed = prints.get(uid) !== fingerprint(g)
            yield* observe(uid, g)
            wroteAt.set(uid, writtenAt.get(uid) ?? at)
            heat(g, changed, at)
          }
        }))
      const at = yield* Clock.currentTimeMillis
      // A group created (or learned of) after the list began may be missing from its pages.
      for (const uid of [...byPod.keys()]) {
        if (!listed.has(uid) && (writtenAt.get(uid) ?? 0) < startedAt) yield* observe(uid, undefined)
      }
      fullListAt = at
      forgetOldWrites()
      yield* Metric.update(groupsTracked, byPod.size)
    })

    const pollHot = Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const due = [...hot.entries()].filter(([, e]) => e.next <= startedAt).map(([id]) => id)
      if (due.length === 0) return
      pollStartedAt = startedAt
      const groups = yield* describeGroupsByIds(due)
      const at = yield* Clock.currentTimeMillis
      const found = new Set<string>()
      for (const full of groups) {
        const uid = options.podUidOf(full)
        const g = slimGroup(full)
        if (g.ContainerGroupId !== undefined) found.add(g.ContainerGroupId)
        if (uid === undefined) continue
        if ((writtenAt.get(uid) ?? 0) > startedAt) continue
        // Another group of the same pod that is preferred stays the pod's group.
        const current = byPod.get(uid)
        if (current !== undefined && current.ContainerGroupId !== g.ContainerGroupId && preferGroup(current, g) === current) {
          heat(g, false, at)
          continue
        }
        const changed = prints.get(uid) !== fingerprint(g)
        yield* observe(uid, g)
        heat(g, changed, at)
      }
      // An id ECI no longer returns is gone (deleted, or past retention): drop it from the cache.
      for (const id of due) {
        if (found.has(id)) continue
        hot.delete(id)
        const uid = podByGroupId.get(id)
        if (uid !== undefined && byPod.get(uid)?.ContainerGroupId === id && (writtenAt.get(uid) ?? 0) <= startedAt) {
          yield* observe(uid, undefined)
        }
      }
    }).pipe(Effect.ensuring(Effect.sync(() => void (pollStartedAt = undefined))))

    const logged = <A, E, R>(name: string, eff: Effect.Effect<A, E, R>) =>
      eff.pipe(Effect.catch((e) => Effect.logWarning(`${name} failed; next attempt on schedule`, e)))

    const run = Effect.all(
      [
        logged("full list of container groups", fullList).pipe(Effect.repeat(Schedule.spaced(resyncMs)), Effect.andThen(Effect.never)),
        logged("poll of changing container groups", pollHot).pipe(Effect.repeat(Schedule.spaced(pollTick)), Effect.andThen(Effect.never))
      ],
      { concurrency: "unbounded", discard: true }
    ).pipe(Effect.andThen(Effect.never))

    const cache: GroupCache = {
      get: (uid) => byPod.get(uid),
      lastFullList: () => fullListAt,
      watchClosely: (groupId) =>
        Clock.currentTimeMillis.pipe(Effect.map((at) => void hot.set(groupId, { next: at + hotMs, delay: hotMs }))),
      put: (uid, full, putOptions) => {
        const group = slimGroup(full)
        const quiet = putOptions?.quiet === true
        return observe(uid, group, quiet).pipe(
          Effect.andThen(Clock.currentTimeMillis),
          Effect.map((at) => {
            // A group just created is first looked at sooner: one from an image cache, or a
            // small image, may already run; its pod shows it without waiting a whole interval.
            const id = group.ContainerGroupId
            if (quiet && id !== undefined) hot.set(id, { next: at + firstPollMs, delay: hotMs })
            else heat(group, true, at)
          })
        )
      },
      remove: (uid) => {
        const g = byPod.get(uid)
        if (g?.ContainerGroupId !== undefined) {
          hot.delete(g.ContainerGroupId)
          podByGroupId.delete(g.ContainerGroupId)
        }
        byPod.delete(uid)
        prints.delete(uid)
        writtenAt.delete(uid)
      },
      changes: Stream.fromPubSub(published),
      all: () => [...byPod.entries()],
      run
    }
    return cache
  })
