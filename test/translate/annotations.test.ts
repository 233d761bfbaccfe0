import { describe, expect, it } from "vitest"
import { CONTROLLER_ANNOTATIONS, SUPPORTED_ANNOTATIONS, UNSUPPORTED_ANNOTATIONS } from "../../src/translate/annotations.ts"
import { container, pod, refusals, request, warnings } from "./fixtures.ts"

const K = "k8s.aliyun.com/"
const annotated = (annotations: Record<string, string>, spec = {}) => pod(spec, { annotations })

describe("pod annotations → CreateContainerGroup (§5.4)", () => {
  describe("each supported annotation sets its parameter", () => {
    it.each([
      [`${K}eci-vswitch`, "vsw-x, vsw-y", { VSwitchId: "vsw-x,vsw-y" }],
      [`${K}eci-schedule-strategy`, "VSwitchRandom", { ScheduleStrategy: "VSwitchRandom" }],
      [`${K}eci-security-group`, "sg-custom", { SecurityGroupId: "sg-custom" }],
      [`${K}eci-cpu-option-core`, "2", { CpuOptionsCore: 2 }],
      [`${K}eci-cpu-option-ht`, "1", { CpuOptionsThreadsPerCore: 1 }],
      [`${K}eci-spot-strategy`, "SpotAsPriceGo", { SpotStrategy: "SpotAsPriceGo" }],
      [`${K}eci-spot-duration`, "0", { SpotDuration: 0 }],
      [`${K}eci-ram-role-name`, "my-role", { RamRoleName: "my-role" }],
      [`${K}eci-resource-group-id`, "rg-123", { ResourceGroupId: "rg-123" }],
      [`${K}eci-auto-imc`, "true", { AutoMatchImageCache: true }],
      [`${K}eci-image-cache`, "true", { AutoMatchImageCache: true }],
      [`${K}eci-imc-id`, "imc-abc", { ImageSnapshotId: "imc-abc" }],
      [`${K}eci-image-snapshot-id`, "imc-old", { ImageSnapshotId: "imc-old" }],
      [`${K}acr-instance-ids`, "cri-1,cn-beijing:cri-2", { AcrRegistryInfo: [{ InstanceId: "cri-1" }, { RegionId: "cn-beijing", InstanceId: "cri-2" }] }],
      [`${K}plain-http-registry`, "reg.local:5000", { PlainHttpRegistry: "reg.local:5000" }],
      [`${K}insecure-registry`, "reg.local", { InsecureRegistry: "reg.local" }],
      [`${K}eci-data-cache-bucket`, "default", { DataCacheBucket: "default" }],
      [`${K}eci-data-cache-pl`, "PL1", { DataCachePL: "PL1" }],
      [`${K}eci-data-cache-provisionedIops`, "40000", { DataCacheProvisionedIops: 40000 }],
      [`${K}eci-data-cache-burstingEnabled`, "true", { DataCacheBurstingEnabled: true }],
      [`${K}eci-with-eip`, "true", { AutoCreateEip: true }],
      [`${K}eip-bandwidth`, "5", { EipBandwidth: 5 }],
      [`${K}eci-eip-instanceid`, "eip-1", { EipInstanceId: "eip-1" }],
      [`${K}eip-common-bandwidth-package-id`, "cbwp-1", { EipCommonBandwidthPackage: "cbwp-1" }],
      [`${K}eip-isp`, "BGP_PRO", { EipISP: "BGP_PRO" }],
      [`${K}eci-enable-ipv6`, "true", { Ipv6AddressCount: 1 }],
      [`${K}eci-ipv6-bandwidth-enable`, "true", { Ipv6GatewayBandwidthEnable: true }],
      [`${K}eci-ipv6-bandwidth`, "100M", { Ipv6GatewayBandwidth: "100M" }],
      [`${K}eci-private-ip-address`, "192.168.1.20", { PrivateIpAddress: "192.168.1.20" }],
      [`${K}eci-fixed-ip`, "true", { FixedIp: "true" }],
      [`${K}eci-fixed-ip-retain-hour`, "24", { FixedIpRetainHour: 24 }],
      ["kubernetes.io/ingress-bandwidth", "40M", { IngressBandwidth: 40_000_000 }],
      ["kubernetes.io/egress-bandwidth", "1Gi", { EgressBandwidth: 1024 ** 3 }],
      [`${K}eci-extra-ephemeral-storage`, "50Gi", { EphemeralStorage: 50 }],
      [`${K}eci-extra-ephemeral-storage`, "1500Mi", { EphemeralStorage: 2 }], // rounded up to whole GiB
      [`${K}eci-ntp-server`, "100.100.5.1,100.100.5.2", { NtpServer: ["100.100.5.1", "100.100.5.2"] }],
      [`${K}eci-core-pattern`, "/pod/data/dump/core", { CorePattern: "/pod/data/dump/core" }]
    ])("%s: %s", (key, value, fields) => {
      expect(request(annotated({ [key]: value }))).toMatchObject(fields)
    })
  })

  it("spot with a price limit needs the limit", () => {
    expect(request(annotated({ [`${K}eci-spot-strategy`]: "SpotWithPriceLimit", [`${K}eci-spot-price-limit`]: "0.25" })))
      .toMatchObject({ SpotStrategy: "SpotWithPriceLimit", SpotPriceLimit: 0.25 })
    expect(refusals(annotated({ [`${K}eci-spot-strategy`]: "SpotWithPriceLimit" }))).toEqual([
      expect.objectContaining({ field: `metadata.annotations[${K}eci-spot-price-limit]`, code: "InvalidAnnotation" })
    ])
  })

  it("newer image-cache names win over the legacy ones", () => {
    const r = request(annotated({ [`${K}eci-image-cache`]: "false", [`${K}eci-auto-imc`]: "true", [`${K}eci-image-snapshot-id`]: "imc-old", [`${K}eci-imc-id`]: "imc-new" }))
    expect(r).toMatchObject({ AutoMatchImageCache: true, ImageSnapshotId: "imc-new" })
  })

  it("leaves AutoMatchImageCache unset without an annotation (caches cost money: opt in)", () => {
    expect(request(pod()).AutoMatchImageCache).toBeUndefined()
  })

  it("applies the ACR role ARNs to every ACR instance", () => {
    const r = request(annotated({ [`${K}acr-instance-ids`]: "cri-1", [`${K}acr-service-arns`]: "acs:ram::1:role/a", [`${K}acr-user-arns`]: "acs:ram::2:role/b" }))
    expect(r.AcrRegistryInfo).toEqual([{ InstanceId: "cri-1", ArnService: "acs:ram::1:role/a", ArnUser: "acs:ram::2:role/b" }])
  })

  it("a vSwitch annotation replaces the node's default vSwitches and drops the configured zone", () => {
    const r = request(annotated({ [`${K}eci-vswitch`]: "vsw-z" }))
    expect(r.VSwitchId).toBe("vsw-z")
    expect(r.ZoneId).toBeUndefined()
  })

  describe("custom hosts, tags and DNS merge with the pod's own", () => {
    it("eci-custom-hosts adds HostAliase entries after spec.hostAliases", () => {
      const r = request(annotated(
        { [`${K}eci-custom-hosts`]: '[{"host":"a.example.com,b.example.com","ip":"100.100.1.1"}]' },
        { hostAliases: [{ ip: "10.0.0.1", hostnames: ["db"] }] }
      ))
      expect(r.HostAliase).toEqual([{ Ip: "10.0.0.1", Hostname: ["db"] }, { Ip: "100.100.1.1", Hostname: ["a.example.com", "b.example.com"] }])
    })

    it("eci-custom-tags adds up to three tags after the identity tags", () => {
      const r = request(annotated({ [`${K}eci-custom-tags`]: "env:test,name:alice" }))
      expect(r.Tag?.slice(5)).toEqual([{ Key: "env", Value: "test" }, { Key: "name", Value: "alice" }])
    })

    it("eci-custom-dnsconfig is merged into the ClusterFirst configuration", () => {
      const r = request(annotated({ [`${K}eci-custom-dnsconfig`]: '{"nameservers":"1.1.1.1","searches":"corp.local","options":"ndots:2,edns0"}' }))
      expect(r.DnsConfig).toEqual({
        NameServer: ["10.96.0.10", "1.1.1.1"],
        Search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.local"],
        Option: [{ Name: "ndots", Value: "2" }, { Name: "edns0" }]
      })
    })
  })

  describe("eci-use-specs", () => {
    it("with ECS instance types → InstanceType in the given order, no Cpu/Memory", () => {
      const r = request(annotated({ [`${K}eci-use-specs`]: "ecs.c6.xlarge,ecs.g6.xlarge" }))
      expect(r).toMatchObject({ InstanceType: "ecs.c6.xlarge,ecs.g6.xlarge" })
      expect(r.Cpu).toBeUndefined()
    })

    it("legacy eci-instance-type → InstanceType", () => {
      expect(request(annotated({ [`${K}eci-instance-type`]: "ecs.c5.large" })).InstanceType).toBe("ecs.c5.large")
    })

    it("with a vCPU-memory spec → that spec as Cpu/Memory", () => {
      expect(request(annotated({ [`${K}eci-use-specs`]: "4-8Gi" }))).toMatchObject({ Cpu: 4, Memory: 8 })
    })

    it("raises a spec smaller than the pod needs, with a warning", () => {
      const p = annotated({ [`${K}eci-use-specs`]: "1-2Gi" }, { containers: [container({ resources: { limits: { cpu: "3", memory: "3Gi" } } })] })
      expect(request(p)).toMatchObject({ Cpu: 4, Memory: 4 })
      expect(warnings(p)).toEqual([expect.objectContaining({ code: "Approximated", message: expect.stringContaining("raised to 4-4Gi") })])
    })

    it("uses only the first of several vCPU-memory specs (one pair in SDK 2.0.3), with a warning", () => {
      const p = annotated({ [`${K}eci-use-specs`]: "2-4Gi,4-8Gi" })
      expect(request(p)).toMatchObject({ Cpu: 2, Memory: 4 })
      expect(warnings(p).map((w) => w.code)).toEqual(["Approximated"])
    })

    it("refuses a token that is neither", () => {
      expect(refusals(annotated({ [`${K}eci-use-specs`]: "2c4g" }))[0]?.reason).toContain("2c4g")
    })
  })

  describe("values that do not parse are refused, naming the annotation — all of them at once", () => {
    it.each([
      [`${K}eci-schedule-strategy`, "Random"],
      [`${K}eci-spot-price-limit`, "0.12345"],
      [`${K}eci-spot-duration`, "-1"],
      [`${K}eci-with-eip`, "yes"],
      [`${K}eip-isp`, "CMCC"],
      [`${K}eci-private-ip-address`, "10.0.0.300"],
      [`${K}eci-custom-hosts`, "not json"],
      [`${K}eci-custom-hosts`, '[{"host":"a"}]'],
      [`${K}eci-custom-tags`, "aliyun-env:prod"],
      [`${K}eci-custom-tags`, "a:1,b:2,c:3,d:4"],
      [`${K}eci-custom-dnsconfig`, "[]"],
      [`${K}eci-core-pattern`, "|/usr/bin/dump"],
      [`${K}eci-vswitch`, "v1,v2,v3,v4,v5,v6,v7,v8,v9,v10,v11"],
      ["kubernetes.io/ingress-bandwidth", "fast"]
    ])("%s: %j", (key, value) => {
      expect(refusals(annotated({ [key]: value }))).toEqual([
        expect.objectContaining({ code: "InvalidAnnotation", field: `metadata.annotations[${key}]` })
      ])
    })

    it("collects every bad annotation", () => {
      const r = refusals(annotated({ [`${K}eci-with-eip`]: "yes", [`${K}eip-isp`]: "CMCC", [`${K}eci-cpu-option-ht`]: "3" }))
      expect(r.map((x) => x.field).sort()).toEqual([
        `metadata.annotations[${K}eci-cpu-option-ht]`,
        `metadata.annotations[${K}eci-with-eip]`,
        `metadata.annotations[${K}eip-isp]`
      ])
    })
  })

  describe("annotations without an SDK 2.0.3 parameter are reported, not silently dropped", () => {
    it.each(Object.keys(UNSUPPORTED_ANNOTATIONS))("%s → UnsupportedAnnotation warning", (key) => {
      const t = warnings(annotated({ [key]: "x" }))
      expect(t).toEqual([expect.objectContaining({ code: "UnsupportedAnnotation", field: `metadata.annotations[${key}]` })])
    })

    it("an unknown k8s.aliyun.com/eci-* key is reported as unknown (typos)", () => {
      expect(warnings(annotated({ [`${K}eci-vswtich`]: "vsw-1" }))).toEqual([
        expect.objectContaining({ code: "UnknownAnnotation", field: `metadata.annotations[${K}eci-vswtich]` })
      ])
    })

    it("controller annotations and write-back annotations are not reported", () => {
      const keys = [...Object.keys(CONTROLLER_ANNOTATIONS), `${K}eci-instance-id`, `${K}eci-instance-spec`, `${K}eci-client-token`]
      expect(warnings(annotated(Object.fromEntries(keys.map((k) => [k, "x"]))))).toEqual([])
    })

    it("the three lists do not overlap", () => {
      const all = [...Object.keys(SUPPORTED_ANNOTATIONS), ...Object.keys(UNSUPPORTED_ANNOTATIONS), ...Object.keys(CONTROLLER_ANNOTATIONS)]
      expect(new Set(all).size).toBe(all.length)
    })
  })
})
