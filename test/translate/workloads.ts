import type { V1ConfigMap, V1Pod, V1PodSpec, V1Secret, V1Service } from "@kubernetes/client-node"
import type { Group } from "../../src/translate/eciToStatus.ts"
import type { ResolvedPod } from "../../src/translate/resolved.ts"
import { b64, kubeApiAccess, kubeApiAccessMount, node, rootCa, tokens } from "./fixtures.ts"

/**
 * Representative pods exactly as the API server hands them to the node (defaults filled in, the
 * kube-api-access volume added by the ServiceAccount admission plugin), with what the caller
 * resolved for them. The golden files under golden/ show what each becomes.
 */
const apiServerDefaults: Omit<V1PodSpec, "containers"> = {
  dnsPolicy: "ClusterFirst",
  enableServiceLinks: true,
  preemptionPolicy: "PreemptLowerPriority",
  priority: 0,
  schedulerName: "default-scheduler",
  securityContext: {},
  serviceAccount: "default",
  serviceAccountName: "default",
  terminationGracePeriodSeconds: 30,
  tolerations: [
    { effect: "NoExecute", key: "node.kubernetes.io/not-ready", operator: "Exists", tolerationSeconds: 300 },
    { effect: "NoExecute", key: "node.kubernetes.io/unreachable", operator: "Exists", tolerationSeconds: 300 },
    { effect: "NoSchedule", key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud" }
  ]
}

const containerDefaults = { terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File" } as const

const kubernetesService: V1Service = {
  metadata: { namespace: "default", name: "kubernetes" },
  spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }] }
}

const resolvedFor = (pod: V1Pod, extra: { configMaps?: Record<string, V1ConfigMap>; secrets?: Record<string, V1Secret>; services?: ReadonlyArray<V1Service> } = {}): ResolvedPod => ({
  pod,
  node,
  configMaps: { ...rootCa, ...extra.configMaps },
  secrets: extra.secrets ?? {},
  serviceAccountTokens: tokens,
  services: [kubernetesService, ...(extra.services ?? [])],
  clientToken: `${pod.metadata?.uid ?? ""}-1`
})

