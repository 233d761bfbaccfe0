import type { V1Secret } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import { credentialsFrom, parseSecretRef } from "../../src/imagecache/credentials.ts"
import type { NodeContext } from "../../src/translate/resolved.ts"

const node: NodeContext = { clusterId: "c1", nodeName: "vn", regionId: "cn-hangzhou", vSwitchIds: [], clusterDns: [], clusterDomain: "cluster.local" }
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
const docker = (name: string, auths: Record<string, unknown>): V1Secret => ({
  metadata: { namespace: "team", name },
  type: "kubernetes.io/dockerconfigjson",
  data: { ".dockerconfigjson": b64(JSON.stringify({ auths })) }
})

describe("namespace:secretName", () => {
  it.each([
    ["team:regcred", { namespace: "team", name: "regcred" }],
    ["team:reg.cred", { namespace: "team", name: "reg.cred" }],
    ["regcred", undefined],
    [":regcred", undefined],
    ["team:", undefined]
  ])("%s", (ref, expected) => {
    expect(parseSecretRef(ref)).toEqual(expected)
  })
})

describe("registry credentials for CreateImageCache", () => {
  it("no Secrets: no credentials", () => {
    expect(credentialsFrom([], new Map(), node)).toEqual({ _tag: "Ok", credentials: [] })
  })
  it("reads dockerconfigjson like a pod's imagePullSecrets (URL keys become hosts, auth is decoded); the first per registry wins", () => {
    const a = docker("a", {
      "https://registry.example.com/v1/": { username: "robot", password: "p1" },
      "other.example.com": { auth: b64("user:p:w") }
    })
    const b = docker("b", { "registry.example.com": { username: "second", password: "p2" } })
    const result = credentialsFrom(["team:a", "team:b"], new Map([["team:a", a], ["team:b", b]]), node)
    expect(result).toEqual({
      _tag: "Ok",
      credentials: [
        { Server: "registry.example.com", UserName: "robot", Password: "p1" },
        { Server: "other.example.com", UserName: "user", Password: "p:w" }
      ]
    })
  })
  it("a missing Secret: the cache waits (SecretNotFound)", () => {
    expect(credentialsFrom(["team:gone"], new Map(), node)).toEqual({
      _tag: "Unusable",
      reason: "SecretNotFound",
      message: "image pull secret team:gone was not found; the cache is created once it exists"
    })
  })
  it.each<[string, V1Secret, string]>([
    ["no docker config", { metadata: { name: "s" }, data: { token: b64("x") } }, "secret s holds no .dockerconfigjson or .dockercfg"],
    ["not JSON", { metadata: { name: "s" }, data: { ".dockerconfigjson": b64("{") } }, "secret s does not hold valid docker config JSON"],
    ["no usable entry", { metadata: { name: "s" }, data: { ".dockerconfigjson": b64(JSON.stringify({ auths: { "r.example.com": {} } })) } }, "secret s names no registry credentials"]
  ])("an unusable Secret (%s): SecretInvalid with the parser's words", (_, secret, why) => {
    expect(credentialsFrom(["team:s"], new Map([["team:s", secret]]), node)).toEqual({
      _tag: "Unusable",
      reason: "SecretInvalid",
      message: `image pull secret team:s is unusable: ${why}`
    })
  })
})
