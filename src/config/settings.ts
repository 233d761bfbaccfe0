/**
 * Every setting of the product in one table: its flag, the environment variables it is read from
 * (ack-virtual-node's names first, so existing manifests keep working), its default and meaning.
 * The CLI's `--help`, the parser and the README's configuration table all come from here.
 */
export type SettingKind =
  | { readonly _tag: "string" }
  | { readonly _tag: "secret" }
  | { readonly _tag: "list" }
  | { readonly _tag: "int"; readonly min: number; readonly max: number }
  | { readonly _tag: "port" }
  | { readonly _tag: "number"; readonly min: number }
  | { readonly _tag: "seconds"; readonly min: number }
  | { readonly _tag: "bool" }
  | { readonly _tag: "enum"; readonly values: ReadonlyArray<string> }
  | { readonly _tag: "quantity" }

export interface Setting {
  readonly key: string
  readonly flag: string
  readonly env: ReadonlyArray<string>
  readonly kind: SettingKind
  /** undefined: optional with no value; "required": start-up fails without it. */
  readonly default?: string | "required"
  readonly description: string
}

const s = (
  key: string,
  flag: string,
  env: ReadonlyArray<string>,
  kind: SettingKind,
  def: string | "required" | undefined,
  description: string
): Setting => (def === undefined ? { key, flag, env, kind, description } : { key, flag, env, kind, default: def, description })

const str = { _tag: "string" } as const
const list = { _tag: "list" } as const
const secret = { _tag: "secret" } as const
const bool = { _tag: "bool" } as const

