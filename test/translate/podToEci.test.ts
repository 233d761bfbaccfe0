import type { V1Service, V1ServiceSpec } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import { containerGroupName, isValidContainerGroupName } from "../../src/translate/identity.ts"
import { referencedObjects } from "../../src/translate/resolved.ts"
import { b64, container, first, missing, pod, refusals, request, translate, warnings } from "./fixtures.ts"

describe("Pod → CreateContainerGroup", () => {
  describe("containers", () => {
    it("keeps name, image, pull policy, working dir, stdin/tty and termination message settings", () => {
      const c = first(pod({
        containers: [container({
          imagePullPolicy: "IfNotPresent",
          workingDir: "/srv",
          stdin: true,
          stdinOnce: true,
          tty: true,
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "FallbackToLogsOnError"
        })]
      }))
      expect(c).toEqual({
        Name: "app",
        Image: "nginx:1.27",
        ImagePullPolicy: "IfNotPresent",
        WorkingDir: "/srv",
        Stdin: true,
        StdinOnce: true,
        Tty: true,
        TerminationMessagePath: "/dev/termination-log",
        TerminationMessagePolicy: "FallbackToLogsOnError"
      })
    })

    it.each([
      ["command and args", { command: ["/bin/sh", "-c"], args: ["echo hi"] }, { Command: ["/bin/sh", "-c"], Arg: ["echo hi"] }],
      ["args only: the image's entrypoint stays", { args: ["--port", "80"] }, { Arg: ["--port", "80"] }],
      ["command only", { command: ["sleep", "3600"] }, { Command: ["sleep", "3600"] }]
    ])("ECI Command is the entrypoint and Arg the args: %s", (_, c, wire) => {
      const out = first(pod({ containers: [container(c)] }))
      expect({ Command: out.Command, Arg: out.Arg }).toEqual({ Command: undefined, Arg: undefined, ...wire })
    })

    it("expands $(VAR) in command and args with the container's env, as the kubelet does", () => {
      const out = first(pod({
        containers: [container({
          env: [{ name: "PORT", value: "8080" }],
          command: ["serve", "--port=$(PORT)"],
          args: ["$$(PORT)", "$(UNKNOWN)", "$(PORT"]
        })]
      }))
      expect(out.Command).toEqual(["serve", "--port=8080"])
      expect(out.Arg).toEqual(["$(PORT)", "$(UNKNOWN)", "$(PORT"])
    })

    it("folds more than 10 args into Command when there is a command (same process)", () => {
      const args = Array.from({ length: 12 }, (_, i) => `a${i}`)
      const out = first(pod({ containers: [container({ command: ["run"], args })] }))
      expect(out.Command).toEqual(["run", ...args])
      expect(out.Arg).toBeUndefined()
    })

    it("refuses more than 10 args with the image's entrypoint", () => {
      const args = Array.from({ length: 11 }, (_, i) => `a${i}`)
      expect(refusals(pod({ containers: [container({ args })] }))).toEqual([
        expect.objectContaining({ field: "spec.containers[0].args", code: "UnsupportedField" })
      ])
    })

    it("maps ports; a hostPort equal to the containerPort is what ECI gives anyway", () => {
      const out = first(pod({
        containers: [container({ ports: [{ containerPort: 80, protocol: "TCP" }, { containerPort: 53, protocol: "UDP", hostPort: 53 }] })]
      }))
      expect(out.Port).toEqual([{ Port: 80, Protocol: "TCP" }, { Port: 53, Protocol: "UDP" }])
    })

    it("refuses a hostPort that differs from the containerPort", () => {
      expect(refusals(pod({ containers: [container({ ports: [{ containerPort: 80, hostPort: 8080 }] })] }))).toEqual([
        expect.objectContaining({ code: "HostPort", field: "spec.containers[0].ports[0].hostPort" })
      ])
    })

    it("translates init containers in order, before the app containers run", () => {
      const r = request(pod({
        initContainers: [container({ name: "migrate", image: "app:1", command: ["migrate"] }), container({ name: "warm", image: "app:1" })]
      }))
      expect(r.InitContainer?.map((c) => c.Name)).toEqual(["migrate", "warm"])
      expect(r.InitContainer?.[0]).toEqual({ Name: "migrate", Image: "app:1", Command: ["migrate"] })
    })

    it("refuses sidecar init containers (restartPolicy: Always)", () => {
      expect(refusals(pod({ initContainers: [container({ name: "proxy", restartPolicy: "Always" })] }))).toEqual([
        expect.objectContaining({ field: "spec.initContainers[0].restartPolicy" })
      ])
    })

    it("warns that init containers have no stdin/tty on ECI", () => {
      expect(warnings(pod({ initContainers: [container({ name: "i", stdin: true })] }))).toEqual([
        expect.objectContaining({ code: "IgnoredField", field: "spec.initContainers[0]" })
      ])
    })
  })

  describe("environment", () => {
    const envOf = (c: Parameters<typeof container>[0], extra: Parameters<typeof request>[1] = {}) =>
      first(pod({ containers: [container(c)] }), extra).EnvironmentVar

    it("keeps definition order; a redefined name keeps its place and takes the last value", () => {
      expect(envOf({ env: [{ name: "B", value: "1" }, { name: "A", value: "2" }, { name: "B", value: "3" }] })).toEqual([
        { Key: "B", Value: "3" },
        { Key: "A", Value: "2" }
      ])
    })

    it("expands references to variables defined before, not after", () => {
      expect(envOf({ env: [{ name: "A", value: "x" }, { name: "B", value: "$(A)-$(C)" }, { name: "C", value: "z" }] })).toEqual([
        { Key: "A", Value: "x" },
        { Key: "B", Value: "x-$(C)" },
        { Key: "C", Value: "z" }
      ])
    })

    it("expands envFrom sources first (with prefix, later sources win), then env", () => {
      const env = envOf(
        {
          envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }, { secretRef: { name: "creds" } }, { configMapRef: { name: "over" } }],
          env: [{ name: "URL", value: "http://$(CFG_HOST):$(PORT)" }]
        },
        {
          configMaps: { cfg: { data: { HOST: "db" } }, over: { data: { USER: "override" } } },
          secrets: { creds: { data: { USER: b64("alice"), PORT: b64("5432") } } }
        }
      )
      expect(env).toEqual([
        { Key: "CFG_HOST", Value: "db" },
        { Key: "USER", Value: "override" },
        { Key: "PORT", Value: "5432" },
        { Key: "URL", Value: "http://db:5432" }
      ])
    })

    it("resolves ConfigMap and Secret keys; optional missing ones are left out", () => {
      const env = envOf(
        {
          env: [
            { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "cfg", key: "level" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
            { name: "OPT", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope", optional: true } } },
            { name: "OPT2", valueFrom: { secretKeyRef: { name: "absent", key: "k", optional: true } } }
          ]
        },
        { configMaps: { cfg: { data: { level: "debug" } } }, secrets: { creds: { data: { password: b64("s3cr3t") } } } }
      )
      expect(env).toEqual([{ Key: "LEVEL", Value: "debug" }, { Key: "PASSWORD", Value: "s3cr3t" }])
    })

    it("a required missing object or key leaves the pod waiting (Unresolved), like the kubelet's CreateContainerConfigError", () => {
      const p = pod({
        containers: [container({
          env: [
            { name: "A", valueFrom: { configMapKeyRef: { name: "cfg", key: "missing" } } },
            { name: "B", valueFrom: { secretKeyRef: { name: "gone", key: "k" } } }
          ],
          envFrom: [{ configMapRef: { name: "other" } }]
        })]
      })
      expect(missing(p, { configMaps: { cfg: { data: {} } } })).toEqual([
        { kind: "ConfigMap", name: "other", field: "spec.containers[0].envFrom[0].configMapRef" },
        { kind: "ConfigMap", name: "cfg", key: "missing", field: "spec.containers[0].env[0].valueFrom.configMapKeyRef" },
        { kind: "Secret", name: "gone", field: "spec.containers[0].env[1].valueFrom.secretKeyRef" }
      ])
    })

    it("resolves downward API fields known before the instance exists", () => {
      const p = pod(
        {
          nodeName: "vk-0",
          serviceAccountName: "builder",
          containers: [container({
            env: [
              { name: "NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
              { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
              { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } }
            ]
          })]
        },
        { labels: { app: "shop" } }
      )
      expect(first(p).EnvironmentVar?.map((e) => e.Value)).toEqual(["web", "default", "3f1c2b9e-0000-4000-8000-000000000001", "shop", "vk-0", "builder"])
    })

    it.each(["status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs"])(
      "passes %s as ECI's FieldRef status.podIP (the host IP is the pod IP on ECI)",
      (fieldPath) => {
        expect(envOf({ env: [{ name: "IP", valueFrom: { fieldRef: { fieldPath } } }] })).toEqual([{ Key: "IP", FieldRef: { FieldPath: "status.podIP" } }])
      }
    )

    it("warns that a reference to a runtime field stays unexpanded", () => {
      const p = pod({
        containers: [container({
          env: [{ name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }, { name: "ADDR", value: "$(IP):80" }]
        })]
      })
      expect(first(p).EnvironmentVar?.[1]).toEqual({ Key: "ADDR", Value: "$(IP):80" })
      expect(warnings(p)).toEqual([expect.objectContaining({ code: "Approximated", field: "spec.containers[0].env[1].value" })])
    })

    it("resolves resource fields with divisors; unset limits default to the instance spec", () => {
      const env = envOf({
        resources: { requests: { cpu: "250m" }, limits: { memory: "1Gi" } },
        env: [
          { name: "CPU_REQ_M", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
          { name: "CPU_LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
          { name: "MEM_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
          { name: "EPH_GI", valueFrom: { resourceFieldRef: { resource: "limits.ephemeral-storage", divisor: "1Gi" } } }
        ]
      })
      // The pod needs 0.25 vCPU / 1 GiB → spec 0.25/1: an unset cpu limit reads as 1 (ceil of 0.25).
      expect(env?.map((e) => e.Value)).toEqual(["250", "1", "1024", "30"])
    })

    it("adds service-link variables after the container's own, the kubernetes service always", () => {
      const svc = (ns: string, name: string, clusterIP: string, ports: NonNullable<V1ServiceSpec["ports"]>): V1Service =>
        ({ metadata: { namespace: ns, name }, spec: { clusterIP, ports } })
      const services = [
        svc("default", "kubernetes", "10.96.0.1", [{ name: "https", port: 443, protocol: "TCP" }]),
        svc("default", "redis-main", "10.96.0.20", [{ port: 6379 }]),
        svc("default", "headless", "None", [{ port: 80 }]),
        svc("other", "elsewhere", "10.96.0.30", [{ port: 80 }])
      ]
      const env = envOf({ env: [{ name: "REDIS_MAIN_SERVICE_PORT", value: "mine" }] }, { services })
      expect(env).toEqual([
        { Key: "REDIS_MAIN_SERVICE_PORT", Value: "mine" },
        { Key: "KUBERNETES_PORT", Value: "tcp://10.96.0.1:443" },
        { Key: "KUBERNETES_PORT_443_TCP", Value: "tcp://10.96.0.1:443" },
        { Key: "KUBERNETES_PORT_443_TCP_ADDR", Value: "10.96.0.1" },
        { Key: "KUBERNETES_PORT_443_TCP_PORT", Value: "443" },
        { Key: "KUBERNETES_PORT_443_TCP_PROTO", Value: "tcp" },
        { Key: "KUBERNETES_SERVICE_HOST", Value: "10.96.0.1" },
        { Key: "KUBERNETES_SERVICE_PORT", Value: "443" },
        { Key: "KUBERNETES_SERVICE_PORT_HTTPS", Value: "443" },
        { Key: "REDIS_MAIN_PORT", Value: "tcp://10.96.0.20:6379" },
        { Key: "REDIS_MAIN_PORT_6379_TCP", Value: "tcp://10.96.0.20:6379" },
        { Key: "REDIS_MAIN_PORT_6379_TCP_ADDR", Value: "10.96.0.20" },
        { Key: "REDIS_MAIN_PORT_6379_TCP_PORT", Value: "6379" },
        { Key: "REDIS_MAIN_PORT_6379_TCP_PROTO", Value: "tcp" },
        { Key: "REDIS_MAIN_SERVICE_HOST", Value: "10.96.0.20" }
      ])
      const noLinks = first(pod({ enableServiceLinks: false }), { services }).EnvironmentVar?.map((e) => e.Key ?? "") ?? []
      expect(noLinks).toContain("KUBERNETES_SERVICE_HOST")
      expect(noLinks.filter((k) => !k.startsWith("KUBERNETES_"))).toEqual([])
    })

    it("refuses an env source ECI cannot have (fileKeyRef)", () => {
      const p = pod({ containers: [container({ env: [{ name: "X", valueFrom: { fileKeyRef: { path: "a", key: "b", volumeName: "v" } } }] })] })
      expect(refusals(p)).toEqual([expect.objectContaining({ field: "spec.containers[0].env[0].valueFrom" })])
    })
  })

  describe("resources", () => {
    const res = (resources: object) => first(pod({ containers: [container({ resources })] }))

    it("sends a container's limits as its Cpu/Memory (a cap, as in Kubernetes)", () => {
      expect(res({ limits: { cpu: "1500m", memory: "1536Mi" } })).toMatchObject({ Cpu: 1.5, Memory: 1.5 })
    })

    it("rounds container memory up to 1/1000 GiB, never down", () => {
      expect(res({ limits: { memory: "100Mi" } }).Memory).toBe(0.098)
    })

    it("sends no amount for a container with requests only: it shares the instance", () => {
      const c = res({ requests: { cpu: "1", memory: "1Gi" } })
      expect([c.Cpu, c.Memory]).toEqual([undefined, undefined])
    })

    it("maps nvidia.com/gpu to Gpu when a GPU instance type is named", () => {
      const p = pod(
        { containers: [container({ resources: { limits: { "nvidia.com/gpu": "1", cpu: "4", memory: "15Gi" } } })] },
        { annotations: { "k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge" } }
      )
      expect(first(p).Gpu).toBe(1)
      expect(request(p).InstanceType).toBe("ecs.gn6i-c4g1.xlarge")
    })

    it("refuses GPUs without an instance type (ECI needs a GPU type)", () => {
      const p = pod({ containers: [container({ resources: { limits: { "nvidia.com/gpu": "1" } } })] })
      expect(refusals(p)).toEqual([expect.objectContaining({ code: "UnsupportedResource" })])
    })

    it.each([
      [{ limits: { "hugepages-2Mi": "1Gi" } }, "spec.containers[0].resources.limits[hugepages-2Mi]", "UnsupportedResource"],
      [{ requests: { "example.com/dongle": "1" } }, "spec.containers[0].resources.requests[example.com/dongle]", "UnsupportedResource"],
      [{ limits: { cpu: "lots" } }, "spec.containers[0].resources.limits[cpu]", "InvalidQuantity"]
    ])("refuses %j", (resources, field, code) => {
      expect(refusals(pod({ containers: [container({ resources })] }))).toEqual([expect.objectContaining({ field, code })])
    })

    it("refuses a pod bigger than the largest spec", () => {
      expect(refusals(pod({ containers: [container({ resources: { limits: { cpu: "65" } } })] }))).toEqual([
        expect.objectContaining({ code: "ResourcesTooLarge" })
      ])
    })

    it("buys ephemeral storage beyond the included 30 GiB", () => {
      const r = request(pod({ containers: [container({ resources: { requests: { "ephemeral-storage": "50Gi" } } })] }))
      expect(r.EphemeralStorage).toBe(20)
      expect(request(pod({ containers: [container({ resources: { requests: { "ephemeral-storage": "10Gi" } } })] })).EphemeralStorage).toBeUndefined()
    })
  })

  describe("probes", () => {
    const probeOf = (c: Parameters<typeof container>[0]) => first(pod({ containers: [container(c)] }))

    it("maps exec, httpGet and tcpSocket with their timing", () => {
      const c = probeOf({
        ports: [{ name: "http", containerPort: 8080 }],
        livenessProbe: { httpGet: { path: "/healthz", port: "http", scheme: "HTTP" }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 }
      })
      expect(c.LivenessProbe).toEqual({
        HttpGet: { Path: "/healthz", Port: 8080, Scheme: "HTTP" },
        InitialDelaySeconds: 5,
        PeriodSeconds: 10,
        TimeoutSeconds: 2,
        SuccessThreshold: 1,
        FailureThreshold: 3
      })
      expect(c.ReadinessProbe).toEqual({ TcpSocket: { Port: 8080 }, PeriodSeconds: 5 })
      expect(probeOf({ readinessProbe: { exec: { command: ["cat", "/ready"] } } }).ReadinessProbe).toEqual({ Exec: { Command: ["cat", "/ready"] } })
    })

    it.each([
      [{ httpGet: { port: 80, host: "example.com" } }, "spec.containers[0].livenessProbe.httpGet.host"],
      [{ httpGet: { port: 80, httpHeaders: [{ name: "Authorization", value: "Bearer x" }] } }, "spec.containers[0].livenessProbe.httpGet.httpHeaders"],
      [{ tcpSocket: { port: 80, host: "10.0.0.1" } }, "spec.containers[0].livenessProbe.tcpSocket.host"],
      [{ httpGet: { port: "metrics" } }, "spec.containers[0].livenessProbe.httpGet.port"]
    ])("refuses what could make the probe fail where the kubelet's passes: %j", (livenessProbe, field) => {
      expect(refusals(pod({ containers: [container({ livenessProbe })] }))).toEqual([expect.objectContaining({ code: "UnsupportedProbe", field })])
    })

    it("approximates a gRPC probe by a TCP check of its port, with a warning", () => {
      const p = pod({ containers: [container({ readinessProbe: { grpc: { port: 9000 }, periodSeconds: 3 } })] })
      expect(first(p).ReadinessProbe).toEqual({ TcpSocket: { Port: 9000 }, PeriodSeconds: 3 })
      expect(warnings(p)).toEqual([expect.objectContaining({ code: "Approximated", field: "spec.containers[0].readinessProbe.grpc" })])
    })

    it("folds a startup probe into the liveness probe's initial delay (startup budget), with a warning", () => {
      const p = pod({
        containers: [container({
          startupProbe: { httpGet: { port: 80, path: "/" }, periodSeconds: 10, failureThreshold: 30 },
          livenessProbe: { httpGet: { port: 80, path: "/" }, initialDelaySeconds: 5 }
        })]
      })
      expect(first(p).LivenessProbe).toEqual({ HttpGet: { Port: 80, Path: "/" }, InitialDelaySeconds: 300 })
      expect(warnings(p)).toEqual([expect.objectContaining({ code: "Approximated", field: "spec.containers[0].startupProbe" })])
    })

    it("drops a startup probe without a liveness probe, with a warning", () => {
      const p = pod({ containers: [container({ startupProbe: { exec: { command: ["true"] } } })] })
      expect(first(p).LivenessProbe).toBeUndefined()
      expect(warnings(p)).toHaveLength(1)
    })
  })

  describe("lifecycle hooks (flattened wire fields)", () => {
    it("maps postStart exec and preStop httpGet with host and headers", () => {
      const c = first(pod({
        containers: [container({
          ports: [{ name: "admin", containerPort: 9090 }],
          lifecycle: {
            postStart: { exec: { command: ["/bin/warm"] } },
            preStop: { httpGet: { host: "localhost", path: "/drain", port: "admin", scheme: "HTTP", httpHeaders: [{ name: "X-Drain", value: "1" }] } }
          }
        })]
      }))
      expect(c).toMatchObject({
        LifecyclePostStartHandlerExec: ["/bin/warm"],
        LifecyclePreStopHandlerHttpGetHost: "localhost",
        LifecyclePreStopHandlerHttpGetPath: "/drain",
        LifecyclePreStopHandlerHttpGetPort: 9090,
        LifecyclePreStopHandlerHttpGetScheme: "HTTP",
        LifecyclePreStopHandlerHttpGetHttpHeader: [{ Name: "X-Drain", Value: "1" }]
      })
    })

    it("maps tcpSocket hooks", () => {
      expect(first(pod({ containers: [container({ lifecycle: { postStart: { tcpSocket: { port: 5000 } } } })] }))).toMatchObject({
        LifecyclePostStartHandlerTcpSocketPort: 5000
      })
    })

    it("runs a preStop sleep as `sleep <n>`, with a warning", () => {
      const p = pod({ containers: [container({ lifecycle: { preStop: { sleep: { seconds: 15 } } } })] })
      expect(first(p).LifecyclePreStopHandlerExec).toEqual(["sleep", "15"])
      expect(warnings(p)).toEqual([expect.objectContaining({ code: "Approximated" })])
    })

    it("refuses a postStart sleep (a failing stand-in would kill the container)", () => {
      expect(refusals(pod({ containers: [container({ lifecycle: { postStart: { sleep: { seconds: 1 } } } })] }))).toEqual([
        expect.objectContaining({ field: "spec.containers[0].lifecycle.postStart.sleep" })
      ])
    })
  })

  describe("security context", () => {
    it("maps user, group, non-root, added capabilities and a read-only root filesystem", () => {
      const c = first(pod({
        containers: [container({
          securityContext: { runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { add: ["NET_ADMIN"] } }
        })]
      }))
      expect(c).toMatchObject({
        SecurityContext: { Capability: { Add: ["NET_ADMIN"] }, ReadOnlyRootFilesystem: true, RunAsUser: 1000 },
        SecurityContextRunAsGroup: 3000,
        SecurityContextRunAsNonRoot: true
      })
    })

    it("inherits the pod's runAsUser/runAsGroup/runAsNonRoot, a container's own value wins", () => {
      const p = pod({
        securityContext: { runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true },
        containers: [container({ securityContext: { runAsUser: 1001 } })]
      })
      expect(first(p)).toMatchObject({ SecurityContext: { RunAsUser: 1001 }, SecurityContextRunAsGroup: 2000, SecurityContextRunAsNonRoot: true })
    })

    it("ignores hardening ECI cannot enforce, with a warning (restricted-profile pods must still run)", () => {
      const p = pod({
        securityContext: { fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } },
        containers: [container({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } })]
      })
      expect(first(p).SecurityContext).toBeUndefined()
      expect(warnings(p).map((w) => w.field)).toEqual(["spec.securityContext", "spec.containers[0].securityContext"])
    })

    it("keeps RunAsUser on init containers and warns that their group / non-root cannot be set", () => {
      const p = pod({ securityContext: { runAsUser: 1000, runAsGroup: 3000 }, initContainers: [container({ name: "init" })] })
      expect(request(p).InitContainer?.[0]).toMatchObject({ SecurityContext: { RunAsUser: 1000 } })
      expect(request(p).InitContainer?.[0]).not.toHaveProperty("SecurityContextRunAsGroup")
      expect(warnings(p)).toEqual([expect.objectContaining({ field: "spec.initContainers[0].securityContext" })])
    })

    it.each([
      [{ privileged: true }, "Privileged", "spec.containers[0].securityContext.privileged"],
      [{ procMount: "Unmasked" }, "UnsupportedField", "spec.containers[0].securityContext.procMount"]
    ])("refuses %j", (securityContext, code, field) => {
      expect(refusals(pod({ containers: [container({ securityContext })] }))).toEqual([expect.objectContaining({ code, field })])
    })

    it("sends allowed sysctls, refuses the others (§5.6)", () => {
      const ok = request(pod({
        securityContext: { sysctls: [{ name: "net.core.somaxconn", value: "1024" }, { name: "kernel.shmmax", value: "1" }, { name: "net/ipv4/ip_local_port_range", value: "1024 65000" }] }
      }))
      expect(ok.SecurityContext).toEqual({
        Sysctl: [{ Name: "net.core.somaxconn", Value: "1024" }, { Name: "kernel.shmmax", Value: "1" }, { Name: "net.ipv4.ip_local_port_range", Value: "1024 65000" }]
      })
      const bad = refusals(pod({ securityContext: { sysctls: [{ name: "net.ipv4.tcp_syncookies", value: "0" }, { name: "kernel.core_pattern", value: "x" }] } }))
      expect(bad.map((r) => [r.code, r.field])).toEqual([
        ["SysctlNotAllowed", "spec.securityContext.sysctls[0]"],
        ["SysctlNotAllowed", "spec.securityContext.sysctls[1]"]
      ])
    })
  })

  describe("pod-level fields", () => {
    it("passes restart policy, grace period, deadline and process-namespace sharing", () => {
      const r = request(pod({ restartPolicy: "OnFailure", terminationGracePeriodSeconds: 45, activeDeadlineSeconds: 600, shareProcessNamespace: true }))
      expect(r).toMatchObject({ RestartPolicy: "OnFailure", TerminationGracePeriodSeconds: 45, ActiveDeadlineSeconds: 600, ShareProcessNamespace: true })
    })

    it("places the group with the node's defaults", () => {
      const r = request(pod(), { node: { clusterId: "c", nodeName: "n", regionId: "cn-shanghai", vSwitchIds: ["vsw-1"], securityGroupId: "sg-9", zoneId: "cn-shanghai-b", resourceGroupId: "rg-1", clusterDns: ["10.0.0.10"], clusterDomain: "k8s.local" } })
      expect(r).toMatchObject({ RegionId: "cn-shanghai", VSwitchId: "vsw-1", SecurityGroupId: "sg-9", ZoneId: "cn-shanghai-b", ResourceGroupId: "rg-1" })
    })

    it("passes the client token for idempotent retries", () => {
      expect(request(pod(), { clientToken: "tok-1" }).ClientToken).toBe("tok-1")
    })

    it.each([
      [{ hostNetwork: true }, "spec.hostNetwork"],
      [{ hostPID: true }, "spec.hostPID"],
      [{ hostIPC: true }, "spec.hostIPC"]
    ])("refuses host namespaces: %j", (spec, field) => {
      expect(refusals(pod(spec))).toEqual([expect.objectContaining({ code: "HostNamespace", field })])
    })

    it("refuses more than 20 containers", () => {
      const many = Array.from({ length: 21 }, (_, i) => container({ name: `c${i}` }))
      expect(refusals(pod({ containers: many })).map((r) => r.code)).toEqual(["TooManyContainers"])
    })

    it("collects every refusal, not just the first", () => {
      const p = pod({
        hostNetwork: true,
        volumes: [{ name: "host", hostPath: { path: "/var/run/docker.sock" } }],
        containers: [container({ securityContext: { privileged: true }, livenessProbe: { httpGet: { port: 80, host: "x" } } })]
      }, { annotations: { "k8s.aliyun.com/eci-with-eip": "maybe" } })
      expect(refusals(p).map((r) => r.field).sort()).toEqual([
        "metadata.annotations[k8s.aliyun.com/eci-with-eip]",
        "spec.containers[0].livenessProbe.httpGet.host",
        "spec.containers[0].securityContext.privileged",
        "spec.hostNetwork",
        "spec.volumes[0].hostPath"
      ])
    })

    it("a refusal wins over a missing reference", () => {
      const p = pod({ hostPID: true, volumes: [{ name: "cfg", configMap: { name: "absent" } }] })
      expect(translate(p)._tag).toBe("Refused")
    })

    it.each([
      ["nodeSelector arm64", { nodeSelector: { "kubernetes.io/arch": "arm64" } }, "ARM64"],
      ["required affinity to arm64 only", {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }] }] } } }
      }, "ARM64"],
      ["affinity allowing amd64 too", {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64", "amd64"] }] }] } } }
      }, undefined],
      ["no architecture constraint", {}, undefined]
    ])("CpuArchitecture with %s: %s", (_, spec, arch) => {
      expect(request(pod(spec)).CpuArchitecture).toBe(arch)
    })

    it("maps spec.os windows to OsType Windows", () => {
      expect(request(pod({ os: { name: "windows" } })).OsType).toBe("Windows")
    })
  })

  describe("DNS", () => {
    const dns = (spec: object, extra: Parameters<typeof request>[1] = {}) => {
      const r = request(pod(spec, { namespace: "shop" }), extra)
      return { DnsPolicy: r.DnsPolicy, DnsConfig: r.DnsConfig }
    }

    it("ClusterFirst (the default): cluster DNS, the namespace's search path, ndots:5", () => {
      expect(dns({})).toEqual({
        DnsPolicy: "None",
        DnsConfig: {
          NameServer: ["10.96.0.10"],
          Search: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
          Option: [{ Name: "ndots", Value: "5" }]
        }
      })
    })

    it("merges spec.dnsConfig into ClusterFirst: appended without duplicates, options override by name", () => {
      expect(dns({ dnsConfig: { nameservers: ["10.96.0.10", "8.8.8.8"], searches: ["corp"], options: [{ name: "ndots", value: "2" }, { name: "single-request" }] } }))
        .toEqual({
          DnsPolicy: "None",
          DnsConfig: {
            NameServer: ["10.96.0.10", "8.8.8.8"],
            Search: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp"],
            Option: [{ Name: "ndots", Value: "2" }, { Name: "single-request" }]
          }
        })
    })

    it("None: exactly the pod's dnsConfig", () => {
      expect(dns({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"] } })).toEqual({ DnsPolicy: "None", DnsConfig: { NameServer: ["1.1.1.1"] } })
    })

    it("Default: ECI's own resolver", () => {
      expect(dns({ dnsPolicy: "Default" })).toEqual({ DnsPolicy: "Default", DnsConfig: undefined })
    })

    it("falls back to Default without a cluster DNS, as the kubelet does, with a warning", () => {
      const extra = { node: { clusterId: "c", nodeName: "n", regionId: "r", vSwitchIds: [], clusterDns: [], clusterDomain: "cluster.local" } }
      expect(dns({}, extra).DnsPolicy).toBe("Default")
      expect(warnings(pod(), extra)).toEqual([expect.objectContaining({ field: "spec.dnsPolicy" })])
    })

    it("keeps at most 3 nameservers, with a warning", () => {
      const p = pod({ dnsConfig: { nameservers: ["1.1.1.1", "8.8.8.8", "9.9.9.9"] } })
      expect(request(p).DnsConfig?.NameServer).toEqual(["10.96.0.10", "1.1.1.1", "8.8.8.8"])
      expect(warnings(p)).toHaveLength(1)
    })
  })

  describe("host name and host aliases", () => {
    it.each([
      ["the pod name", {}, {}, "web"],
      ["spec.hostname", { hostname: "db-primary" }, {}, "db-primary"],
      ["a pod name truncated to 63 characters without a trailing dash", {}, { name: `${"a".repeat(62)}-b` }, "a".repeat(62)],
      ["the FQDN with setHostnameAsFQDN", { hostname: "web-0", subdomain: "web", setHostnameAsFQDN: true }, {}, "web-0.web.default.svc.cluster.local"]
    ])("HostName is %s", (_, spec, meta, name) => {
      expect(request(pod(spec, meta)).HostName).toBe(name)
    })

    it("maps hostAliases to HostAliase", () => {
      expect(request(pod({ hostAliases: [{ ip: "127.0.0.1", hostnames: ["foo.local", "bar.local"] }] })).HostAliase).toEqual([
        { Ip: "127.0.0.1", Hostname: ["foo.local", "bar.local"] }
      ])
    })
  })

  describe("identity: name and tags", () => {
    it("tags the group with cluster, node, namespace, name and UID", () => {
      expect(request(pod()).Tag).toEqual([
        { Key: "eci-virtual-node.io/cluster-id", Value: "c-test" },
        { Key: "eci-virtual-node.io/node-name", Value: "virtual-kubelet-cn-hangzhou-k" },
        { Key: "eci-virtual-node.io/namespace", Value: "default" },
        { Key: "eci-virtual-node.io/pod-name", Value: "web" },
        { Key: "eci-virtual-node.io/pod-uid", Value: "3f1c2b9e-0000-4000-8000-000000000001" }
      ])
    })

    it("shortens a tag value over 128 characters with a hash", () => {
      const long = "p".repeat(200)
      const v = request(pod({}, { name: long })).Tag?.[3]?.Value ?? ""
      expect(v).toHaveLength(128)
      expect(v).toMatch(/^p{119}-[0-9a-f]{8}$/)
    })

    it.each([
      ["default", "web", "default-web"],
      ["default", "web.v1", "default-web-v1-"],
      ["kube-system", "coredns-7db6d8ff4d-abcde", "kube-system-coredns-7db6d8ff4d-abcde"],
      ["ns", `${"x".repeat(253)}`, "ns-x"]
    ])("ContainerGroupName of %s/%s starts with %s and is valid", (ns, name, prefix) => {
      const n = containerGroupName(ns, name)
      expect(n.startsWith(prefix)).toBe(true)
      expect(isValidContainerGroupName(n)).toBe(true)
      expect(containerGroupName(ns, name)).toBe(n) // deterministic
    })

    it("adds a hash only when the name had to change", () => {
      expect(containerGroupName("default", "web")).toBe("default-web")
      expect(containerGroupName("default", "web.v1")).toMatch(/^default-web-v1-[0-9a-f]{8}$/)
      expect(containerGroupName("ns", "x".repeat(253))).toHaveLength(128)
      expect(containerGroupName("a", "b.c")).not.toBe(containerGroupName("a", "b-c"))
    })
  })

  describe("image pull secrets", () => {
    const docker = (auths: object) => ({ type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": b64(JSON.stringify({ auths })) } })

    it("reads dockerconfigjson (username/password or auth) and dockercfg; URL keys become hosts", () => {
      const r = request(pod({ imagePullSecrets: [{ name: "a" }, { name: "b" }, { name: "c" }] }), {
        secrets: {
          a: docker({ "registry.cn-hangzhou.aliyuncs.com": { username: "u1", password: "p1" }, "https://index.docker.io/v1/": { auth: b64("u2:p:2") } }),
          b: { type: "kubernetes.io/dockercfg", data: { ".dockercfg": b64(JSON.stringify({ "quay.io": { username: "u3", password: "p3" } })) } },
          c: docker({ "registry.cn-hangzhou.aliyuncs.com": { username: "dup", password: "dup" } })
        }
      })
      expect(r.ImageRegistryCredential).toEqual([
        { Server: "registry.cn-hangzhou.aliyuncs.com", UserName: "u1", Password: "p1" },
        { Server: "index.docker.io", UserName: "u2", Password: "p:2" },
        { Server: "quay.io", UserName: "u3", Password: "p3" }
      ])
    })

    it("a missing pull secret is a warning, as on a kubelet (the pull may still work)", () => {
      const p = pod({ imagePullSecrets: [{ name: "gone" }] })
      expect(request(p).ImageRegistryCredential).toBeUndefined()
      expect(warnings(p)).toEqual([expect.objectContaining({ code: "MissingImagePullSecret", field: "spec.imagePullSecrets[0]" })])
    })
  })

  describe("referencedObjects tells the caller what to fetch", () => {
    it("lists ConfigMaps, Secrets and tokens once, sorted", () => {
      const p = pod({
        imagePullSecrets: [{ name: "pull" }],
        containers: [container({
          envFrom: [{ configMapRef: { name: "cm-b" } }, { secretRef: { name: "sec-a" } }],
          env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cm-a", key: "k" } } }]
        })],
        volumes: [
          { name: "v", configMap: { name: "cm-b" } },
          { name: "t", projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }, { serviceAccountToken: { path: "vault", audience: "vault" } }] } }
        ]
      })
      expect(referencedObjects(p)).toEqual({
        configMaps: ["cm-a", "cm-b"],
        secrets: ["pull", "sec-a"],
        tokens: [{ key: "|3607", expirationSeconds: 3607 }, { key: "vault|3600", audience: "vault", expirationSeconds: 3600 }],
        serviceLinks: true
      })
    })
  })
})
