import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { parseConfig } from "../../src/config/Config.ts"

const ok = (env: Record<string, string>, flags: Record<string, string> = {}) => {
  const r = parseConfig({ env, flags })
  if (r._tag !== "Ok") throw new Error(`expected Ok, got ${r.problems.join(" | ")}`)
  return r.config
}
const problems = (env: Record<string, string>, flags: Record<string, string> = {}) => {
  const r = parseConfig({ env, flags })
  if (r._tag !== "Invalid") throw new Error("expected Invalid")
  return r.problems
}
const base = { ALIYUN_CLUSTERID: "c0123456789" }

describe("configuration", () => {
  describe("sources: flag > environment > default", () => {
    it("takes the default when neither is set", () => {
      const c = ok(base)
      expect(c.region).toBe("cn-hangzhou")
      expect(c.kubeletPort).toBe(10250)
      expect(c.taint).toEqual({ key: "virtual-kubelet.io/provider", value: "alibabacloud", effect: "NoSchedule" })
      expect(c.credentialsProvider).toBe("secret")
      expect(c.credentialsSecret).toEqual({ namespace: "kube-system", name: "alibaba-addon-secret" })
      expect(c.eciEndpoint).toBe("eci-vpc.cn-hangzhou.aliyuncs.com")
      expect(c.kubeApiQps).toBe(200)
      // The kubelet's --event-qps / --event-burst defaults.
      expect([c.eventQps, c.eventBurst]).toEqual([50, 100])
    })
    it("takes the environment over the default", () => {
      expect(ok({ ...base, KUBELET_PORT: "10251" }).kubeletPort).toBe(10251)
      expect(ok({ ...base, EVENT_QPS: "5", EVENT_BURST: "10" })).toMatchObject({ eventQps: 5, eventBurst: 10 })
    })
    it("takes the flag over the environment", () => {
      expect(ok({ ...base, KUBELET_PORT: "10251" }, { "kubelet-port": "10252" }).kubeletPort).toBe(10252)
    })
    it("reads the first set of several environment names (ack-virtual-node's first)", () => {
      expect(ok({ ...base, ECI_QUOTA_POD: "50" }).nodeCapacity.pods).toBe(50)
      expect(ok({ ...base, NODE_PODS: "60", ECI_QUOTA_POD: "50" }).nodeCapacity.pods).toBe(60)
    })
    it("treats an empty environment variable as unset", () => {
      expect(ok({ ...base, ECI_REGION: "" }).region).toBe("cn-hangzhou")
    })
  })

  describe("ack-virtual-node's environment names", () => {
    it("maps every one of them", () => {
      const c = ok({
        ALIYUN_CLUSTERID: "c-abc",
        ECI_REGION: "cn-shanghai",
        ECI_VSWITCH: "vsw-1, vsw-2,,vsw-3",
        ECI_SECURITY_GROUP: "sg-1",
        ECI_ZONE: "cn-shanghai-b",
        ALIYUN_RESOURCEGROUP_ID: "rg-1",
        ECI_ACCESS_KEY: "AKID",
        ECI_SECRET_KEY: "s3cr3t",
        VKUBELET_TAINT_KEY: "k",
        VKUBELET_TAINT_VALUE: "v",
        VKUBELET_TAINT_EFFECT: "NoExecute",
        KUBELET_PORT: "10260",
        VKUBELET_POD_IP: "10.0.0.5",
        DEFAULT_NODE_NAME: "vk-1",
        KUBECONFIG: "/tmp/kc"
      })
      expect(c.clusterId).toBe("c-abc")
      expect(c.region).toBe("cn-shanghai")
      expect(c.vSwitchIds).toEqual(["vsw-1", "vsw-2", "vsw-3"])
      expect(c.securityGroupId).toBe("sg-1")
      expect(c.zone).toBe("cn-shanghai-b")
      expect(c.resourceGroupId).toBe("rg-1")
      expect(c.accessKeyId).toBe("AKID")
      expect(c.accessKeySecret && Redacted.value(c.accessKeySecret)).toBe("s3cr3t")
      expect(c.taint).toEqual({ key: "k", value: "v", effect: "NoExecute" })
      expect(c.kubeletPort).toBe(10260)
      expect(c.podIp).toBe("10.0.0.5")
      expect(c.nodeName).toBe("vk-1")
      expect(c.kubeconfig).toBe("/tmp/kc")
    })
  })

  describe("node name", () => {
    it("is virtual-kubelet-<zone> when the zone already names the region", () => {
      expect(ok({ ...base, ECI_REGION: "cn-hangzhou", ECI_ZONE: "cn-hangzhou-j" }).nodeName).toBe("virtual-kubelet-cn-hangzhou-j")
    })
    it("is virtual-kubelet-<region>-<zone> for a short zone", () => {
      expect(ok({ ...base, ECI_ZONE: "j" }).nodeName).toBe("virtual-kubelet-cn-hangzhou-j")
    })
    it("is virtual-kubelet-<region> without a zone", () => {
      expect(ok(base).nodeName).toBe("virtual-kubelet-cn-hangzhou")
    })
  })

  describe("bad input stops start-up with a message naming the setting, the problem and the form expected", () => {
    it.each([
      [{}, {}, "ALIYUN_CLUSTERID is required (or --cluster-id): ACK cluster id; tags every container group so garbage collection never touches another cluster's instances"],
      [{ ALIYUN_CLUSTERID: "default" }, {}, "ALIYUN_CLUSTERID=\"default\" is not a cluster id; expected the ACK cluster id (e.g. c0123456789abcdef), which tags every container group"],
      [{ ALIYUN_CLUSTERID: "DEFAULT" }, {}, "ALIYUN_CLUSTERID=\"DEFAULT\" is not a cluster id; expected the ACK cluster id (e.g. c0123456789abcdef), which tags every container group"],
      [{ ALIYUN_CLUSTERID: "  " }, {}, "ALIYUN_CLUSTERID: is empty; expected a non-empty string (also settable as --cluster-id)"],
      [base, { "cluster-id": "" }, "--cluster-id: is empty; expected a non-empty string (also settable as ALIYUN_CLUSTERID)"],
      [{ ...base, KUBELET_PORT: "abc" }, {}, "KUBELET_PORT: \"abc\" is not a port number; expected an integer from 1 to 65535 (also settable as --kubelet-port)"],
      [{ ...base, KUBELET_PORT: "70000" }, {}, "KUBELET_PORT: \"70000\" is not a port number; expected an integer from 1 to 65535 (also settable as --kubelet-port)"],
      [base, { "taint-effect": "Never" }, "--taint-effect: \"Never\" is not allowed; expected one of NoSchedule, PreferNoSchedule, NoExecute (also settable as VKUBELET_TAINT_EFFECT)"],
      [{ ...base, ECI_PROTOCOL: "ftp" }, {}, "ECI_PROTOCOL: \"ftp\" is not allowed; expected one of https, http (also settable as --eci-protocol)"],
      [{ ...base, ECI_QUOTA_MEMORY: "4 tera" }, {}, "ECI_QUOTA_MEMORY: \"4 tera\" is not a Kubernetes quantity; expected a number with an optional suffix such as 4Ti, 512Gi or 1000 (also settable as --node-memory, NODE_MEMORY)"],
      [{ ...base, LEADER_ELECT: "maybe" }, {}, "LEADER_ELECT: \"maybe\" is not a boolean; expected true or false (also settable as --leader-elect)"],
      [{ ...base, KUBE_API_QPS: "0" }, {}, "KUBE_API_QPS: \"0\" is not a number ≥ 1; expected a decimal number such as 200 (also settable as --kube-api-qps)"],
      [{ ...base, ECI_TIMEOUT_SECONDS: "soon" }, {}, "ECI_TIMEOUT_SECONDS: \"soon\" is not a number ≥ 1; expected a decimal number (seconds) such as 10 (also settable as --eci-timeout)"],
      [{ ...base, ECI_CREDENTIALS_SECRET: "just-a-name" }, {}, "ECI_CREDENTIALS_SECRET=\"just-a-name\" is not a Secret reference; expected namespace/name such as kube-system/alibaba-addon-secret"]
    ])("%j %j → %s", (env, flags, message) => {
      expect(problems(env as Record<string, string>, flags as Record<string, string>)).toEqual([message])
    })

    it("reports every problem at once", () => {
      expect(problems({ KUBELET_PORT: "x", LOG_LEVEL: "loud" })).toHaveLength(3)
    })

    it("requires both key parts with the env provider, and never prints a secret", () => {
      const p = problems({ ...base, ECI_CREDENTIALS_PROVIDER: "env", ECI_SECRET_KEY: "hunter2" })
      expect(p).toEqual([
        "ECI_ACCESS_KEY (or --access-key-id, ALIBABA_CLOUD_ACCESS_KEY_ID) is required when credentials-provider is env; expected the access key id"
      ])
      const empty = problems({ ...base, ECI_CREDENTIALS_PROVIDER: "env", ECI_ACCESS_KEY: "id" }, { "access-key-secret": "" })
      expect(empty).toEqual(["--access-key-secret: is empty; expected the secret value (also settable as ECI_SECRET_KEY, ALIBABA_CLOUD_ACCESS_KEY_SECRET)"])
    })

    it("keeps secrets redacted in the parsed configuration", () => {
      const c = ok({ ...base, ECI_SECRET_KEY: "hunter2" })
      expect(JSON.stringify(c)).not.toContain("hunter2")
      expect(String(c.accessKeySecret)).not.toContain("hunter2")
    })
  })
})
