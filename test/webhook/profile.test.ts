import { describe, expect, it } from "vitest"
import { emptyDefaults, InvalidEciProfile, parseEciProfile, profileDefaults } from "../../src/webhook/profile.ts"

// The ConfigMap ack ships, with one selector added (the shape of the "Configure an eci-profile" page).
const ackProfile = {
  enableClusterIp: "true",
  enableHybridMode: "false",
  enableLinuxArm64Node: "false",
  enableLogController: "false",
  enablePVCController: "false",
  enablePrivateZone: "false",
  enableReuseSSLKey: "false",
  featureGates: "WaitForFirstConsumer=false",
  resourceGroupId: "",
  securityGroupId: "sg-2zeeyaaxlkq9sppl1234",
  slsMachineGroup: "",
  vSwitchIds: "vsw-2ze23nqzig8inprou1234, vsw-2ze94pjtfuj9vaymf5678",
  vpcId: "vpc-2zeghwzptn5zii0w71234",
  selectors: JSON.stringify([{
    name: "test-selector",
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "vk" } },
    objectSelector: { matchLabels: { app: "nginx" } },
    effect: { annotations: { "k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge" }, labels: { "created-by-eci": "true" } }
  }])
}

const problems = (data: Record<string, string>) => {
  const result = parseEciProfile(data)
  if (!(result instanceof InvalidEciProfile)) throw new Error("expected the profile to be refused")
  return result.problems
}

describe("parseEciProfile: good profiles", () => {
  it("reads ack's documented ConfigMap", () => {
    const profile = parseEciProfile(ackProfile)
    if (profile instanceof InvalidEciProfile) throw profile
    expect(profileDefaults(profile)).toEqual({
      ...emptyDefaults,
      vpcId: "vpc-2zeghwzptn5zii0w71234",
      vSwitchIds: ["vsw-2ze23nqzig8inprou1234", "vsw-2ze94pjtfuj9vaymf5678"],
      securityGroupId: "sg-2zeeyaaxlkq9sppl1234",
      featureGates: { WaitForFirstConsumer: false }
    })
    expect(profile.selectors).toEqual([{
      name: "test-selector",
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "vk" }, matchExpressions: [] },
      objectSelector: { matchLabels: { app: "nginx" }, matchExpressions: [] },
      effect: { annotations: { "k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge" }, labels: { "created-by-eci": "true" } }
    }])
    expect(profile.ignoredKeys).toEqual([])
  })

  it.each([
    ["no data at all", undefined],
    ["empty data", {}],
    ["ack's `selectors: \"\"`", { selectors: "" }],
    ["an empty array", { selectors: " [] " }]
  ])("%s: no selectors, product defaults", (_, data) => {
    expect(parseEciProfile(data)).toEqual({ selectors: [], defaults: emptyDefaults, ignoredKeys: [] })
  })

  it("booleans are case-insensitive; enableClusterIp defaults to true; feature gates default to true", () => {
    const profile = parseEciProfile({ enableClusterIp: "FALSE", enableReuseSSLKey: " True ", featureGates: "MetricsVpcNet, ProtectionFinalizers=false" })
    if (profile instanceof InvalidEciProfile) throw profile
    expect(profile.defaults.enableClusterIp).toBe(false)
    expect(profile.defaults.enableReuseSSLKey).toBe(true)
    expect(profile.defaults.featureGates).toEqual({ MetricsVpcNet: true, ProtectionFinalizers: false })
  })

  it("matchExpressions, effect-less selectors and unknown data keys (reported, not fatal)", () => {
    const profile = parseEciProfile({
      vswitchIds: "vsw-typo",
      selectors: JSON.stringify([{ name: "batch", namespaceSelector: { matchExpressions: [{ key: "tier", operator: "In", values: ["batch"] }, { key: "legacy", operator: "DoesNotExist" }] } }])
    })
    if (profile instanceof InvalidEciProfile) throw profile
    expect(profile.selectors).toEqual([{
      name: "batch",
      namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: "tier", operator: "In", values: ["batch"] }, { key: "legacy", operator: "DoesNotExist", values: [] }] },
      objectSelector: undefined,
      effect: { annotations: {}, labels: {} }
    }])
    expect(profile.ignoredKeys).toEqual(["vswitchIds"])
  })
})

