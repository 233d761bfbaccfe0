/**
 * The two shapes resource metrics leave the kubelet in, from one snapshot:
 *
 * - `/metrics/resource`: Prometheus text as the kubelet's resource collector writes it
 *   (pkg/kubelet/metrics/collectors/resource_metrics.go) and metrics-server v0.9 parses it
 *   (pkg/scraper/client/resource/decode.go): container and pod CPU (counter, core-seconds) and working
 *   set, node CPU and working set, container start times, and the scrape error gauge. Samples carry
 *   the ECI sample's timestamp in milliseconds; metrics-server computes CPU rates from two scrapes'
 *   (value, timestamp) pairs and keeps its previous point while the timestamp does not move, so a
 *   cached sample is harmless. It drops a node or pod whose CPU or memory is 0.
 * - `/stats/summary`: the stats/v1alpha1 Summary JSON (node, pods, containers; cpu, memory, network).
 *
 * Pure, so the exact text is pinned by tests.
 */

/** CPU and memory as ECI measures them; nodes, pods and containers all have it. */
export interface Usage {
  readonly cpuCoreNanoSeconds: number
  readonly cpuNanoCores: number
  readonly memoryWorkingSetBytes: number
  readonly memoryUsageBytes: number
  readonly memoryRssBytes: number
}

export interface ContainerSample extends Usage {
  readonly name: string
  readonly startTimeMs: number | undefined
}

export interface NetworkSample {
  readonly name: string
  readonly rxBytes: number
  readonly rxErrors: number
  readonly txBytes: number
  readonly txErrors: number
}

export interface PodSample extends Usage {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  readonly startTimeMs: number | undefined
  /** When ECI took the sample. */
  readonly timestampMs: number
  readonly memoryAvailableBytes: number | undefined
  readonly network: ReadonlyArray<NetworkSample>
  readonly containers: ReadonlyArray<ContainerSample>
}

/** `cpuCoreNanoSeconds` is monotonic: the CPU all our pods have used on this node (stats.ts keeps it from going back). */
export interface NodeSample extends Usage {
  readonly timestampMs: number
}

export interface StatsSnapshot {
  readonly nodeName: string
  readonly nodeStartTimeMs: number
  readonly node: NodeSample
  readonly pods: ReadonlyArray<PodSample>
  /** Why (part of) the data is missing, when it is. */
  readonly error: string | undefined
}

/**
 * Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which Prometheus' text format uses: the shortest
 * round-trip digits, exponent form when the exponent is below -4 or at least 6 (two-digit exponent).
 */
