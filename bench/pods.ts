/**
 * Pods of one workload: created and deleted by the harness, observed through one watch. Every time is
 * the harness's wall clock (Date.now) when it sent a request or received a watch event, so all three
 * systems are timed by the same observer with the same watch delay. creationTimestamp is not used: it
 * has one-second resolution.
 */
import { type Kube, mapLimit, sleep } from "./kube.ts"

export interface PodTimes {
  readonly name: string
  createSent?: number
  created?: number
  uid?: string
  /** First watch event with spec.nodeName set: the kubelet's watch sees the pod about now. */
  bound?: number
  /** First watch event with status.phase Running. */
  running?: number
  deleteSent?: number
  /** DELETED watch event. */
  gone?: number
  createError?: string
}

interface PodEvent {
  readonly type: string
  readonly object: {
    readonly kind?: string
    readonly code?: number
    readonly metadata?: { readonly name?: string; readonly uid?: string; readonly resourceVersion?: string }
    readonly spec?: { readonly nodeName?: string }
    readonly status?: { readonly phase?: string }
  }
}

export interface Tracker {
  readonly pods: Map<string, PodTimes>
  readonly stop: () => Promise<void>
  readonly count: (p: (t: PodTimes) => boolean) => number
  /** Resolves when `done()` holds (checked every 100 ms) or after `timeoutMs`; true if it held. */
  readonly waitFor: (done: () => boolean, timeoutMs: number) => Promise<boolean>
}

export const PODS_NAMESPACE = "bench"

/** Watches the pods labelled `bench-run=<run>` until stopped; re-lists if the watch expires. */
export const trackPods = async (kube: Kube, run: string): Promise<Tracker> => {
  const pods = new Map<string, PodTimes>()
  const times = (name: string) => {
    let t = pods.get(name)
    if (t === undefined) pods.set(name, (t = { name }))
    return t
  }
  const base = `/api/v1/namespaces/${PODS_NAMESPACE}/pods`
  const selector = `labelSelector=${encodeURIComponent(`bench-run=${run}`)}`
  const controller = new AbortController()
  const apply = (type: string, o: PodEvent["object"], at: number) => {
    const name = o.metadata?.name
    if (name === undefined) return
    const t = times(name)
    if (o.metadata?.uid !== undefined) t.uid = o.metadata.uid
    if (type === "DELETED") {
      t.gone ??= at
      return
    }
    if (o.spec?.nodeName !== undefined && o.spec.nodeName !== "") t.bound ??= at
    if (o.status?.phase === "Running") t.running ??= at
  }
  const list = async () => {
    const l = await kube.json<{ metadata: { resourceVersion: string }; items: Array<PodEvent["object"]> }>("GET", `${base}?${selector}`)
    const at = Date.now()
    for (const o of l.items) apply("ADDED", o, at)
    return l.metadata.resourceVersion
  }
  let rv = await list()
  let ready!: () => void
  const started = new Promise<void>((r) => (ready = r))
  const loop = (async () => {
    while (!controller.signal.aborted) {
      let expired = false
      try {
        await kube.stream(`${base}?${selector}&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`, (raw) => {
          const e = raw as PodEvent
          const at = Date.now()
          if (e.type === "ERROR") {
            expired = e.object.code === 410
            return
          }
          if (e.object.metadata?.resourceVersion !== undefined) rv = e.object.metadata.resourceVersion
          if (e.type === "BOOKMARK") return
          apply(e.type, e.object, at)
        }, controller.signal)
      } catch (err) {
        if (controller.signal.aborted) break
        process.stderr.write(`[bench] watch error (${String(err)}); re-listing\n`)
        expired = true
        await sleep(200)
      }
      if (expired && !controller.signal.aborted) rv = await list()
    }
  })()
  // The watch is registered once its request is out; a short pause covers the handshake.
  setTimeout(ready, 300)
  await started
  return {
    pods,
    stop: async () => {
      controller.abort()
      await loop.catch(() => undefined)
    },
    count: (p) => {
      let n = 0
      for (const t of pods.values()) if (p(t)) n++
      return n
    },
    waitFor: async (done, timeoutMs) => {
      const end = Date.now() + timeoutMs
      while (!done()) {
        if (Date.now() > end) return false
        await sleep(100)
      }
      return true
    }
  }
}

export interface PodTemplateOptions {
  readonly run: string
  readonly nodeName: string
}

/** The pod every system gets: one container, small requests, pinned to the node through the scheduler. */
export const podManifest = (name: string, o: PodTemplateOptions) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: PODS_NAMESPACE, labels: { "bench-run": o.run, app: "bench" } },
  spec: {
    // Through kube-scheduler (nodeSelector), not spec.nodeName: the path a Deployment's pods take.
    nodeSelector: { "kubernetes.io/hostname": o.nodeName },
    tolerations: [{ operator: "Exists" }],
    // 1 s: deletion goes through the kubelet (0 would remove the pod at once) without a 30 s wait.
    terminationGracePeriodSeconds: 1,
    // No projected token volume: VK's mock and kwok ignore volumes, so a token would time only ours.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    containers: [{ name: "app", image: "nginx:1.27", resources: { requests: { cpu: "100m", memory: "100Mi" } } }]
  }
})

/**
 * Creates the pods with at most `concurrency` requests in flight; with `perSecond`, paced at that
 * rate instead (each create starts at its slot). Times land in the tracker.
 */
export const createPods = async (
  kube: Kube,
  tracker: Tracker,
  names: ReadonlyArray<string>,
  o: PodTemplateOptions & { readonly concurrency: number; readonly perSecond?: number }
) => {
  const t0 = Date.now()
  await mapLimit(names, o.concurrency, async (name, i) => {
    if (o.perSecond !== undefined) {
      const slot = t0 + (i * 1000) / o.perSecond
      const wait = slot - Date.now()
      if (wait > 0) await sleep(wait)
    }
    const t = tracker.pods.get(name) ?? { name }
    tracker.pods.set(name, t)
    t.createSent = Date.now()
    try {
      const r = await kube.request("POST", `/api/v1/namespaces/${PODS_NAMESPACE}/pods`, podManifest(name, o))
      if (r.status !== 201) t.createError = `HTTP ${r.status}: ${r.body.slice(0, 200)}`
      else t.created = Date.now()
    } catch (e) {
      t.createError = String(e)
    }
  })
}

/** Deletes (graceful: the pod's 1 s) with bounded concurrency. */
export const deletePods = async (kube: Kube, tracker: Tracker, names: ReadonlyArray<string>, concurrency: number, graceSeconds?: number) => {
  await mapLimit(names, concurrency, async (name) => {
    const t = tracker.pods.get(name)
    if (t !== undefined && graceSeconds === undefined) t.deleteSent = Date.now()
    const body = graceSeconds === undefined ? undefined : { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: graceSeconds }
    await kube.request("DELETE", `/api/v1/namespaces/${PODS_NAMESPACE}/pods/${name}`, body).catch(() => undefined)
  })
}
