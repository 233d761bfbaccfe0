/**
 * The simulator's state and the synchronous handling of each action. Everything here runs inside
 * one `Effect.sync` per request (simulator.ts), so a request sees and changes the state atomically.
 * Time comes in as `now` (the simulator's Clock), randomness from the seeded `Random` handed in.
 */
import type * as Random from "effect/Random"
import type { EciAction } from "../Eci.ts"
import type { InstanceSummary, JournalEntry } from "./admin.ts"
import { quoteArgv } from "./commands.ts"
import {
  defaultRetention,
  profiles,
  type RetentionSpec,
  type SimulatorConfig,
  type StockOutSpec,
  type Timings,
  type TopologySpec
} from "./config.ts"
import { type ExecSession, runSync } from "./exec.ts"
import { FaultPlan } from "./faultPlan.ts"
import { Faults } from "./failures.ts"
import { canonicalJson, Fields, parseJsonStringArray } from "./fields.ts"
import { ImageCaches, validateCreateCache } from "./imageCaches.ts"
import * as Lifecycle from "./lifecycle.ts"
import { renderLog, parseLogQuery } from "./logs.ts"
import { metricRecords, multiRecordAt } from "./metrics.ts"
import { matchesTags, pageOf } from "./paging.ts"
import { hash32, Prng } from "./prng.ts"
import { Quotas } from "./quotas.ts"
import { specKey } from "./specs.ts"
import type { ContainerRuntime, ContainerSpec, Instance } from "./state.ts"
import { isTerminal } from "./state.ts"
import { derivedId, Network, type VSwitch } from "./topology.ts"
import { checkReferences, validateContainer, validateCreate, validateUpdate } from "./validation.ts"
import { groupView, rfc3339 } from "./views.ts"

type Response = Record<string, unknown>

interface TokenEntry {
  readonly id: string
  readonly fingerprint: string
  readonly expiresAt: number
}

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

export const resolveTimings = (config: SimulatorConfig): Timings => ({ ...profiles[config.profile], ...config.timings })

export class SimulatorCore {
  readonly config: SimulatorConfig
  readonly timings: Timings
  private readonly rng: Random.Random
  private readonly requestIds: Prng
  private readonly faultDraws: Prng
  private retention: RetentionSpec
  private stockOut: StockOutSpec
  readonly network: Network
  readonly caches = new ImageCaches()
  readonly quotas: Quotas
  readonly faults: FaultPlan
  private readonly instances = new Map<string, Instance>()
  private readonly tokens = new Map<string, TokenEntry>()
  private readonly createRequests = new Map<string, Readonly<Record<string, unknown>>>()
  private readonly execSessions = new Map<string, ExecSession>()
  private journalEntries: Array<{ readonly at: number; readonly seq: number; readonly id: string; readonly what: string }> = []
  private seq = 0
  private lastSweepAt = Number.NEGATIVE_INFINITY
  private journalSeq = 0
  private readonly env: Lifecycle.LifecycleEnv

