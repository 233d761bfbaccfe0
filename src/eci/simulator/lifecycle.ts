/**
 * The life of one container group as a discrete-event simulation driven by timestamps. Every state
 * change is a scheduled action with a due time; `advance(instance, now)` applies the due ones in
 * time order. Nothing runs in the background: the state at time T depends only on what was asked of
 * the instance and when, never on how often anyone looked at it, so a run under TestClock replays
 * exactly and the wire face (real clock) behaves the same.
 *
 * Lifecycle (reference §2.1, §2.2): Scheduling → Pending (image pulls, init containers one by one)
 * → Running (every app container started) → Succeeded / Failed (every app container terminated and
 * none restarting), with crash restarts per RestartPolicy and Kubernetes back-off; Restarting,
 * Updating and Terminating while those operations run; ScheduleFailed for a stock-out; Expired for
 * a reclaimed spot instance.
 */
import { runTimeline, type ShellContext } from "./commands.ts"
import type { Timings } from "./config.ts"
import type {
  Action,
  ContainerRef,
  ContainerRuntime,
  ContainerState,
  GroupStatus,
  Instance,
  ScheduledAction
} from "./state.ts"
import { isTerminal } from "./state.ts"

export interface LifecycleEnv {
  readonly timings: Timings
  /** Append to the simulator's journal. */
  readonly note: (at: number, instance: Instance, what: string) => void
  /** The instance is gone: free its address and forget it. */
  readonly remove: (instance: Instance) => void
}

/** Images whose reference contains this never pull (README.md, "Conventions"). */
export const unpullableImage = (image: string) => image.includes("does-not-exist")

const untilEpochChange: ReadonlySet<Action["kind"]> = new Set(["deadline", "spotExpire", "removed"])

const schedule = (i: Instance, at: number, action: Action) => {
  i.pending.push({ at, seq: i.nextSeq++, epoch: i.epoch, action })
}

const jittered = (i: Instance, env: LifecycleEnv, ms: number) => i.prng.jitter(ms, env.timings.jitter)

const isLive = (i: Instance, a: ScheduledAction) => untilEpochChange.has(a.action.kind) || a.epoch === i.epoch

export const addEvent = (
  i: Instance,
  at: number,
  type: "Normal" | "Warning",
  reason: string,
  message: string
) => {
  // Kubernetes-style aggregation: the same event again bumps Count and LastTimestamp.
  const same = i.events.find((e) => e.type === type && e.reason === reason && e.message === message)
  if (same !== undefined) {
    same.count++
    same.lastAt = at
    return
  }
  const name = `${i.name}.${(i.events.length + 1).toString(16).padStart(4, "0")}${i.id.slice(-12)}`
  i.events.push({ type, reason, message, name, count: 1, firstAt: at, lastAt: at })
  if (i.events.length > 200) i.events.splice(0, i.events.length - 200)
}

const setStatus = (i: Instance, at: number, status: GroupStatus, env: LifecycleEnv) => {
  if (i.status === status) return
  i.status = status
  if (status === "Succeeded") i.succeededAt = at
  if (status === "Failed" || status === "ScheduleFailed") i.failedAt = at
  if (status === "Expired") i.expiredAt = at
  if (isTerminal(i)) i.terminalAt = at
  env.note(at, i, `status ${status}`)
}

const containerOf = (i: Instance, ref: ContainerRef): ContainerRuntime | undefined => {
  const c = (ref.init ? i.initContainers : i.containers)[ref.index]
  return c !== undefined && c.gen === ref.gen ? c : undefined
}

const refOf = (c: ContainerRuntime): ContainerRef => ({ init: c.init, index: c.index, gen: c.gen })

