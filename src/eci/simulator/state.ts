import type { Timeline } from "./commands.ts"
import type { Prng } from "./prng.ts"
import type { VSwitch } from "./topology.ts"

/** ContainerGroup `Status` values (reference §2.1; the legacy StartingFailed/WatingForDel are not modelled). */
export type GroupStatus =
  | "Scheduling"
  | "Pending"
  | "Running"
  | "Restarting"
  | "Updating"
  | "Terminating"
  | "Succeeded"
  | "Failed"
  | "Expired"
  | "ScheduleFailed"

export const terminalStatuses: ReadonlySet<GroupStatus> = new Set(["Succeeded", "Failed", "Expired", "ScheduleFailed"])

export type RestartPolicy = "Always" | "OnFailure" | "Never"

export interface EnvVar {
  readonly key: string
  readonly value: string | undefined
  readonly fieldPath: string | undefined
}

export interface VolumeMountSpec {
  readonly name: string
  readonly mountPath: string
  readonly subPath: string | undefined
  readonly readOnly: boolean | undefined
  readonly mountPropagation: string | undefined
}

/** A container as requested, normalised; `raw` is the request object, echoed by Describe. */
export interface ContainerSpec {
  readonly name: string
  readonly image: string
  readonly command: ReadonlyArray<string>
  readonly args: ReadonlyArray<string>
  readonly workingDir: string | undefined
  readonly cpu: number | undefined
  readonly memory: number | undefined
  readonly env: ReadonlyArray<EnvVar>
  readonly mounts: ReadonlyArray<VolumeMountSpec>
  readonly raw: Readonly<Record<string, unknown>>
}

export interface ConfigFile {
  readonly path: string
  readonly content: Uint8Array
}

export interface VolumeSpec {
  readonly name: string
  readonly type: string
  /** Decoded ConfigFileVolume files, paths relative to the volume. */
  readonly files: ReadonlyArray<ConfigFile>
  readonly raw: Readonly<Record<string, unknown>>
}

export type ContainerState =
  | { readonly state: "Waiting"; readonly reason: string; readonly message?: string }
  | { readonly state: "Running"; readonly reason: "Started"; readonly startedAt: number }
  | {
    readonly state: "Terminated"
    readonly reason: string
    readonly exitCode: number
    readonly signal?: number
    readonly startedAt: number
    readonly finishedAt: number
    readonly message?: string
  }

/** One start of a container: what it prints and how it ends. */
export interface ContainerRun {
  readonly startedAt: number
  endedAt: number | undefined
  readonly timeline: Timeline
}

export interface ContainerRuntime {
  spec: ContainerSpec
  readonly init: boolean
  readonly index: number
  restartCount: number
  state: ContainerState
  previous: ContainerState | undefined
  /** The current run last; older runs are dropped beyond two (logs need current and previous). */
  runs: Array<ContainerRun>
  /** Bumped whenever scheduled actions for this container become stale. */
  gen: number
  pullFailures: number
  /** Started at least once since the instance (re)started. */
  startedOnce: boolean
}

export interface EventRecord {
  readonly type: "Normal" | "Warning"
  readonly reason: string
  readonly message: string
  readonly name: string
  count: number
  readonly firstAt: number
  lastAt: number
}

export type ContainerRef = { readonly init: boolean; readonly index: number; readonly gen: number }

export type Action =
  | { readonly kind: "scheduled" }
  | { readonly kind: "pulled"; readonly ref: ContainerRef }
  | { readonly kind: "started"; readonly ref: ContainerRef }
  | { readonly kind: "exited"; readonly ref: ContainerRef }
  | { readonly kind: "restart"; readonly ref: ContainerRef }
  | { readonly kind: "retryPull"; readonly ref: ContainerRef }
  | { readonly kind: "restartDone" }
  | { readonly kind: "updateDone"; readonly changed: ReadonlyArray<number> }
  | { readonly kind: "removed" }
  | { readonly kind: "spotExpire" }
  | { readonly kind: "deadline" }

export interface ScheduledAction {
  readonly at: number
  readonly seq: number
  /** Bumped by group restart, update and delete: actions of an older epoch are dropped. */
  readonly epoch: number
  readonly action: Action
}

export interface Tag {
  readonly key: string
  readonly value: string
}

export interface Instance {
  readonly id: string
  /** Creation order; the paging cursor. */
  readonly seq: number
  readonly regionId: string
  readonly name: string
  readonly createdAt: number
  readonly request: Readonly<Record<string, unknown>>
  readonly vSwitch: VSwitch
  readonly securityGroupId: string
  ip: string | undefined
  readonly eniId: string
  readonly internetIp: string | undefined
  readonly ipv6Address: string | undefined
  cpu: number
  memory: number
  readonly instanceType: string | undefined
  restartPolicy: RestartPolicy
  tags: ReadonlyArray<Tag>
  readonly spotStrategy: string
  readonly spotPriceLimit: number | undefined
  status: GroupStatus
  succeededAt: number | undefined
  failedAt: number | undefined
  expiredAt: number | undefined
  /** When the instance reached a terminal status (retention counts from here). */
  terminalAt: number | undefined
  containers: Array<ContainerRuntime>
  initContainers: Array<ContainerRuntime>
  volumes: ReadonlyArray<VolumeSpec>
  readonly events: Array<EventRecord>
  pending: Array<ScheduledAction>
  epoch: number
  nextSeq: number
  readonly prng: Prng
  /** Set at create when no stock was found: the instance will go ScheduleFailed. */
  readonly noStock: string | undefined
  readonly imageCacheId: string | undefined
  readonly hostName: string
  readonly activeDeadlineSeconds: number | undefined
  /** Spot reclaim announced. */
  spotNoticeAt: number | undefined
}

export const isTerminal = (i: Instance) => terminalStatuses.has(i.status)