export const settings: ReadonlyArray<Setting> = [
  // Cloud placement
  s("clusterId", "cluster-id", ["ALIYUN_CLUSTERID"], str, "required", "ACK cluster id; tags every container group so garbage collection never touches another cluster's instances"),
  s("region", "region", ["ECI_REGION"], str, "cn-hangzhou", "Alibaba Cloud region of the ECI instances"),
  s("vSwitchIds", "vswitch", ["ECI_VSWITCH"], list, undefined, "vSwitch ids, comma separated, tried in order; their zones name the node (empty: ECI's default vSwitch)"),
  s("securityGroupId", "security-group", ["ECI_SECURITY_GROUP"], str, undefined, "security group of the instances (empty: the region's default)"),
  s("zone", "zone", ["ECI_ZONE"], str, undefined, "zone of the instances and of the node's topology label (empty: chosen by ECI)"),
  s("resourceGroupId", "resource-group-id", ["ALIYUN_RESOURCEGROUP_ID"], str, undefined, "resource group of the instances"),
  // ECI endpoint and client
  s("eciEndpoint", "eci-endpoint", ["ECI_ENDPOINT"], str, undefined, "ECI API endpoint (default eci-vpc.<region>.aliyuncs.com), host[:port]"),
  s("eciProtocol", "eci-protocol", ["ECI_PROTOCOL"], { _tag: "enum", values: ["https", "http"] }, "https", "protocol to the ECI endpoint (http only for the simulator)"),
  s("eciQuotaMultiplier", "eci-quota-multiplier", ["ECI_QUOTA_MULTIPLIER"], { _tag: "number", min: 0.01 }, "1", "scales the client-side ECI quotas (ECI's documented per-minute limits): above 1 for an account whose quotas were raised, below 1 when several processes share one account"),
  s("eciTimeoutSeconds", "eci-timeout", ["ECI_TIMEOUT_SECONDS"], { _tag: "seconds", min: 1 }, "10", "per-attempt timeout of an ECI call, seconds (both SDK timeouts)"),
  // Credentials
  s("credentialsProvider", "credentials-provider", ["ECI_CREDENTIALS_PROVIDER"], { _tag: "enum", values: ["secret", "env", "chain"] }, "secret", "where the access key comes from: the Secret (watched; rotation without restart), the environment, or the Alibaba default chain (RAM role, OIDC/RRSA, credentials URI)"),
  s("credentialsSecret", "credentials-secret", ["ECI_CREDENTIALS_SECRET"], str, "kube-system/alibaba-addon-secret", "namespace/name of the Secret with keys access-key-id and access-key-secret"),
  s("accessKeyId", "access-key-id", ["ECI_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID"], str, undefined, "access key id (credentials-provider=env)"),
  s("accessKeySecret", "access-key-secret", ["ECI_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"], secret, undefined, "access key secret (credentials-provider=env); never printed"),
  // Node
  s("nodeName", "node-name", ["DEFAULT_NODE_NAME"], str, undefined, "name of the virtual Node (default virtual-kubelet-<region>-<zone>)"),
  s("taintKey", "taint-key", ["VKUBELET_TAINT_KEY"], str, "virtual-kubelet.io/provider", "key of the node's taint"),
  s("taintValue", "taint-value", ["VKUBELET_TAINT_VALUE"], str, "alibabacloud", "value of the node's taint"),
  s("taintEffect", "taint-effect", ["VKUBELET_TAINT_EFFECT"], { _tag: "enum", values: ["NoSchedule", "PreferNoSchedule", "NoExecute"] }, "NoSchedule", "effect of the node's taint"),
  s("nodeCpu", "node-cpu", ["NODE_CPU", "ECI_QUOTA_CPU"], { _tag: "quantity" }, "1000", "cpu capacity the node advertises"),
  s("nodeMemory", "node-memory", ["NODE_MEMORY", "ECI_QUOTA_MEMORY"], { _tag: "quantity" }, "4Ti", "memory capacity the node advertises"),
  s("nodePods", "node-pods", ["NODE_PODS", "ECI_QUOTA_POD"], { _tag: "int", min: 1, max: 1_000_000 }, "1000", "pod capacity the node advertises"),
  s("nodeEphemeralStorage", "node-ephemeral-storage", ["NODE_EPHEMERAL_STORAGE"], { _tag: "quantity" }, "40Ti", "ephemeral-storage capacity the node advertises"),
  s("kubeletPort", "kubelet-port", ["KUBELET_PORT"], { _tag: "port" }, "10250", "port of the kubelet API (logs, exec, metrics)"),
  s("tlsCertFile", "tls-cert-file", ["KUBELET_TLS_CERT_FILE", "APISERVER_CERT_LOCATION"], str, undefined, "serving certificate (PEM) of the kubelet API (default: self-signed at start; the API server then needs --kubelet-certificate-authority unset)"),
  s("tlsKeyFile", "tls-key-file", ["KUBELET_TLS_KEY_FILE", "APISERVER_KEY_LOCATION"], str, undefined, "private key (PEM) of the kubelet API's serving certificate"),
  s("clientCaFile", "client-ca-file", ["KUBELET_CLIENT_CA_FILE", "APISERVER_CA_CERT_LOCATION"], str, undefined, "CA bundle (PEM) that signs the API server's kubelet-client certificate (default: the in-cluster CA)"),
  s("webhookPort", "webhook-port", ["WEBHOOK_PORT"], { _tag: "port" }, "9443", "HTTPS port of the steering admission webhook"),
  s("metricsPort", "metrics-port", ["METRICS_PORT"], { _tag: "port" }, "9100", "plain-HTTP port of /metrics (Prometheus) and /healthz, /readyz"),
  s("podIp", "pod-ip", ["VKUBELET_POD_IP"], str, "127.0.0.1", "address the API server uses to reach this process (the node's InternalIP)"),
  s("clusterDns", "cluster-dns", ["CLUSTER_DNS"], list, "10.96.0.10", "cluster DNS server(s) for pods with dnsPolicy ClusterFirst"),
  s("clusterDomain", "cluster-domain", ["CLUSTER_DOMAIN"], str, "cluster.local", "cluster DNS domain"),
  // Kubernetes client
  s("kubeconfig", "kubeconfig", ["KUBECONFIG"], str, undefined, "kubeconfig file (default: in-cluster service account)"),
  s("kubeApiQps", "kube-api-qps", ["KUBE_API_QPS"], { _tag: "number", min: 1 }, "200", "sustained requests per second to the API server (Events excepted: they have their own budget, --event-qps)"),
  s("kubeApiBurst", "kube-api-burst", ["KUBE_API_BURST"], { _tag: "int", min: 1, max: 100_000 }, "400", "burst of requests to the API server"),
  s("eventQps", "event-qps", ["EVENT_QPS"], { _tag: "number", min: 1 }, "50", "sustained Events per second each controller (pods, image caches) writes, a budget apart from --kube-api-qps, as the kubelet's --event-qps; Events wait in a bounded queue and are dropped (Normal before Warning) when it is full"),
  s("eventBurst", "event-burst", ["EVENT_BURST"], { _tag: "int", min: 1, max: 100_000 }, "100", "burst of Events written at once (the kubelet's --event-burst)"),
  // Process
  s("leaderElect", "leader-elect", ["LEADER_ELECT"], bool, "true", "elect a leader among replicas through a Lease; only the leader runs the controllers"),
  s("podNamespace", "pod-namespace", ["POD_NAMESPACE"], str, "kube-system", "namespace of this process (leader Lease, profile ConfigMap)"),
  s("podName", "pod-name", ["POD_NAME", "HOSTNAME"], str, "eci-virtual-node", "identity of this replica in leader election"),
  s("logLevel", "log-level", ["LOG_LEVEL"], { _tag: "enum", values: ["trace", "debug", "info", "warn", "error"] }, "info", "lowest level logged"),
  s("logFormat", "log-format", ["LOG_FORMAT"], { _tag: "enum", values: ["json", "text"] }, "json", "json lines for collectors, text for terminals")
]
