import { describe, expect, it } from "vitest"
import type { Group } from "../../src/translate/eciToStatus.ts"
import { writeBackAnnotations, writeBackPatch } from "../../src/translate/writeBack.ts"
import { pod } from "./fixtures.ts"

const group: Group = {
  ContainerGroupId: "eci-bp1abc",
  Status: "Running",
  Cpu: 2,
  Memory: 4,
  ZoneId: "cn-hangzhou-k",
  VSwitchId: "vsw-a",
  SecurityGroupId: "sg-1",
  VpcId: "vpc-1",
  EniInstanceId: "eni-1",
  IntranetIp: "192.168.3.7"
}

describe("annotations written back on the pod (§5.5)", () => {
  it("reports instance, spec, zone and network placement", () => {
    expect(writeBackAnnotations(group)).toEqual({
      "k8s.aliyun.com/eci-instance-id": "eci-bp1abc",
      "k8s.aliyun.com/eci-instance-spec": "2.0-4.0Gi",
      "k8s.aliyun.com/eci-instance-cpu": "2.0",
      "k8s.aliyun.com/eci-instance-mem": "4.0",
      "k8s.aliyun.com/eci-instance-zone": "cn-hangzhou-k",
      "k8s.aliyun.com/eci-vswitch": "vsw-a",
      "k8s.aliyun.com/eci-security-group": "sg-1",
      "k8s.aliyun.com/eci-vpc": "vpc-1",
      "k8s.aliyun.com/eni-instance-id": "eni-1"
    })
  })

  it.each([
    ["a fractional spec", { Cpu: 0.25, Memory: 0.5 }, { "k8s.aliyun.com/eci-instance-spec": "0.25-0.5Gi", "k8s.aliyun.com/eci-instance-cpu": "0.25" }],
    ["an ECS instance type", { InstanceType: "ecs.c6.xlarge", Cpu: 4, Memory: 8 }, { "k8s.aliyun.com/eci-instance-spec": "ecs.c6.xlarge" }],
    ["an EIP", { InternetIp: "47.1.2.3" }, { "k8s.aliyun.com/allocated-eipAddress": "47.1.2.3" }],
    ["an IPv6 address", { Ipv6Address: "2408::1" }, { "k8s.aliyun.com/allocated-ipv6Address": "2408::1" }],
    ["an image cache hit", { Events: [{ Type: "Normal", Reason: "SuccessfulHitImageCache", Message: "Successfully hit image cache imc-2ze1a, eci will be scheduled with this image cache." }] },
      { "k8s.aliyun.com/eci-matched-image-cache": "imc-2ze1a" }],
    ["a hit without an id", { Events: [{ Type: "Normal", Reason: "SuccessfulHitImageCache", Message: "hit" }] }, { "k8s.aliyun.com/eci-matched-image-cache": "true" }]
  ] as ReadonlyArray<readonly [string, Partial<Group>, Record<string, string>]>)("with %s", (_, g, expected) => {
    expect(writeBackAnnotations({ ...group, ...g })).toMatchObject(expected)
  })

  it("a cache miss writes nothing about caches", () => {
    const a = writeBackAnnotations({ ...group, Events: [{ Type: "Warning", Reason: "ImageCacheMissed", Message: "imc-x missed" }] })
    expect(a).not.toHaveProperty(["k8s.aliyun.com/eci-matched-image-cache"])
  })

  it("patches only what changed, and never the user's own vSwitch / security group annotations", () => {
    const p = pod({}, {
      annotations: {
        "k8s.aliyun.com/eci-vswitch": "vsw-a,vsw-b",
        "k8s.aliyun.com/eci-instance-id": "eci-bp1abc",
        "k8s.aliyun.com/eci-instance-zone": "cn-hangzhou-j"
      }
    })
    expect(writeBackPatch(p, group)).toEqual({
      "k8s.aliyun.com/eci-instance-spec": "2.0-4.0Gi",
      "k8s.aliyun.com/eci-instance-cpu": "2.0",
      "k8s.aliyun.com/eci-instance-mem": "4.0",
      "k8s.aliyun.com/eci-instance-zone": "cn-hangzhou-k",
      "k8s.aliyun.com/eci-security-group": "sg-1",
      "k8s.aliyun.com/eci-vpc": "vpc-1",
      "k8s.aliyun.com/eni-instance-id": "eni-1"
    })
  })

  it("has nothing to patch once everything is written", () => {
    expect(writeBackPatch(pod({}, { annotations: { ...writeBackAnnotations(group) } }), group)).toBeUndefined()
  })
})