  constructor(config: SimulatorConfig, rng: Random.Random) {
    this.config = config
    this.timings = resolveTimings(config)
    this.rng = rng
    // Request ids, exec tokens and fault draws come from their own streams, seeded once from Random,
    // so that looking at the simulator (every call has a request id and may draw a fault) does not
    // change the instances it creates: their ids and seeds are the only draws from `rng` itself.
    this.requestIds = new Prng(rng.nextIntUnsafe())
    this.faultDraws = new Prng(rng.nextIntUnsafe())
    this.retention = { ...defaultRetention, ...config.retention }
    this.stockOut = config.stockOut ?? {}
    this.network = new Network(config.topology)
    this.quotas = new Quotas(config.quotas)
    this.faults = new FaultPlan(config.faults)
    this.env = {
      timings: this.timings,
      note: (at, i, what) => this.note(at, i.id, what),
      remove: (i) => this.forget(i)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ids, journal, time

  private randomId(prefix: string, length: number): string {
    let s = ""
    for (let k = 0; k < length; k++) s += alphabet[Math.floor(this.rng.nextDoubleUnsafe() * alphabet.length)]
    return `${prefix}-${s}`
  }

  /** `89164E49-4F7E-4B05-8D49-4E26D9D0B6B8`, as ECI's RequestId looks. */
  newRequestId(): string {
    const hex = Array.from({ length: 32 }, () => "0123456789ABCDEF"[this.requestIds.int(16)]).join("")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }

  /** A uniform draw for fault injection. */
  draw(): number {
    return this.faultDraws.next()
  }

  private note(at: number, id: string, what: string) {
    this.journalEntries.push({ at, seq: this.journalSeq++, id, what })
    const limit = this.config.journalLimit ?? 10_000
    if (this.journalEntries.length > limit * 1.25) this.journalEntries = this.journalEntries.slice(-limit)
  }

  journal(): ReadonlyArray<JournalEntry> {
    // Instances advance one at a time; sorting by (time, instance, order) makes the journal
    // independent of which instance happened to be advanced first.
    return [...this.journalEntries]
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.seq - b.seq)
      .slice(-(this.config.journalLimit ?? 10_000))
      .map((e) => ({ at: new Date(e.at).toISOString(), containerGroupId: e.id, what: e.what }))
  }

  private forget(i: Instance) {
    if (i.ip !== undefined) this.network.release(i.vSwitch, i.ip)
    i.ip = undefined
    this.instances.delete(i.id)
  }

  private retentionOf(i: Instance) {
    return i.status === "ScheduleFailed" ? this.retention.scheduleFailedMs : this.retention.terminalMs
  }

  /** Bring everything up to `now`: lifecycles, retention of terminal instances, expiries. */
  advanceAll(now: number) {
    for (const i of [...this.instances.values()]) Lifecycle.advance(i, now, this.env)
    this.applyRetention(now)
    // Expired client tokens and exec sessions are ignored where they are read; sweeping them once a
    // simulated minute keeps the maps small without a pass over them on every request.
    if (now - this.lastSweepAt >= 60_000) {
      this.lastSweepAt = now
      for (const [key, t] of this.tokens) if (now >= t.expiresAt) this.tokens.delete(key)
      const ttl = this.config.execSessionTtlMs ?? 60_000
      for (const [token, s] of this.execSessions) if (now >= s.createdAt + ttl) this.execSessions.delete(token)
    }
    this.caches.purge(now, this.timings)
  }

  /** Reference §0.7: after the retention window only the newest N terminal instances per region remain. */
  private applyRetention(now: number) {
    const expired = [...this.instances.values()].filter((i) =>
      isTerminal(i) && i.terminalAt !== undefined && now >= i.terminalAt + this.retentionOf(i)
    )
    if (expired.length === 0) return
    const byRegion = new Map<string, Array<Instance>>()
    for (const i of this.instances.values()) {
      if (!isTerminal(i) || i.status === "ScheduleFailed") continue
      const list = byRegion.get(i.regionId)
      if (list === undefined) byRegion.set(i.regionId, [i])
      else list.push(i)
    }
    const kept = new Set<string>()
    for (const list of byRegion.values()) {
      for (const i of list.sort((a, b) => b.seq - a.seq).slice(0, this.retention.keepNewest)) kept.add(i.id)
    }
    for (const i of expired) {
      if (kept.has(i.id)) continue
      this.note(i.terminalAt! + this.retentionOf(i), i.id, "retention expired")
      this.forget(i)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lookups

  private instance(f: Fields): Instance {
    const regionId = f.requiredStr("RegionId")
    const id = f.requiredStr("ContainerGroupId")
    const i = this.instances.get(id)
    if (i === undefined || i.regionId !== regionId) throw Faults.containerGroupNotFound(id)
    return i
  }

  private container(i: Instance, name: string): ContainerRuntime {
    const c = [...i.containers, ...i.initContainers].find((x) => x.spec.name === name)
    if (c === undefined) throw Faults.invalidParameter("ContainerName", `no container named ${name} in ${i.id}`)
    return c
  }

  private idempotent(key: string | undefined, request: unknown, now: number): string | undefined {
    if (key === undefined) return undefined
    const entry = this.tokens.get(key)
    if (entry === undefined || now >= entry.expiresAt) return undefined
    if (entry.fingerprint !== fingerprint(request)) throw Faults.idempotentParameterMismatch()
    return entry.id
  }

  private remember(key: string | undefined, request: unknown, id: string, now: number) {
    if (key !== undefined) this.tokens.set(key, { id, fingerprint: fingerprint(request), expiresAt: now + this.retention.clientTokenMs })
  }

  // ---------------------------------------------------------------------------------------------
  // Actions

  dispatch(action: EciAction, request: unknown, now: number): Response {
    this.advanceAll(now)
    switch (action) {
      case "CreateContainerGroup":
        return this.create(request, now)
      case "DescribeContainerGroups":
        return this.describe(request)
      case "DeleteContainerGroup":
        return this.delete(request, now)
      case "UpdateContainerGroup":
        return this.update(request, now)
      case "RestartContainerGroup":
        return this.restart(request, now)
      case "DescribeContainerLog":
        return this.logs(request, now)
      case "ExecContainerCommand":
        return this.exec(request, now)
      case "DescribeContainerGroupMetric":
        return this.metric(request, now)
      case "DescribeMultiContainerGroupMetric":
        return this.multiMetric(request, now)
      case "CreateImageCache":
        return this.createImageCache(request, now)
      case "DescribeImageCaches":
        return this.caches.describe(request, now, this.timings)
      case "DeleteImageCache":
        return this.deleteImageCache(request)
    }
  }

  private isStockedOut(zoneId: string, cpu: number, memory: number, instanceType: string | undefined) {
    const specs = this.stockOut.specs ?? []
    return (this.stockOut.zones ?? []).includes(zoneId)
      || specs.includes(specKey(cpu, memory))
      || (instanceType !== undefined && instanceType.split(",").some((t) => specs.includes(t.trim())))
  }

  private create(request: unknown, now: number): Response {
    const plan = validateCreate(request)
    this.network.checkRegion(plan.regionId)
    const tokenKey = plan.clientToken === undefined ? undefined : `cg/${plan.regionId}/${plan.clientToken}`
    const existing = this.idempotent(tokenKey, request, now)
    if (existing !== undefined) return { ContainerGroupId: existing }

    let candidates: Array<VSwitch> = plan.vSwitchIds.length > 0
      ? plan.vSwitchIds.map((id) => this.network.vSwitch(plan.regionId, id))
      : [this.network.defaultVSwitch(plan.regionId)]
    if (plan.zoneId !== undefined) {
      // Without a topology a vSwitch's zone is only a derivation: the caller's ZoneId wins.
      candidates = this.network.isConfigured
        ? candidates.filter((v) => v.zoneId === plan.zoneId)
        : candidates.map((v) => ({ ...v, zoneId: plan.zoneId! }))
      if (candidates.length === 0) throw Faults.invalidParameter("ZoneId", `no given vSwitch is in zone ${plan.zoneId}`)
    }
    const instanceSeed = this.rng.nextIntUnsafe()
    const prng = new Prng(instanceSeed)
    if (plan.scheduleStrategy === "VSwitchRandom") {
      for (let k = candidates.length - 1; k > 0; k--) {
        const j = prng.int(k + 1)
        ;[candidates[k], candidates[j]] = [candidates[j]!, candidates[k]!]
      }
    }
    const securityGroup = this.network.securityGroup(plan.regionId, plan.securityGroupId, candidates[0]!)
    const stocked = candidates.filter((v) => !this.isStockedOut(v.zoneId, plan.cpu, plan.memory, plan.instanceType))
    const chosen = stocked.find((v) => this.network.freeAddresses(v) > 0)
    const what = `${plan.instanceType ?? specKey(plan.cpu, plan.memory)} in ${candidates.map((v) => v.zoneId).join(",")}`
    if (stocked.length === 0 && this.stockOut.mode === "sync") throw Faults.noStock(what)
    if (stocked.length > 0 && chosen === undefined) throw Faults.ipExhausted(stocked.map((v) => v.id))
    if (plan.dryRun) throw Faults.dryRunSuccess()

    const id = this.randomId("eci", 20)
    const vSwitch = chosen ?? candidates[0]!
    const ip = chosen === undefined ? undefined : this.network.allocate(chosen)
    const images = [...plan.initContainers, ...plan.containers].map((c) => c.image)
    const imageCache = this.imageCacheFor(plan.regionId, plan.imageSnapshotId, plan.autoMatchImageCache, images, now)
    const h = hash32(id)
    const instance: Instance = {
      id,
      seq: this.seq++,
      regionId: plan.regionId,
      name: plan.name,
      createdAt: now,
      request: structuredClone(request as Record<string, unknown>),
      vSwitch,
      securityGroupId: securityGroup.id,
      ip,
      eniId: derivedId("eni", id),
      internetIp: plan.autoCreateEip ? `47.${96 + (h % 32)}.${(h >>> 8) & 255}.${1 + ((h >>> 16) % 254)}` : undefined,
      ipv6Address: plan.ipv6 ? `2408:4005:3ff:${(h & 0xffff).toString(16)}::${((h >>> 16) & 0xffff).toString(16)}` : undefined,
      cpu: plan.cpu,
      memory: plan.memory,
      instanceType: plan.instanceType,
      restartPolicy: plan.restartPolicy,
      tags: plan.tags,
      spotStrategy: plan.spotStrategy,
      spotPriceLimit: plan.spotPriceLimit,
      status: "Scheduling",
      succeededAt: undefined,
      failedAt: undefined,
      expiredAt: undefined,
      terminalAt: undefined,
      containers: [],
      initContainers: [],
      volumes: plan.volumes,
      events: [],
      pending: [],
      epoch: 0,
      nextSeq: 0,
      prng,
      noStock: stocked.length === 0 ? what : undefined,
      imageCacheId: imageCache.id,
      hostName: plan.hostName ?? plan.name,
      activeDeadlineSeconds: plan.activeDeadlineSeconds,
      spotNoticeAt: undefined
    }
    instance.initContainers = plan.initContainers.map((spec, index) => runtime(instance, spec, true, index))
    instance.containers = plan.containers.map((spec, index) => runtime(instance, spec, false, index))
    if (imageCache.event !== undefined) {
      Lifecycle.addEvent(instance, now, imageCache.event.type, imageCache.event.reason, imageCache.event.message)
    }
    if (plan.specRounded) {
      Lifecycle.addEvent(instance, now, "Normal", "AutoInstanceTypeMatch", `The instance spec is rounded up to ${specKey(plan.cpu, plan.memory)} (vCPU-GiB)`)
    }
    this.instances.set(id, instance)
    this.createRequests.set(id, instance.request)
    // Kept after the instance is gone, but not forever: the newest 10 000 requests.
    if (this.createRequests.size > 10_000) this.createRequests.delete(this.createRequests.keys().next().value!)
    this.remember(tokenKey, request, id, now)
    Lifecycle.start(instance, this.env)
    return { ContainerGroupId: id }
  }

  private imageCacheFor(
    regionId: string,
    snapshotId: string | undefined,
    autoMatch: boolean,
    images: ReadonlyArray<string>,
    now: number
  ): {
    readonly id: string | undefined
    readonly event: { readonly type: "Normal" | "Warning"; readonly reason: string; readonly message: string } | undefined
  } {
    if (snapshotId !== undefined && snapshotId !== "") {
      const cache = this.caches.get(snapshotId)
      if (cache === undefined || cache.regionId !== regionId) {
        return { id: undefined, event: { type: "Warning", reason: "ImageCacheNotFound", message: `[eci.imagecache]The image cache ${snapshotId} is not found.` } }
      }
      if (!this.caches.isReady(snapshotId, now, this.timings)) {
        return { id: undefined, event: { type: "Warning", reason: "ImageCacheNotComplete", message: `[eci.imagecache]The image cache ${snapshotId} is not ready.` } }
      }
      return { id: snapshotId, event: { type: "Normal", reason: "SuccessfulHitImageCache", message: `[eci.imagecache]Successfully hit image cache ${snapshotId}, eci will be scheduled with this image cache.` } }
    }
    if (!autoMatch) return { id: undefined, event: undefined }
    const match = this.caches.match(regionId, images, now, this.timings)
    return match === undefined
      ? { id: undefined, event: { type: "Warning", reason: "ImageCacheMissed", message: "[eci.imagecache]Missed image cache." } }
      : { id: match.id, event: { type: "Normal", reason: "SuccessfulHitImageCache", message: `[eci.imagecache]Successfully hit image cache ${match.id}, eci will be scheduled with this image cache.` } }
  }

  private describe(request: unknown): Response {
    const f = new Fields(request)
    const regionId = f.requiredStr("RegionId")
    const idsText = f.str("ContainerGroupIds")
    const ids = idsText === undefined || idsText === "" ? undefined : parseJsonStringArray("ContainerGroupIds", idsText)
    if (ids !== undefined && ids.length > 20) throw Faults.invalidParameter("ContainerGroupIds", "at most 20 ids")
    const name = f.str("ContainerGroupName")
    const status = f.str("Status")
    const zoneId = f.str("ZoneId")
    const vSwitchId = f.str("VSwitchId")
    const resourceGroupId = f.str("ResourceGroupId")
    const tags = f.list("Tag") ?? []
    // Assumption: events are returned only when asked for (WithEvent=true); see README.md.
    const withEvents = f.bool("WithEvent") ?? false
    const given = (v: string | undefined): v is string => v !== undefined && v !== ""
    const found = [...this.instances.values()].filter((i) =>
      i.regionId === regionId
      && (ids === undefined || ids.includes(i.id))
      && (!given(name) || i.name === name)
      && (!given(status) || i.status === status)
      && (!given(zoneId) || i.vSwitch.zoneId === zoneId)
      && (!given(vSwitchId) || i.vSwitch.id === vSwitchId)
      && (!given(resourceGroupId) || new Fields(i.request).str("ResourceGroupId") === resourceGroupId)
      && matchesTags(i.tags, tags)
    )
    const { page, nextToken } = pageOf(found, f, { default: 20, max: 20 })
    return { ContainerGroups: page.map((i) => groupView(i, withEvents)), NextToken: nextToken, TotalCount: found.length }
  }

  private delete(request: unknown, now: number): Response {
    const i = this.instance(new Fields(request))
    Lifecycle.remove(i, now, this.env)
    return {}
  }

  private requireActive(i: Instance, operation: string) {
    if (i.status !== "Pending" && i.status !== "Running") throw Faults.incorrectStatus(i.id, i.status, operation)
  }

  private restart(request: unknown, now: number): Response {
    const i = this.instance(new Fields(request))
    this.requireActive(i, "RestartContainerGroup")
    Lifecycle.restartGroup(i, now, this.env)
    return {}
  }

  private update(request: unknown, now: number): Response {
    const plan = validateUpdate(request)
    const i = this.instance(new Fields(request))
    this.requireActive(i, "UpdateContainerGroup")
    const merge = (list: ReadonlyArray<ContainerRuntime>, given: typeof plan.containers, listName: string) =>
      given.map(({ fields }, k) => {
        const index = list.findIndex((c) => c.spec.name === fields.str("Name"))
        const current = list[index]
        if (current === undefined) {
          throw Faults.invalidParameter(`${listName}.${k + 1}.Name`, `no container named ${fields.str("Name")} in ${i.id}`)
        }
        const raw = plan.incremental ? { ...current.spec.raw, ...fields.raw } : fields.raw
        const spec = validateContainer(new Fields(raw, `${listName}.${k + 1}`), { requireImage: true })
        return { index, spec: { ...spec, image: spec.image ?? current.spec.image } satisfies ContainerSpec }
      })
    const containers = merge(i.containers, plan.containers, "Container")
    const inits = merge(i.initContainers, plan.initContainers, "InitContainer")
    let volumes = i.volumes
    if (plan.volumes !== undefined) {
      volumes = plan.incremental
        ? [...i.volumes.filter((v) => !plan.volumes!.some((n) => n.name === v.name)), ...plan.volumes]
        : plan.volumes
    }
    const specsAfter = (list: ReadonlyArray<ContainerRuntime>, changes: typeof containers) =>
      list.map((c, index) => changes.find((x) => x.index === index)?.spec ?? c.spec)
    const appSpecs = specsAfter(i.containers, containers)
    checkReferences(appSpecs, specsAfter(i.initContainers, inits), volumes)
    const cpu = plan.cpu ?? i.cpu
    const memory = plan.memory ?? i.memory
    const need = appSpecs.reduce((s, c) => ({ cpu: s.cpu + (c.cpu ?? 0), memory: s.memory + (c.memory ?? 0) }), { cpu: 0, memory: 0 })
    if (need.cpu > cpu || need.memory > memory) {
      throw Faults.invalidParameter("Container", `containers ask for ${specKey(need.cpu, need.memory)}, more than the instance's ${specKey(cpu, memory)}`)
    }
    // Everything is valid: apply.
    const definition = (s: ContainerSpec) => canonicalJson([s.image, s.command, s.args, s.env, s.workingDir ?? "", s.mounts])
    const changed: Array<number> = []
    for (const { index, spec } of containers) {
      const c = i.containers[index]!
      if (definition(c.spec) !== definition(spec)) changed.push(index)
      c.spec = spec
    }
    for (const { index, spec } of inits) i.initContainers[index]!.spec = spec
    i.volumes = volumes
    i.cpu = cpu
    i.memory = memory
    if (plan.restartPolicy !== undefined) i.restartPolicy = plan.restartPolicy
    if (plan.tags !== undefined) i.tags = plan.tags
    Lifecycle.updateGroup(i, now, changed, this.env)
    return {}
  }

  private logs(request: unknown, now: number): Response {
    const f = new Fields(request)
    const i = this.instance(f)
    const name = f.requiredStr("ContainerName")
    const c = this.container(i, name)
    return { ContainerName: name, Content: renderLog(c, now, parseLogQuery(f, now), this.timings) }
  }

  private exec(request: unknown, now: number): Response {
    const f = new Fields(request)
    const i = this.instance(f)
    const name = f.requiredStr("ContainerName")
    const command = parseJsonStringArray("Command", f.requiredStr("Command"))
    if (command.length === 0 || command.length > 20) throw Faults.invalidParameter("Command", "1 to 20 items")
    if (command.some((a) => a.length > 256)) throw Faults.invalidParameter("Command", "each item at most 256 characters")
    const tty = f.bool("TTY") ?? false
    const stdin = f.bool("Stdin") ?? true
    const sync = f.bool("Sync") ?? false
    if (sync && tty) throw Faults.invalidParameter("Sync", "Sync requires TTY=false")
    const c = this.container(i, name)
    if (c.state.state !== "Running") throw Faults.incorrectStatus(i.id, `${i.status} (container ${name} is ${c.state.state})`, "ExecContainerCommand")
    const context = { ...Lifecycle.shellContextFor(i, c), mode: "exec" as const, tty }
    if (sync) return { SyncResponse: runSync(command, context).output }
    const token = Array.from({ length: 32 }, () => "0123456789abcdef"[this.requestIds.int(16)]).join("")
    this.execSessions.set(token, {
      token,
      containerGroupId: i.id,
      containerName: name,
      command,
      tty,
      stdin,
      createdAt: now,
      context
    })
    const base = (this.config.execBaseUrl ?? `wss://eci-${i.regionId}.aliyun.com`).replace(/\/$/, "")
    return {
      WebSocketUri: `${base}/exec/?s=${token}`,
      HttpUrl: `${base.replace(/^ws/, "http")}/terminal/?s=${token}&cmd=${encodeURIComponent(quoteArgv(command))}`
    }
  }

  /** An exec session, once: the token is consumed. */
  takeExecSession(token: string, now: number): ExecSession | undefined {
    this.advanceAll(now)
    const s = this.execSessions.get(token)
    this.execSessions.delete(token)
    return s !== undefined && now < s.createdAt + (this.config.execSessionTtlMs ?? 60_000) ? s : undefined
  }

  private metric(request: unknown, now: number): Response {
    const f = new Fields(request)
    const i = this.instance(f)
    return { ContainerGroupId: i.id, Records: metricRecords(i, f, now) }
  }

  private multiMetric(request: unknown, now: number): Response {
    const f = new Fields(request)
    const regionId = f.requiredStr("RegionId")
    const ids = parseJsonStringArray("ContainerGroupIds", f.requiredStr("ContainerGroupIds"))
    if (ids.length > 20) throw Faults.invalidParameter("ContainerGroupIds", "at most 20 ids")
    const type = f.str("MetricType")
    if (type !== undefined && type !== "" && type !== "summary") throw Faults.invalidParameter("MetricType", "only summary is supported")
    const found = ids.map((id) => this.instances.get(id)).filter((i): i is Instance => i !== undefined && i.regionId === regionId)
    return { MonitorDatas: found.map((i) => ({ ContainerGroupId: i.id, Records: [multiRecordAt(i, now)] })) }
  }

  private createImageCache(request: unknown, now: number): Response {
    const plan = validateCreateCache(request)
    this.network.checkRegion(plan.regionId)
    const tokenKey = plan.clientToken === undefined ? undefined : `imc/${plan.regionId}/${plan.clientToken}`
    const existing = this.idempotent(tokenKey, request, now)
    if (existing !== undefined) return { ImageCacheId: existing, ContainerGroupId: this.caches.get(existing)?.builderId ?? "" }
    const vSwitches = plan.vSwitchIds.map((id) => this.network.vSwitch(plan.regionId, id))
    this.network.securityGroup(plan.regionId, plan.securityGroupId, vSwitches[0]!)
    const id = this.randomId("imc", 20)
    const builderId = this.randomId("eci", 20)
    this.caches.add({
      id,
      seq: this.seq++,
      regionId: plan.regionId,
      name: plan.name,
      createdAt: now,
      images: plan.images,
      size: plan.size,
      retentionDays: plan.retentionDays,
      eliminationStrategy: plan.eliminationStrategy,
      tags: plan.tags,
      builderId,
      snapshotId: derivedId("s", id),
      request: structuredClone(request as Record<string, unknown>)
    })
    this.remember(tokenKey, request, id, now)
    this.note(now, id, `image cache ${plan.name} created`)
    return { ImageCacheId: id, ContainerGroupId: builderId }
  }

  private deleteImageCache(request: unknown): Response {
    const f = new Fields(request)
    const regionId = f.requiredStr("RegionId")
    const id = f.requiredStr("ImageCacheId")
    const cache = this.caches.get(id)
    if (cache === undefined || cache.regionId !== regionId) throw Faults.imageCacheNotFound(id)
    this.caches.delete(id)
    return {}
  }

  // ---------------------------------------------------------------------------------------------
  // Admin

  reset() {
    this.instances.clear()
    this.tokens.clear()
    this.createRequests.clear()
    this.execSessions.clear()
    this.caches.clear()
    this.journalEntries = []
    this.network.reset()
    this.network.setTopology(this.config.topology)
    this.stockOut = this.config.stockOut ?? {}
    this.retention = { ...defaultRetention, ...this.config.retention }
  }

  setStockOut(stockOut: StockOutSpec) {
    this.stockOut = stockOut
  }

  setTopology(topology: TopologySpec | undefined) {
    this.network.setTopology(topology)
  }

  setRetention(retention: Partial<RetentionSpec>) {
    this.retention = { ...this.retention, ...retention }
  }

  /** Undefined when the instance does not exist; an error text when it cannot be reclaimed. */
  reclaimSpot(id: string, now: number): string | undefined {
    const i = this.instances.get(id)
    if (i === undefined) return `no container group ${id}`
    if (i.spotStrategy === "NoSpot") return `${id} is not a spot instance`
    Lifecycle.reclaimSpot(i, now, this.env)
    return undefined
  }

  listInstances(): ReadonlyArray<InstanceSummary> {
    return [...this.instances.values()].sort((a, b) => a.seq - b.seq).map((i) => ({
      containerGroupId: i.id,
      containerGroupName: i.name,
      regionId: i.regionId,
      zoneId: i.vSwitch.zoneId,
      vSwitchId: i.vSwitch.id,
      status: i.status,
      intranetIp: i.ip ?? "",
      creationTime: rfc3339(i.createdAt),
      spot: i.spotStrategy !== "NoSpot",
      tags: i.tags,
      containers: [...i.initContainers, ...i.containers].map((c) => ({
        name: c.spec.name,
        state: c.state.state,
        reason: c.state.reason,
        restartCount: c.restartCount
      }))
    }))
  }

  createRequestOf(id: string): Readonly<Record<string, unknown>> | undefined {
    const r = this.createRequests.get(id)
    return r === undefined ? undefined : structuredClone(r)
  }
}

const fingerprint = (request: unknown) => {
  const { ClientToken: _token, ...rest } = (request ?? {}) as Record<string, unknown>
  return canonicalJson(rest)
}

const runtime = (i: Instance, spec: ContainerSpec, init: boolean, index: number): ContainerRuntime => ({
  spec,
  init,
  index,
  restartCount: 0,
  state: Lifecycle.initialContainerState(i, init),
  previous: undefined,
  runs: [],
  gen: 0,
  pullFailures: 0,
  startedOnce: false
})
