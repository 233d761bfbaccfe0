import { describe, expect, it } from "vitest"
import { milliCpu, parseQuantity, units } from "../../src/translate/quantity.ts"
import { qosClass } from "../../src/translate/qos.ts"
import { ECI_SPECS, formatSpec, isSupportedSpec, milliGiB, roundUpToSpec, sizePod } from "../../src/translate/specs.ts"
import { container, pod, request } from "./fixtures.ts"

const GiB = 1024 ** 3

describe("Kubernetes quantities", () => {
  it.each([
    ["100m", 100],
    ["0.1", 100],
    ["1", 1000],
    ["2.5", 2500],
    ["0.0001", 1], // rounded up to the millicore, like Quantity.MilliValue
    ["1e3", 1_000_000],
    ["1E-3", 1]
  ])("cpu %s is %d millicores", (q, m) => {
    expect(milliCpu(q)).toBe(m)
  })

  it.each([
    ["128974848", 128974848],
    ["129e6", 129000000],
    ["129M", 129000000],
    ["123Mi", 128974848],
    ["1Gi", GiB],
    ["1.5Gi", 1.5 * GiB],
    ["0.5Ki", 512],
    ["1k", 1000],
    ["500m", 1] // 0.5 bytes, rounded up
  ])("memory %s is %d bytes", (q, b) => {
    expect(units(q)).toBe(b)
  })

  it.each(["", "abc", "1.2.3", "-1", "1Xi", "Gi", "1e"])("refuses %j", (q) => {
    expect(parseQuantity(q)).toBeUndefined()
  })

  it("accepts numbers from JSON", () => {
    expect(milliCpu(2)).toBe(2000)
  })
})

describe("ECI spec table (all-region specs, §5.6)", () => {
  it("is ordered by vCPU then memory, from 0.25/0.5 to 64/512", () => {
    expect(ECI_SPECS[0]).toEqual({ cpu: 0.25, memory: 0.5 })
    expect(ECI_SPECS.at(-1)).toEqual({ cpu: 64, memory: 512 })
    const sorted = [...ECI_SPECS].sort((a, b) => a.cpu - b.cpu || a.memory - b.memory)
    expect(ECI_SPECS).toEqual(sorted)
  })

  it.each([
    [{ cpu: 2, memory: 1 }, true],
    [{ cpu: 52, memory: 96 }, true],
    [{ cpu: 8, memory: 14 }, false], // Hangzhou-only, not used
    [{ cpu: 3, memory: 6 }, false]
  ])("%j supported: %s", (s, yes) => {
    expect(isSupportedSpec(s)).toBe(yes)
  })

  describe("rounds up to the smallest spec covering both, never truncating", () => {
    it.each([
      // [cpu millicores, memory milli-GiB] → spec
      [7000, 13000, { cpu: 8, memory: 16 }], // the doc's example, under the all-region table
      [100, milliGiB("100Mi") ?? 0, { cpu: 0.25, memory: 0.5 }],
      [250, 500, { cpu: 0.25, memory: 0.5 }], // exact fit stays
      [251, 500, { cpu: 0.5, memory: 1 }],
      [250, 501, { cpu: 0.25, memory: 1 }],
      [1000, 10_000, { cpu: 2, memory: 16 }], // memory drives the vCPU up
      [0, 3000, { cpu: 1, memory: 4 }],
      [64_000, 512_000, { cpu: 64, memory: 512 }],
      [33_000, 64_000, { cpu: 52, memory: 96 }]
    ])("%d m / %d mGiB → %j", (c, m, spec) => {
      expect(roundUpToSpec({ milliCpu: c, milliGiB: m })).toEqual(spec)
    })

    it("finds nothing beyond 64 vCPU or 512 GiB", () => {
      expect(roundUpToSpec({ milliCpu: 64_001, milliGiB: 1 })).toBeUndefined()
      expect(roundUpToSpec({ milliCpu: 1, milliGiB: 512_001 })).toBeUndefined()
    })
  })

  it("formats specs the way the eci-instance-spec annotation shows them", () => {
    expect(formatSpec({ cpu: 2, memory: 4 })).toBe("2.0-4.0Gi")
    expect(formatSpec({ cpu: 0.25, memory: 0.5 })).toBe("0.25-0.5Gi")
  })
})