/** The environment a container's command sees. */
export const shellContextFor = (i: Instance, c: ContainerRuntime): Omit<ShellContext, "mode"> => {
  const env: Array<readonly [string, string]> = [
    ["PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    ["HOSTNAME", i.hostName]
  ]
  for (const e of c.spec.env) {
    const fromField = e.fieldPath === "status.podIP" || e.fieldPath === "status.hostIP" ? (i.ip ?? "") : ""
    env.push([e.key, e.value ?? fromField])
  }
  const files = new Map<string, Uint8Array>()
  for (const m of c.spec.mounts) {
    const volume = i.volumes.find((v) => v.name === m.name)
    for (const f of volume?.files ?? []) {
      if (m.subPath !== undefined && m.subPath !== "") {
        if (f.path === m.subPath) files.set(m.mountPath, f.content)
      } else files.set(`${m.mountPath.replace(/\/$/, "")}/${f.path}`, f.content)
    }
  }
  return { env, hostname: i.hostName, workingDir: c.spec.workingDir ?? "/", files }
}

const backoff = (env: LifecycleEnv, failures: number) =>
  Math.min(env.timings.restartBackoffBaseMs * 2 ** Math.min(failures, 30), env.timings.restartBackoffMaxMs)

const formatBackoff = (ms: number) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${ms / 1000}s`)

const initDone = (i: Instance) => i.initContainers.every((c) => c.state.state === "Terminated" && c.state.exitCode === 0)

const beginPull = (i: Instance, c: ContainerRuntime, at: number, env: LifecycleEnv, present: boolean) => {
  c.state = { state: "Waiting", reason: "ContainerCreating" }
  if (present) {
    addEvent(i, at, "Normal", "Pulled", `Container image "${c.spec.image}" already present on machine`)
    createAndStart(i, c, at, env)
    return
  }
  addEvent(i, at, "Normal", "Pulling", `Pulling image "${c.spec.image}"`)
  const ms = i.imageCacheId !== undefined ? env.timings.imagePullCachedMs : env.timings.imagePullMs
  schedule(i, at + jittered(i, env, ms), { kind: "pulled", ref: refOf(c) })
}

const createAndStart = (i: Instance, c: ContainerRuntime, at: number, env: LifecycleEnv) => {
  addEvent(i, at, "Normal", "Created", `Created container ${c.spec.name}`)
  schedule(i, at + jittered(i, env, env.timings.containerStartMs), { kind: "started", ref: refOf(c) })
}

/** Next init container, or every app container once the init containers are done. */
const startNext = (i: Instance, at: number, env: LifecycleEnv, present: boolean) => {
  const nextInit = i.initContainers.find((c) => !(c.state.state === "Terminated" && c.state.exitCode === 0))
  if (nextInit !== undefined) {
    beginPull(i, nextInit, at, env, present)
    return
  }
  for (const c of i.containers) beginPull(i, c, at, env, present)
}

const kill = (i: Instance, c: ContainerRuntime, at: number, env: LifecycleEnv, message: string) => {
  c.gen++
  if (c.state.state !== "Running") return
  addEvent(i, at, "Normal", "Killing", message)
  const run = c.runs.at(-1)
  if (run !== undefined) run.endedAt = at
  c.state = { state: "Terminated", reason: "Error", exitCode: 137, signal: 9, startedAt: c.state.startedAt, finishedAt: at }
  env.note(at, i, `container ${c.spec.name} killed`)
}

const killAll = (i: Instance, at: number, env: LifecycleEnv, why: (c: ContainerRuntime) => string) => {
  for (const c of [...i.initContainers, ...i.containers]) kill(i, c, at, env, why(c))
}

/** Pending ↔ Running, or terminal once every app container has terminated for good. */
const settle = (i: Instance, at: number, env: LifecycleEnv) => {
  if (i.status !== "Pending" && i.status !== "Running") return
  if (i.containers.every((c) => c.state.state === "Terminated")) {
    const ok = i.containers.every((c) => c.state.state === "Terminated" && c.state.exitCode === 0)
    setStatus(i, at, ok ? "Succeeded" : "Failed", env)
    return
  }
  setStatus(i, at, i.containers.every((c) => c.startedOnce) ? "Running" : "Pending", env)
}

const crashBackoff = (i: Instance, c: ContainerRuntime, at: number, env: LifecycleEnv) => {
  const delay = backoff(env, c.restartCount)
  c.previous = c.state
  c.state = {
    state: "Waiting",
    reason: "CrashLoopBackOff",
    message: `back-off ${formatBackoff(delay)} restarting failed container=${c.spec.name} pod=${i.name}`
  }
  addEvent(i, at, "Warning", "BackOff", `Back-off restarting failed container ${c.spec.name} in pod ${i.name}`)
  schedule(i, at + delay, { kind: "restart", ref: refOf(c) })
}

const onStarted = (i: Instance, c: ContainerRuntime, at: number, env: LifecycleEnv) => {
  addEvent(i, at, "Normal", "Started", `Started container ${c.spec.name}`)
  const argv = [...c.spec.command, ...c.spec.args]
  const timeline = runTimeline(argv, { ...shellContextFor(i, c), mode: "container" }, env.timings.oomAfterMs)
  c.runs.push({ startedAt: at, endedAt: undefined, timeline })
  if (c.runs.length > 2) c.runs.splice(0, c.runs.length - 2)
  c.state = { state: "Running", reason: "Started", startedAt: at }
  c.startedOnce = true
  env.note(at, i, `container ${c.spec.name} started`)
  if (timeline.end.kind !== "forever") schedule(i, at + timeline.end.atMs, { kind: "exited", ref: refOf(c) })
  settle(i, at, env)
}

const onExited = (i: Instance, c: ContainerRuntime, at: number, env: LifecycleEnv) => {
  const run = c.runs.at(-1)
  if (run === undefined || c.state.state !== "Running") return
  run.endedAt = at
  const end = run.timeline.end
  const oom = end.kind === "oom"
  const exitCode = end.kind === "exit" ? end.code : 137
  const reason = oom ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error"
  if (oom) addEvent(i, at, "Warning", "OOMKilled", `Out of memory: container ${c.spec.name} was killed (memory limit reached)`)
  c.state = { state: "Terminated", reason, exitCode, startedAt: run.startedAt, finishedAt: at }
  env.note(at, i, `container ${c.spec.name} exited ${exitCode}${oom ? " (OOMKilled)" : ""}`)
  if (c.init) {
    if (exitCode === 0) startNext(i, at, env, false)
    else if (i.restartPolicy === "Never") setStatus(i, at, "Failed", env)
    else crashBackoff(i, c, at, env)
    return
  }
  const restart = i.restartPolicy === "Always" || (i.restartPolicy === "OnFailure" && exitCode !== 0)
  if (restart) crashBackoff(i, c, at, env)
  else settle(i, at, env)
}

const apply = (i: Instance, at: number, action: Action, env: LifecycleEnv): "removed" | undefined => {
  switch (action.kind) {
    case "scheduled": {
      if (i.status !== "Scheduling") return
      if (i.noStock !== undefined) {
        addEvent(i, at, "Warning", "NoStock", `Create ECI failed because the specified instance is out of stock. ${i.noStock}`)
        setStatus(i, at, "ScheduleFailed", env)
        return
      }
      setStatus(i, at, "Pending", env)
      startNext(i, at, env, false)
      return
    }
    case "pulled": {
      const c = containerOf(i, action.ref)
      if (c === undefined) return
      if (unpullableImage(c.spec.image)) {
        c.pullFailures++
        addEvent(i, at, "Warning", "Failed", `Failed to pull image "${c.spec.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${c.spec.image}": not found`)
        addEvent(i, at, "Warning", "Failed", "Error: ErrImagePull")
        if (c.pullFailures > 1) addEvent(i, at, "Normal", "BackOff", `Back-off pulling image "${c.spec.image}"`)
        c.state = c.pullFailures === 1
          ? { state: "Waiting", reason: "ErrImagePull", message: `failed to pull image "${c.spec.image}": not found` }
          : { state: "Waiting", reason: "ImagePullBackOff", message: `Back-off pulling image "${c.spec.image}"` }
        schedule(i, at + backoff(env, c.pullFailures - 1), { kind: "retryPull", ref: action.ref })
        return
      }
      addEvent(i, at, "Normal", "Pulled", `Successfully pulled image "${c.spec.image}"`)
      createAndStart(i, c, at, env)
      return
    }
    case "retryPull": {
      const c = containerOf(i, action.ref)
      if (c !== undefined) beginPull(i, c, at, env, false)
      return
    }
    case "started": {
      const c = containerOf(i, action.ref)
      if (c !== undefined) onStarted(i, c, at, env)
      return
    }
    case "exited": {
      const c = containerOf(i, action.ref)
      if (c !== undefined) onExited(i, c, at, env)
      return
    }
    case "restart": {
      const c = containerOf(i, action.ref)
      if (c === undefined) return
      c.restartCount++
      beginPull(i, c, at, env, true)
      return
    }
    case "restartDone": {
      for (const c of [...i.initContainers, ...i.containers]) {
        if (c.runs.length > 0) {
          c.previous = c.state.state === "Terminated" ? c.state : c.previous
          c.restartCount++
        }
        c.gen++
        c.startedOnce = false
        c.state = { state: "Waiting", reason: !c.init && i.initContainers.length > 0 ? "PodInitializing" : "ContainerCreating" }
      }
      setStatus(i, at, "Pending", env)
      startNext(i, at, env, true)
      return
    }
    case "updateDone": {
      setStatus(i, at, "Pending", env)
      for (const index of action.changed) {
        const c = i.containers[index]
        if (c === undefined) continue
        if (c.state.state === "Terminated") c.previous = c.state
        if (c.runs.length > 0) c.restartCount++
        c.gen++
        if (initDone(i)) beginPull(i, c, at, env, false)
        else c.state = { state: "Waiting", reason: "PodInitializing" }
      }
      settle(i, at, env)
      return
    }
    case "deadline": {
      if (isTerminal(i) || i.status === "Terminating" || i.status === "Scheduling") return
      killAll(i, at, env, (c) => `Stopping container ${c.spec.name}`)
      addEvent(i, at, "Warning", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
      i.epoch++
      setStatus(i, at, "Failed", env)
      return
    }
    case "spotExpire": {
      if (isTerminal(i) || i.status === "Terminating") return
      killAll(i, at, env, (c) => `Stopping container ${c.spec.name}`)
      i.epoch++
      setStatus(i, at, "Expired", env)
      return
    }
    case "removed": {
      env.note(at, i, "released")
      env.remove(i)
      return "removed"
    }
  }
}

/** Apply every action due at or before `now`, in time order. Returns "removed" if the instance is gone. */
export const advance = (i: Instance, now: number, env: LifecycleEnv): "removed" | undefined => {
  // Fast path, no allocation: most instances have nothing due on most requests.
  if (!i.pending.some((a) => a.at <= now)) return undefined
  while (true) {
    i.pending = i.pending.filter((a) => isLive(i, a))
    let next: ScheduledAction | undefined
    for (const a of i.pending) {
      if (a.at > now) continue
      if (next === undefined || a.at < next.at || (a.at === next.at && a.seq < next.seq)) next = a
    }
    if (next === undefined) return undefined
    const chosen = next
    i.pending = i.pending.filter((a) => a !== chosen)
    if (apply(i, chosen.at, chosen.action, env) === "removed") return "removed"
  }
}

/** A new instance starts Scheduling. */
export const start = (i: Instance, env: LifecycleEnv) => {
  env.note(i.createdAt, i, `created ${i.name} in ${i.vSwitch.zoneId}${i.ip === undefined ? "" : ` ip ${i.ip}`}`)
  schedule(i, i.createdAt + jittered(i, env, env.timings.schedulingMs), { kind: "scheduled" })
  if (i.activeDeadlineSeconds !== undefined) {
    schedule(i, i.createdAt + i.activeDeadlineSeconds * 1000, { kind: "deadline" })
  }
}

/** DeleteContainerGroup: terminal instances go at once, others pass through Terminating. */
export const remove = (i: Instance, at: number, env: LifecycleEnv): "removed" | undefined => {
  if (isTerminal(i)) return apply(i, at, { kind: "removed" }, env)
  if (i.status === "Terminating") return undefined
  killAll(i, at, env, (c) => `Stopping container ${c.spec.name}`)
  i.epoch++
  setStatus(i, at, "Terminating", env)
  i.pending = i.pending.filter((a) => a.action.kind === "removed")
  schedule(i, at + jittered(i, env, env.timings.terminatingMs), { kind: "removed" })
  return undefined
}

/** RestartContainerGroup (callers check the status is Pending or Running). */
export const restartGroup = (i: Instance, at: number, env: LifecycleEnv) => {
  killAll(i, at, env, (c) => `Stopping container ${c.spec.name}`)
  i.epoch++
  setStatus(i, at, "Restarting", env)
  schedule(i, at + jittered(i, env, env.timings.restartingMs), { kind: "restartDone" })
}

/**
 * UpdateContainerGroup after the new specs are in place: containers whose definition changed are
 * killed now and started again (new image pulled) when the update completes.
 */
export const updateGroup = (i: Instance, at: number, changed: ReadonlyArray<number>, env: LifecycleEnv) => {
  for (const index of changed) {
    const c = i.containers[index]
    if (c !== undefined) kill(i, c, at, env, `Container ${c.spec.name} definition changed, will be restarted`)
  }
  setStatus(i, at, "Updating", env)
  schedule(i, at + jittered(i, env, env.timings.updatingMs), { kind: "updateDone", changed })
}

/** Spot reclaim: a SpotToBeReleased event now, Expired after the notice period. */
export const reclaimSpot = (i: Instance, at: number, env: LifecycleEnv) => {
  if (i.spotNoticeAt !== undefined || isTerminal(i)) return
  i.spotNoticeAt = at
  const minutes = Math.max(1, Math.round(env.timings.spotNoticeMs / 60_000))
  addEvent(i, at, "Warning", "SpotToBeReleased", `Spot ECI will be released in ${minutes} minutes`)
  env.note(at, i, "spot reclaim announced")
  schedule(i, at + env.timings.spotNoticeMs, { kind: "spotExpire" })
}

export const initialContainerState = (i: { readonly initContainers: ReadonlyArray<unknown> }, init: boolean): ContainerState => ({
  state: "Waiting",
  reason: !init && i.initContainers.length > 0 ? "PodInitializing" : "ContainerCreating"
})
