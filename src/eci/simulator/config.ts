import type { EciAction } from "../Eci.ts"

/** How long things take inside the fake cloud. All values are milliseconds. */
export interface Timings {
  /** Scheduling → Pending (resource allocation). */
  readonly schedulingMs: number
  /** Pulling → Pulled for one image. */
  readonly imagePullMs: number
  /** Pull time when the image is in a matched image cache. */
  readonly imagePullCachedMs: number
  /** Created → Started. */
  readonly containerStartMs: number
  /** First crash-restart back-off; doubles per restart (Kubernetes: 10 s). */
  readonly restartBackoffBaseMs: number
  /** Back-off cap (Kubernetes: 5 min). */
  readonly restartBackoffMaxMs: number
  /** How long a container running the `oom` command lives before the kernel kills it. */
  readonly oomAfterMs: number
  /** Terminating → gone after DeleteContainerGroup. */
  readonly terminatingMs: number
  /** Restarting → containers start again after RestartContainerGroup. */
  readonly restartingMs: number
  /** Updating → changed containers start again after UpdateContainerGroup. */
  readonly updatingMs: number
  /** SpotToBeReleased event → Expired (ECI: about 3 minutes). */
  readonly spotNoticeMs: number
  /** Preparing phase of an image cache. */
  readonly imageCachePrepareMs: number
  /** Creating phase of an image cache (0% → 100%). */
  readonly imageCacheBuildMs: number
  /** A long-running container without a scripted command prints one log line this often. */
  readonly logLineIntervalMs: number
  /** Every duration above is scaled by a factor drawn from [1 - jitter, 1 + jitter] per instance. */
  readonly jitter: number
}

export type Profile = "fast" | "realistic"

export const profiles: Record<Profile, Timings> = {
  // Tests: an instance is Running about 100 ms after CreateContainerGroup, everything else in
  // proportion, and no jitter so that assertions on exact times stay simple.
  fast: {
    schedulingMs: 50,
    imagePullMs: 30,
    imagePullCachedMs: 5,
    containerStartMs: 10,
    restartBackoffBaseMs: 100,
    restartBackoffMaxMs: 3_000,
    oomAfterMs: 50,
    terminatingMs: 50,
    restartingMs: 50,
    updatingMs: 50,
    spotNoticeMs: 500,
    imageCachePrepareMs: 50,
    imageCacheBuildMs: 250,
    logLineIntervalMs: 200,
    jitter: 0
  },
  // The sandbox: ECI's own orders of magnitude (about 10 s to start an instance, reference §6;
  // Kubernetes back-off; a spot notice of 3 minutes, reference §2.3).
  realistic: {
    schedulingMs: 4_000,
    imagePullMs: 5_000,
    imagePullCachedMs: 500,
    containerStartMs: 800,
    restartBackoffBaseMs: 10_000,
    restartBackoffMaxMs: 300_000,
    oomAfterMs: 2_000,
    terminatingMs: 3_000,
    restartingMs: 5_000,
    updatingMs: 5_000,
    spotNoticeMs: 180_000,
    imageCachePrepareMs: 10_000,
    imageCacheBuildMs: 60_000,
    logLineIntervalMs: 5_000,
    jitter: 0.2
  }
}

/**
 * Overrides that make an instance's lifecycle instant (scheduled, pulled, started, stopped at once; no
 * jitter): the benchmark's zero-latency profile and tests that measure the controller, not ECI.
 */
export const instantLifecycle: Partial<Timings> = {
  schedulingMs: 0,
  imagePullMs: 0,
  imagePullCachedMs: 0,
  containerStartMs: 0,
  terminatingMs: 0,
  restartingMs: 0,
  updatingMs: 0,
  jitter: 0
}

/** A token bucket: `burst` tokens, refilled at `perMinute / 60` per second. */
export interface QuotaSpec {
  readonly perMinute: number
  readonly burst: number
}

/**
 * Server-side flow control per action (reference §3.3, "Flow control information" page). Create and
 * Delete use the token bucket of the newer Limits revision (burst 100) at the per-minute rate of the
 * current page. Describe/DeleteImageCache limits are UNCONFIRMED: we assume 2000 and 1000 per minute.
 */