/** A pod of `kubectl create deployment web --image=nginx:1.27 --port=80` with resources and a readiness probe. */
export const nginxPod: V1Pod = {
  metadata: {
    name: "web-7d4b9c8f6d-x2xkq",
    generateName: "web-7d4b9c8f6d-",
    namespace: "shop",
    uid: "8a1d6f0e-4c1b-4f5e-9d2a-1b2c3d4e5f60",
    labels: { app: "web", "pod-template-hash": "7d4b9c8f6d", "alibabacloud.com/eci": "true" },
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7d4b9c8f6d", uid: "0b7c...", controller: true, blockOwnerDeletion: true }]
  },
  spec: {
    ...apiServerDefaults,
    nodeName: "virtual-kubelet-cn-hangzhou-k",
    restartPolicy: "Always",
    containers: [{
      ...containerDefaults,
      name: "nginx",
      image: "nginx:1.27",
      imagePullPolicy: "IfNotPresent",
      ports: [{ containerPort: 80, name: "http", protocol: "TCP" }],
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
      readinessProbe: { httpGet: { path: "/", port: "http", scheme: "HTTP" }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
      livenessProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
      lifecycle: { preStop: { exec: { command: ["/usr/sbin/nginx", "-s", "quit"] } } },
      volumeMounts: [kubeApiAccessMount]
    }],
    volumes: [kubeApiAccess]
  },
  status: { phase: "Pending", qosClass: "Burstable" }
}
export const nginx: ResolvedPod = resolvedFor(nginxPod)

/** The nginx pod's instance a few seconds after it started. */
export const nginxGroup: Group = {
  ContainerGroupId: "eci-bp1h7a6n4xq2w9k3z5",
  ContainerGroupName: "shop-web-7d4b9c8f6d-x2xkq",
  Status: "Running",
  RegionId: "cn-hangzhou",
  ZoneId: "cn-hangzhou-k",
  VSwitchId: "vsw-a",
  VpcId: "vpc-bp1",
  SecurityGroupId: "sg-1",
  Cpu: 0.5,
  Memory: 1,
  IntranetIp: "192.168.14.23",
  EniInstanceId: "eni-bp1",
  CreationTime: "2026-03-01T10:00:00Z",
  Containers: [{
    Name: "nginx",
    Image: "nginx:1.27",
    Ready: true,
    RestartCount: 0,
    CurrentState: { State: "Running", Reason: "Started", StartTime: "2026-03-01T10:00:09Z" }
  }],
  Events: [
    { Type: "Normal", Reason: "SuccessfulHitImageCache", Message: "Successfully hit image cache imc-bp1nginx, eci will be scheduled with this image cache.", Count: 1 }
  ]
}

/** A Job pod: an init container fetches data, the job reads a ConfigMap volume and env from it. */
export const jobPod: V1Pod = {
  metadata: {
    name: "report-28712340-5kq2x",
    namespace: "batch",
    uid: "c0ffee00-1234-4abc-8def-0123456789ab",
    labels: { "batch.kubernetes.io/job-name": "report-28712340", "job-name": "report-28712340" },
    ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "report-28712340", uid: "j0b...", controller: true, blockOwnerDeletion: true }]
  },
  spec: {
    ...apiServerDefaults,
    nodeName: "virtual-kubelet-cn-hangzhou-k",
    restartPolicy: "Never",
    activeDeadlineSeconds: 3600,
    initContainers: [{
      ...containerDefaults,
      name: "fetch",
      image: "busybox:1.36",
      imagePullPolicy: "IfNotPresent",
      command: ["sh", "-c", "wget -O /work/input.csv $(SOURCE_URL)"],
      env: [{ name: "SOURCE_URL", valueFrom: { configMapKeyRef: { name: "report-config", key: "source" } } }],
      resources: { limits: { cpu: "1", memory: "1Gi" } },
      volumeMounts: [{ name: "work", mountPath: "/work" }, kubeApiAccessMount]
    }],
    containers: [{
      ...containerDefaults,
      name: "report",
      image: "registry.cn-hangzhou.aliyuncs.com/acme/report:2.3.1",
      imagePullPolicy: "IfNotPresent",
      command: ["python", "-m", "report"],
      args: ["--input", "/work/input.csv", "--config", "/etc/report/report.yaml", "--run", "$(JOB_NAME)"],
      env: [
        { name: "JOB_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } } },
        { name: "PYTHONUNBUFFERED", value: "1" }
      ],
      envFrom: [{ secretRef: { name: "report-db" }, prefix: "DB_" }],
      resources: { requests: { cpu: "2", memory: "3Gi" }, limits: { cpu: "2", memory: "3Gi" } },
      volumeMounts: [
        { name: "work", mountPath: "/work" },
        { name: "config", mountPath: "/etc/report", readOnly: true },
        kubeApiAccessMount
      ]
    }],
    imagePullSecrets: [{ name: "acr-pull" }],
    volumes: [
      { name: "work", emptyDir: {} },
      { name: "config", configMap: { name: "report-config", defaultMode: 420, items: [{ key: "report.yaml", path: "report.yaml" }] } },
      kubeApiAccess
    ]
  },
  status: { phase: "Pending", qosClass: "Guaranteed" }
}
export const job: ResolvedPod = resolvedFor(jobPod, {
  configMaps: { "report-config": { data: { source: "https://data.example.com/daily.csv", "report.yaml": "format: pdf\nrecipients: [ops@example.com]\n" } } },
  secrets: {
    "report-db": { data: { USER: b64("report"), PASSWORD: b64("hunter2") } },
    "acr-pull": {
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": b64(JSON.stringify({ auths: { "registry.cn-hangzhou.aliyuncs.com": { username: "acme@1234", password: "pull-token" } } })) }
    }
  }
})

/** The Job's instance after the init container finished and the report ran to completion. */
export const jobGroup: Group = {
  ContainerGroupId: "eci-bp1jobjobjobjobjob",
  Status: "Succeeded",
  Cpu: 2,
  Memory: 4,
  IntranetIp: "192.168.14.40",
  CreationTime: "2026-03-01T02:00:00Z",
  SucceededTime: "2026-03-01T02:03:30Z",
  InitContainers: [{
    Name: "fetch", Image: "busybox:1.36", Ready: false, RestartCount: 0,
    CurrentState: { State: "Terminated", ExitCode: 0, Reason: "Completed", StartTime: "2026-03-01T02:00:12Z", FinishTime: "2026-03-01T02:00:15Z" }
  }],
  Containers: [{
    Name: "report", Image: "registry.cn-hangzhou.aliyuncs.com/acme/report:2.3.1", Ready: false, RestartCount: 0,
    CurrentState: { State: "Terminated", ExitCode: 0, Reason: "Completed", StartTime: "2026-03-01T02:00:20Z", FinishTime: "2026-03-01T02:03:29Z" }
  }]
}