export const formatFloat = (v: number): string => {
  if (Number.isNaN(v)) return "NaN"
  if (v === Number.POSITIVE_INFINITY) return "+Inf"
  if (v === Number.NEGATIVE_INFINITY) return "-Inf"
  if (v === 0) return Object.is(v, -0) ? "-0" : "0"
  const [mantissa, exponent] = v.toExponential().split("e") as [string, string]
  const exp = Number(exponent)
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`
  return String(v)
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const labels = (pairs: ReadonlyArray<readonly [string, string]>) =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`

interface Family {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge"
  readonly samples: ReadonlyArray<string>
}

const sample = (name: string, pairs: ReadonlyArray<readonly [string, string]>, value: number, timestampMs?: number) =>
  `${name}${labels(pairs)} ${formatFloat(value)}${timestampMs === undefined ? "" : ` ${Math.round(timestampMs)}`}`

/** `/metrics/resource`, families in name order and labels sorted, as client_golang's registry writes them. */
export const resourceMetricsText = (s: StatsSnapshot): string => {
  const containerLabels = (p: PodSample, c: ContainerSample) => [["container", c.name], ["namespace", p.namespace], ["pod", p.name]] as const
  const podLabels = (p: PodSample) => [["namespace", p.namespace], ["pod", p.name]] as const
  const each = <A>(f: (p: PodSample, c: ContainerSample) => A | undefined) =>
    s.pods.flatMap((p) => p.containers.map((c) => f(p, c))).filter((x): x is A => x !== undefined)
  const failed = s.error === undefined ? 0 : 1
  const families: ReadonlyArray<Family> = [
    {
      name: "container_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
      type: "counter",
      samples: each((p, c) => sample("container_cpu_usage_seconds_total", containerLabels(p, c), c.cpuCoreNanoSeconds / 1e9, p.timestampMs))
    },
    {
      name: "container_memory_working_set_bytes",
      help: "[STABLE] Current working set of the container in bytes",
      type: "gauge",
      samples: each((p, c) => sample("container_memory_working_set_bytes", containerLabels(p, c), c.memoryWorkingSetBytes, p.timestampMs))
    },
    {
      name: "container_start_time_seconds",
      help: "[STABLE] Start time of the container since unix epoch in seconds",
      type: "gauge",
      samples: each((p, c) => (c.startTimeMs === undefined ? undefined : sample("container_start_time_seconds", containerLabels(p, c), c.startTimeMs / 1000)))
    },
    {
      name: "node_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
      type: "counter",
      samples: [sample("node_cpu_usage_seconds_total", [], s.node.cpuCoreNanoSeconds / 1e9, s.node.timestampMs)]
    },
    {
      name: "node_memory_working_set_bytes",
      help: "[STABLE] Current working set of the node in bytes",
      type: "gauge",
      samples: [sample("node_memory_working_set_bytes", [], s.node.memoryWorkingSetBytes, s.node.timestampMs)]
    },
    {
      name: "pod_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
      type: "counter",
      samples: s.pods.map((p) => sample("pod_cpu_usage_seconds_total", podLabels(p), p.cpuCoreNanoSeconds / 1e9, p.timestampMs))
    },
    {
      name: "pod_memory_working_set_bytes",
      help: "[STABLE] Current working set of the pod in bytes",
      type: "gauge",
      samples: s.pods.map((p) => sample("pod_memory_working_set_bytes", podLabels(p), p.memoryWorkingSetBytes, p.timestampMs))
    },
    {
      name: "resource_scrape_error",
      help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
      type: "gauge",
      samples: [sample("resource_scrape_error", [], failed)]
    },
    {
      // The pre-1.29 name, still asked for by older scrapers.
      name: "scrape_error",
      help: "[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
      type: "gauge",
      samples: [sample("scrape_error", [], failed)]
    }
  ]
  return families
    .filter((f) => f.samples.length > 0)
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples].join("\n"))
    .join("\n") + "\n"
}

/** metav1.Time: RFC 3339 to the second. */
const time = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")

const cpu = (timestampMs: number, x: Usage) => ({
  time: time(timestampMs),
  usageNanoCores: Math.round(x.cpuNanoCores),
  usageCoreNanoSeconds: Math.round(x.cpuCoreNanoSeconds)
})

const memory = (timestampMs: number, x: Usage, availableBytes?: number) => ({
  time: time(timestampMs),
  ...(availableBytes === undefined ? {} : { availableBytes: Math.round(availableBytes) }),
  usageBytes: Math.round(x.memoryUsageBytes),
  workingSetBytes: Math.round(x.memoryWorkingSetBytes),
  rssBytes: Math.round(x.memoryRssBytes),
  pageFaults: 0,
  majorPageFaults: 0
})

const network = (timestampMs: number, interfaces: ReadonlyArray<NetworkSample>) => {
  const stats = interfaces.map((i) => ({ name: i.name, rxBytes: i.rxBytes, rxErrors: i.rxErrors, txBytes: i.txBytes, txErrors: i.txErrors }))
  const primary = stats[0]
  return primary === undefined ? undefined : { time: time(timestampMs), ...primary, interfaces: stats }
}

/** stats/v1alpha1 Summary. Fields ECI does not measure (fs, volumes, rlimit, page faults) are absent or 0. */
export const summaryDocument = (s: StatsSnapshot) => ({
  node: {
    nodeName: s.nodeName,
    startTime: time(s.nodeStartTimeMs),
    cpu: cpu(s.node.timestampMs, s.node),
    memory: memory(s.node.timestampMs, s.node)
  },
  pods: s.pods.map((p) => {
    const net = network(p.timestampMs, p.network)
    return {
      podRef: { name: p.name, namespace: p.namespace, uid: p.uid },
      ...(p.startTimeMs === undefined ? {} : { startTime: time(p.startTimeMs) }),
      containers: p.containers.map((c) => ({
        name: c.name,
        ...(c.startTimeMs === undefined ? {} : { startTime: time(c.startTimeMs) }),
        cpu: cpu(p.timestampMs, c),
        memory: memory(p.timestampMs, c)
      })),
      cpu: cpu(p.timestampMs, p),
      memory: memory(p.timestampMs, p, p.memoryAvailableBytes),
      ...(net === undefined ? {} : { network: net })
    }
  })
})