describe("parseEciProfile: malformed profiles name the key and the problem", () => {
  it.each<[string, Record<string, string>, ReadonlyArray<string>]>([
    ["a boolean", { enableClusterIp: "yes" }, ["enableClusterIp: \"yes\" is not a boolean; expected true or false"]],
    ["a vSwitch list", { vSwitchIds: "vsw-a,sg-b, c" }, ["vSwitchIds: \"sg-b\", \"c\" are not vSwitch ids; expected comma-separated ids starting with vsw-"]],
    ["a security group", { securityGroupId: "vsw-123" }, ["securityGroupId: \"vsw-123\" is not a security group id; expected one id starting with sg-"]],
    ["two VPCs", { vpcId: "vpc-a,vpc-b" }, ["vpcId: \"vpc-a,vpc-b\" is not a VPC id; expected one id starting with vpc-"]],
    ["a feature gate", { featureGates: "A=maybe" }, ["featureGates: \"A=maybe\" is not a feature gate; expected Name=true or Name=false, comma separated"]],
    ["selectors that are not JSON", { selectors: "[{name: x}]" }, [
      "selectors: is not valid JSON (Expected property name or '}' in JSON at position 2 (line 1 column 3)); expected a JSON array of selectors"
    ]],
    ["selectors that are an object", { selectors: "{\"name\":\"x\"}" }, ["selectors: got an object; expected a JSON array of selectors"]],
    ["a selector that is a string", { selectors: "[\"x\"]" }, [
      "selectors[0]: got a string (\"x\"); expected an object {name, namespaceSelector, objectSelector, effect}"
    ]],
    ["a selector without a name", { selectors: JSON.stringify([{ objectSelector: { matchLabels: { a: "b" } } }]) }, [
      "selectors[0].name: got nothing; expected a non-empty string"
    ]],
    ["duplicate names", { selectors: JSON.stringify([{ name: "x", objectSelector: { matchLabels: { a: "b" } } }, { name: "x", objectSelector: { matchLabels: { a: "c" } } }]) }, [
      "selectors[1].name: \"x\" is already the name of selectors[0]; expected unique names"
    ]],
    ["a selector that matches every pod", { selectors: JSON.stringify([{ name: "all", effect: { labels: { a: "b" } } }]) }, [
      "selectors[0] (all): has neither namespaceSelector nor objectSelector, which would match every pod; expected at least one"
    ]],
    ["an empty label selector", { selectors: JSON.stringify([{ name: "e", objectSelector: {} }]) }, [
      "selectors[0] (e).objectSelector: is empty, which would match every pod; expected at least one of matchLabels or matchExpressions (or leave the selector out)"
    ]],
    ["a number as a label value", { selectors: JSON.stringify([{ name: "n", objectSelector: { matchLabels: { replicas: 3 } } }]) }, [
      "selectors[0] (n).objectSelector.matchLabels.replicas: got a number (3); expected a string (quote numbers and booleans)"
    ]],
    ["a typo in effect", { selectors: JSON.stringify([{ name: "t", objectSelector: { matchLabels: { a: "b" } }, effect: { annotation: { x: "y" } } }]) }, [
      "selectors[0] (t).effect: unknown field \"annotation\"; expected only annotations, labels"
    ]],
    ["a typo in a selector", { selectors: JSON.stringify([{ name: "t", podSelector: { matchLabels: { a: "b" } } }]) }, [
      "selectors[0] (t): unknown field \"podSelector\"; expected only name, namespaceSelector, objectSelector, effect",
      "selectors[0] (t): has neither namespaceSelector nor objectSelector, which would match every pod; expected at least one"
    ]],
    ["a bad operator and missing values", {
      selectors: JSON.stringify([{ name: "o", namespaceSelector: { matchExpressions: [{ key: "a", operator: "Equals", values: ["x"] }, { key: "b", operator: "In" }, { key: "c", operator: "Exists", values: ["x"] }] } }])
    }, [
      "selectors[0] (o).namespaceSelector.matchExpressions[0].operator: got a string (\"Equals\"); expected one of In, NotIn, Exists, DoesNotExist",
      "selectors[0] (o).namespaceSelector.matchExpressions[1].values: is empty; expected at least one value for operator In",
      "selectors[0] (o).namespaceSelector.matchExpressions[2].values: must be empty for operator Exists"
    ]],
    ["several keys at once", { enableClusterIp: "1", enablePrivateZone: "no" }, [
      "enableClusterIp: \"1\" is not a boolean; expected true or false",
      "enablePrivateZone: \"no\" is not a boolean; expected true or false"
    ]]
  ])("%s", (_, data, expected) => {
    expect(problems(data)).toEqual(expected)
  })

  it("the error's message joins the problems", () => {
    const result = parseEciProfile({ enableClusterIp: "yes", selectors: "{}" })
    expect(result).toBeInstanceOf(InvalidEciProfile)
    expect((result as InvalidEciProfile).message).toBe(
      "eci-profile is invalid: enableClusterIp: \"yes\" is not a boolean; expected true or false; selectors: got an object; expected a JSON array of selectors"
    )
  })
})