/** A Spark executor as the Spark driver creates it, with the ECI annotations Spark-on-ECI guides use. */
export const sparkPod: V1Pod = {
  metadata: {
    name: "spark-pi-4b2e1d8f9a-exec-3",
    namespace: "spark",
    uid: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
    labels: { "spark-app-selector": "spark-7f3c", "spark-role": "executor", "spark-exec-id": "3" },
    annotations: {
      "k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo",
      "k8s.aliyun.com/eci-spot-duration": "0",
      "k8s.aliyun.com/eci-vswitch": "vsw-j1,vsw-k1,vsw-h1",
      "k8s.aliyun.com/eci-schedule-strategy": "VSwitchRandom",
      "k8s.aliyun.com/eci-use-specs": "ecs.g6.xlarge,ecs.g7.xlarge",
      "k8s.aliyun.com/eci-image-cache": "true",
      "k8s.aliyun.com/eci-extra-ephemeral-storage": "100Gi",
      "k8s.aliyun.com/eci-instance-family": "ecs.g6",
      "k8s.aliyun.com/eci-fail-strategy": "fail-fast"
    },
    ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "spark-pi-driver", uid: "d1...", controller: true }]
  },
  spec: {
    ...apiServerDefaults,
    nodeName: "virtual-kubelet-cn-hangzhou-k",
    restartPolicy: "Never",
    hostname: "spark-pi-4b2e1d8f9a-exec-3",
    containers: [{
      ...containerDefaults,
      name: "spark-kubernetes-executor",
      image: "registry-vpc.cn-hangzhou.aliyuncs.com/acme/spark:3.5.1",
      imagePullPolicy: "IfNotPresent",
      args: ["executor"],
      env: [
        { name: "SPARK_USER", value: "spark" },
        { name: "SPARK_DRIVER_URL", value: "spark://CoarseGrainedScheduler@spark-pi-driver-svc.spark.svc:7078" },
        { name: "SPARK_EXECUTOR_CORES", value: "4" },
        { name: "SPARK_EXECUTOR_MEMORY", value: "12g" },
        { name: "SPARK_APPLICATION_ID", value: "spark-7f3c" },
        { name: "SPARK_EXECUTOR_ID", value: "3" },
        { name: "SPARK_RESOURCE_PROFILE_ID", value: "0" },
        { name: "SPARK_EXECUTOR_POD_IP", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } } },
        { name: "SPARK_EXECUTOR_POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
        { name: "SPARK_JAVA_OPT_0", value: "-Dspark.driver.port=7078" },
        { name: "SPARK_LOCAL_DIRS", value: "/var/data/spark-local" }
      ],
      ports: [{ containerPort: 7079, name: "blockmanager", protocol: "TCP" }],
      resources: { requests: { cpu: "4", memory: "13516Mi", "ephemeral-storage": "120Gi" }, limits: { memory: "13516Mi" } },
      volumeMounts: [{ name: "spark-local-dir-1", mountPath: "/var/data/spark-local" }]
    }],
    volumes: [{ name: "spark-local-dir-1", emptyDir: {} }],
    automountServiceAccountToken: false
  },
  status: { phase: "Pending", qosClass: "Burstable" }
}
export const spark: ResolvedPod = resolvedFor(sparkPod, { services: [] })

/** The executor's spot instance, reclaimed. */
export const sparkGroup: Group = {
  ContainerGroupId: "eci-bp1sparkexec3",
  Status: "Expired",
  SpotStrategy: "SpotAsPriceGo",
  InstanceType: "ecs.g6.xlarge",
  Cpu: 4,
  Memory: 16,
  ZoneId: "cn-hangzhou-j",
  VSwitchId: "vsw-j1",
  IntranetIp: "192.168.20.5",
  CreationTime: "2026-03-01T11:00:00Z",
  ExpiredTime: "2026-03-01T12:10:00Z",
  Containers: [{
    Name: "spark-kubernetes-executor", Image: "registry-vpc.cn-hangzhou.aliyuncs.com/acme/spark:3.5.1", Ready: true, RestartCount: 0,
    CurrentState: { State: "Running", StartTime: "2026-03-01T11:00:25Z" }
  }],
  Events: [
    { Type: "Warning", Reason: "SpotToBeReleased", Message: "Spot ECI will be released in 3 minutes", LastTimestamp: "2026-03-01T12:07:00Z" }
  ]
}