describe("pod sizing: max(Σ app containers, max init), each limit-else-request", () => {
  const res = (cpu?: string, memory?: string, kind: "limits" | "requests" = "limits") => ({
    resources: { [kind]: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } }
  })

  it("uses ECI's default 2 vCPU / 4 GiB when nothing names CPU or memory", () => {
    expect(sizePod(pod())).toMatchObject({ spec: { cpu: 2, memory: 4 }, defaulted: true })
  })

  it("sums app containers", () => {
    const p = pod({ containers: [container(res("1", "1Gi")), container({ name: "b", ...res("1500m", "2Gi") })] })
    expect(sizePod(p)).toMatchObject({ need: { milliCpu: 2500, milliGiB: 3000 }, spec: { cpu: 4, memory: 4 } })
  })

  it("takes the largest init container when it is bigger than the sum", () => {
    const p = pod({ containers: [container(res("500m", "1Gi"))], initContainers: [container({ name: "init", ...res("2", "1Gi") })] })
    expect(sizePod(p).need).toEqual({ milliCpu: 2000, milliGiB: 1000 })
  })

  it("prefers the limit over the request of a container", () => {
    const p = pod({ containers: [container({ resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "2", memory: "4Gi" } } })] })
    expect(sizePod(p).spec).toEqual({ cpu: 2, memory: 4 })
  })

  it("counts requests of containers without limits", () => {
    const p = pod({ containers: [container(res("3", "5Gi", "requests"))] })
    expect(sizePod(p).spec).toEqual({ cpu: 4, memory: 8 })
  })

  it("uses pod-level resources when set", () => {
    const p = pod({ resources: { limits: { cpu: "4", memory: "8Gi" } }, containers: [container(res("1", "1Gi"))] })
    expect(sizePod(p).spec).toEqual({ cpu: 4, memory: 8 })
  })

  it("sizes exactly: 0.1 + 0.15 vCPU fits 0.25", () => {
    const p = pod({ containers: [container(res("100m", "100Mi")), container({ name: "b", ...res("150m", "100Mi") })] })
    expect(sizePod(p).spec).toEqual({ cpu: 0.25, memory: 0.5 })
  })

  it("sends the rounded spec as the instance Cpu/Memory", () => {
    const r = request(pod({ containers: [container(res("7", "13Gi"))] }))
    expect([r.Cpu, r.Memory]).toEqual([8, 16])
    const small = request(pod({ containers: [container(res("100m", "100Mi"))] }))
    expect([small.Cpu, small.Memory]).toEqual([0.25, 0.5])
  })
})

describe("QoS class, as the kubelet computes it", () => {
  const c = (r: object) => container({ resources: r })
  it.each([
    ["no resources", [c({})], "BestEffort"],
    ["zero requests", [c({ requests: { cpu: "0" } })], "BestEffort"],
    ["limits only (requests default to them)", [c({ limits: { cpu: "1", memory: "1Gi" } })], "Guaranteed"],
    ["equal requests and limits", [c({ requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1000m", memory: "1024Mi" } })], "Guaranteed"],
    ["requests below limits", [c({ requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } })], "Burstable"],
    ["cpu limit only", [c({ limits: { cpu: "1" } })], "Burstable"],
    ["one of two containers without limits", [c({ limits: { cpu: "1", memory: "1Gi" } }), container({ name: "b" })], "Burstable"]
  ] as const)("%s → %s", (_, containers, cls) => {
    expect(qosClass(pod({ containers: [...containers] }))).toBe(cls)
  })

  it("includes init containers", () => {
    const p = pod({
      containers: [c({ limits: { cpu: "1", memory: "1Gi" } })],
      initContainers: [container({ name: "init", resources: { requests: { cpu: "100m" } } })]
    })
    expect(qosClass(p)).toBe("Burstable")
  })
})