export const defaultQuotas: Record<EciAction, QuotaSpec> = {
  CreateContainerGroup: { perMinute: 1000, burst: 100 },
  DeleteContainerGroup: { perMinute: 1000, burst: 100 },
  DescribeContainerGroups: { perMinute: 2000, burst: 2000 },
  UpdateContainerGroup: { perMinute: 1000, burst: 1000 },
  RestartContainerGroup: { perMinute: 1000, burst: 1000 },
  DescribeContainerLog: { perMinute: 500, burst: 500 },
  ExecContainerCommand: { perMinute: 500, burst: 500 },
  DescribeContainerGroupMetric: { perMinute: 2000, burst: 2000 },
  DescribeMultiContainerGroupMetric: { perMinute: 2000, burst: 2000 },
  CreateImageCache: { perMinute: 200, burst: 200 },
  DescribeImageCaches: { perMinute: 2000, burst: 2000 },
  DeleteImageCache: { perMinute: 1000, burst: 1000 }
}

/** Error codes that can be injected. */
export type InjectableCode = "ServiceUnavailable" | "InternalError" | "Throttling.User"

/** Random faults for one action (or all): each call draws from the simulator's seeded Random. */
export interface FaultSpec {
  /** Probability of answering with `errorCode` instead of carrying the action out. */
  readonly errorRate?: number
  readonly errorCode?: InjectableCode
  /** Probability of dropping the connection. */
  readonly dropRate?: number
  /** `request`: drop before the action is carried out; `response`: carry it out, then drop. */
  readonly dropPhase?: "request" | "response"
  /** Added to every call, before anything else happens. */
  readonly latencyMs?: number
}

/** One scripted failure for the next call(s) of an action: deterministic, for tests. */
export type InjectedFailure =
  | { readonly kind: "error"; readonly code: InjectableCode }
  | { readonly kind: "drop"; readonly phase: "request" | "response" }

/**
 * Capacity trouble. A zone listed here, or a spec (`"<cpu>-<memory>"`, e.g. `"2-4"`, or an
 * InstanceType) listed here, has no stock. `async` (default, as ECI reports it, reference §2.3):
 * CreateContainerGroup succeeds and the instance goes ScheduleFailed with a NoStock event.
 * `sync`: CreateContainerGroup fails with `OperationDenied.NoStock` (HTTP 403).
 */
export interface StockOutSpec {
  readonly zones?: ReadonlyArray<string>
  readonly specs?: ReadonlyArray<string>
  readonly mode?: "async" | "sync"
}

export interface VSwitchSpec {
  readonly id: string
  readonly zoneId: string
  /** IPv4 CIDR, e.g. `192.168.0.0/24`. */
  readonly cidr: string
  readonly vpcId?: string
}

export interface SecurityGroupSpec {
  readonly id: string
  readonly vpcId?: string
}

/**
 * A configured network. Without one, any `vsw-`/`sg-` id is accepted and a vSwitch's zone and CIDR
 * are derived from its id. With one, unknown regions, vSwitches and security groups are errors.
 */
export interface TopologySpec {
  readonly regions?: ReadonlyArray<string>
  readonly vSwitches: ReadonlyArray<VSwitchSpec>
  readonly securityGroups: ReadonlyArray<SecurityGroupSpec>
}

/** Reference §0.7: terminal instances keep full metadata for 1 h, then only the newest 100 remain. */
export interface RetentionSpec {
  readonly terminalMs: number
  readonly keepNewest: number
  /** ScheduleFailed instances are deleted after 24 h (reference §2.1). */
  readonly scheduleFailedMs: number
  /** How long a ClientToken keeps returning the instance it created (assumption: 24 h). */
  readonly clientTokenMs: number
}

export interface SimulatorConfig {
  readonly regionId: string
  readonly profile: Profile
  /** Overrides of single timings of the profile. */
  readonly timings?: Partial<Timings>
  /** Seed of the simulator's Random: ids, request ids, jitter, injected faults. */
  readonly seed: string | number
  readonly topology?: TopologySpec
  readonly retention?: Partial<RetentionSpec>
  /** Per-action quota overrides; `null` turns the quota of that action off. */
  readonly quotas?: Partial<Record<EciAction, QuotaSpec | null>>
  readonly faults?: Partial<Record<EciAction | "*", FaultSpec>>
  readonly stockOut?: StockOutSpec
  /** Where ExecContainerCommand's WebSocketUri points, e.g. `ws://127.0.0.1:8080`. */
  readonly execBaseUrl?: string
  /** How long an ExecContainerCommand session can wait to be opened. */
  readonly execSessionTtlMs?: number
  /** How many entries the journal (admin `journal`) keeps. */
  readonly journalLimit?: number
}

export const defaultRetention: RetentionSpec = {
  terminalMs: 60 * 60 * 1000,
  keepNewest: 100,
  scheduleFailedMs: 24 * 60 * 60 * 1000,
  clientTokenMs: 24 * 60 * 60 * 1000
}

export const defaultConfig: SimulatorConfig = {
  regionId: "cn-hangzhou",
  profile: "fast",
  seed: "eci-simulator"
}
