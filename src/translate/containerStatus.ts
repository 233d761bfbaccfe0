import { createHash } from "node:crypto"
import type { V1Container, V1ContainerState, V1ContainerStatus } from "@kubernetes/client-node"
import type {
  DescribeContainerGroupsResponseBodyContainerGroupsContainers,
  DescribeContainerGroupsResponseBodyContainerGroupsContainersCurrentState,
  DescribeContainerGroupsResponseBodyContainerGroupsEvents
} from "../eci/api.generated.ts"
import { opt } from "./opt.ts"

/**
 * ECI container states → Kubernetes container statuses (§2.2). ECI reports `State` in Kubernetes'
 * vocabulary (`Waiting`/`Running`/`Terminated`); the older `Succeeded`/`Failed`/`Canceled`/`Pending`
 * words the 2019 provider expected are accepted too. Times are RFC 3339 strings; an unparseable one
 * is left out rather than invented.
 */
type EciState = DescribeContainerGroupsResponseBodyContainerGroupsContainersCurrentState
/** App and init containers share what matters here (init containers lack only Stdin/Tty/probes). */
export type EciContainer = Pick<DescribeContainerGroupsResponseBodyContainerGroupsContainers,
  "Name" | "Image" | "Ready" | "RestartCount" | "CurrentState" | "PreviousState">

export const toDate = (s: string | undefined): Date | undefined => {
  if (s === undefined || s === "") return undefined
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/**
 * A stable container ID: ECI does not expose the runtime's, and `kubectl describe` and log tools
 * expect one. Derived from the group, the container and its restart count, so a restart yields a
 * new ID (as with a real runtime) and repeated polls yield the same one.
 */
export const containerId = (groupId: string, kind: "containers" | "initContainers", name: string, restartCount: number): string =>
  `containerd://${createHash("sha256").update(`${groupId}/${kind}/${name}/${restartCount}`).digest("hex")}`

type Kind = "Waiting" | "Running" | "Terminated"

const kindOf = (s: EciState | undefined): Kind | undefined => {
  switch (s?.State) {
    case "Running":
      return "Running"
    case "Terminated":
    case "Succeeded":
    case "Failed":
    case "Canceled":
      return "Terminated"
    case undefined:
    case "":
      return undefined
    default:
      return "Waiting"
  }
}

/** OOM shows in the reason, the detail or the message (§2.3: "OOMKilled" / "Out of memory"). */
const looksOom = (s: EciState): boolean => [s.Reason, s.DetailStatus, s.Message].some((x) => x !== undefined && /oom|out of memory/i.test(x))

/** A missing exit code counts as success only with evidence of it, so a pod never looks Succeeded by default. */
const exitCodeOf = (s: EciState): number => s.ExitCode ?? (s.State === "Succeeded" || s.Reason === "Completed" ? 0 : 1)

const terminatedReason = (s: EciState, oomEvent: boolean): string => {
  if (looksOom(s) || (oomEvent && exitCodeOf(s) === 137)) return "OOMKilled"
  const r = s.Reason ?? ""
  if (r !== "" && r !== "Started" && r !== "Terminated") return r
  return exitCodeOf(s) === 0 ? "Completed" : "Error"
}

export const stateOf = (
  s: EciState | undefined,
  id: string | undefined,
  defaultWaiting: string,
  oomEvent: boolean
): V1ContainerState => {
  const kind = kindOf(s)
  if (s === undefined || kind === undefined) return { waiting: { reason: defaultWaiting } }
  if (kind === "Running") return { running: { ...opt("startedAt", toDate(s.StartTime)) } }
  if (kind === "Terminated") {
    const message = s.Message || s.DetailStatus
    return {
      terminated: {
        exitCode: exitCodeOf(s),
        reason: terminatedReason(s, oomEvent),
        ...opt("message", message === "" ? undefined : message),
        ...opt("signal", s.Signal === 0 ? undefined : s.Signal),
        ...opt("startedAt", toDate(s.StartTime)),
        ...opt("finishedAt", toDate(s.FinishTime)),
        ...opt("containerID", id)
      }
    }
  }
  const reason = s.Reason && s.Reason !== "Waiting" ? s.Reason : s.DetailStatus || defaultWaiting
  return { waiting: { reason, ...opt("message", s.Message === "" ? undefined : s.Message) } }
}

/** Whether ECI's events report an OOM kill (§2.3); used to name a 137 exit OOMKilled. */
export const hasOomEvent = (events: ReadonlyArray<DescribeContainerGroupsResponseBodyContainerGroupsEvents>): boolean =>
  events.some((e) => e.Reason === "OOMKilled" || /out of memory/i.test(e.Message ?? ""))

export interface StatusOptions {
  readonly groupId: string
  readonly kind: "containers" | "initContainers"
  /** Waiting reason for a container ECI does not report yet (kubelet: ContainerCreating / PodInitializing). */
  readonly defaultWaiting: string
  /** ECI's readiness counts only while the group is active. */
  readonly groupActive: boolean
  readonly oomEvent: boolean
}

export const containerStatus = (spec: V1Container, eci: EciContainer | undefined, o: StatusOptions): V1ContainerStatus => {
  const restartCount = eci?.RestartCount ?? 0
  const current = kindOf(eci?.CurrentState)
  const id = current === "Running" || current === "Terminated" ? containerId(o.groupId, o.kind, spec.name, restartCount) : undefined
  const state = stateOf(eci?.CurrentState, id, o.defaultWaiting, o.oomEvent)
  const previous = eci?.PreviousState
  const lastState = kindOf(previous) === undefined
    ? undefined
    : stateOf(previous, restartCount > 0 ? containerId(o.groupId, o.kind, spec.name, restartCount - 1) : undefined, o.defaultWaiting, o.oomEvent)
  const running = state.running !== undefined
  const ready = o.kind === "initContainers"
    ? state.terminated?.exitCode === 0
    : running && o.groupActive && eci?.Ready === true
  return {
    name: spec.name,
    image: eci?.Image || spec.image || "",
    // ECI reports no image digest; an empty imageID is what the kubelet reports before it knows one.
    imageID: "",
    ...opt("containerID", id),
    ready,
    restartCount,
    started: running,
    state,
    ...opt("lastState", lastState)
  }
}

/**
 * In a terminal pod nothing runs any more: a container still reported running is shown terminated
 * the way the kubelet does it (ContainerStatusUnknown, exit 137).
 */
export const terminate = (s: V1ContainerStatus, finishedAt: Date | undefined): V1ContainerStatus => {
  if (s.state?.running === undefined) return s
  return {
    ...s,
    ready: false,
    started: false,
    state: {
      terminated: {
        exitCode: 137,
        reason: "ContainerStatusUnknown",
        message: "The container could not be located when the pod was terminated",
        ...opt("startedAt", s.state.running.startedAt),
        ...opt("finishedAt", finishedAt),
        ...opt("containerID", s.containerID)
      }
    }
  }
}
