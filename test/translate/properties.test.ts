import type { V1Container, V1Pod, V1Volume } from "@kubernetes/client-node"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { validateCreate } from "../../src/eci/simulator/validation.ts"
import { eciToStatus, type Group } from "../../src/translate/eciToStatus.ts"
import { podToEci } from "../../src/translate/podToEci.ts"
import { eciProblems } from "./eciConstraints.ts"
import { b64, kubeApiAccess, node, rootCa, tokens } from "./fixtures.ts"

/**
 * Property tests over generated pods and container groups. The generators produce what the API
 * server could hand us — valid and invalid for ECI alike — so that refusals are exercised too.
 */
const NUM_RUNS = 300

/** Drops undefined members, so generated objects look like API objects. */
const clean = <A extends object>(o: A): A => JSON.parse(JSON.stringify(o)) as A
const maybe = <A>(a: fc.Arbitrary<A>) => fc.option(a, { nil: undefined })

/**
 * Two populations: "friendly" pods use only what ECI can run (so that accepted requests are
 * plentiful and the acceptance properties mean something), "hostile" ones (one in three) also draw
 * host namespaces, privileged containers, refused probes and volumes, bad annotations, oversize
 * resources and too many containers or volumes.
 */
const cpuOf = (hostile: boolean) => hostile
  ? fc.constantFrom("50m", "100m", "250m", "0.5", "1", "7", "40", "65", "lots")
  : fc.constantFrom("50m", "100m", "150m", "250m", "0.5", "1", "1500m", "2", "3", "7")
const memoryOf = (hostile: boolean) => hostile
  ? fc.constantFrom("64Mi", "100Mi", "1Gi", "13Gi", "200Gi", "600Gi")
  : fc.constantFrom("64Mi", "100Mi", "128974848", "333Mi", "512Mi", "1Gi", "1.5Gi", "3Gi", "13Gi")
const resourcesOf = (hostile: boolean) => fc.record({
  requests: maybe(fc.record({ cpu: maybe(cpuOf(hostile)), memory: maybe(memoryOf(hostile)) })),
  limits: maybe(fc.record({
    cpu: maybe(cpuOf(hostile)),
    memory: maybe(memoryOf(hostile)),
    "nvidia.com/gpu": hostile ? maybe(fc.constantFrom("1", "2")) : fc.constant(undefined),
    "hugepages-2Mi": hostile ? maybe(fc.constant("1Gi")) : fc.constant(undefined)
  }))
})

const port = fc.integer({ min: 1, max: 65535 })
const handlerOf = (hostile: boolean) => fc.oneof(
  fc.record({ exec: fc.record({ command: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }) }) }),
  fc.record({
    httpGet: fc.record({
      port: hostile ? fc.oneof(port, fc.constant("http"), fc.constant("nope")) : fc.oneof(port, fc.constant("http")),
      path: maybe(fc.constantFrom("/", "/healthz")),
      host: hostile ? maybe(fc.constant("x")) : fc.constant(undefined)
    })
  }),
  fc.record({ tcpSocket: fc.record({ port }) }),
  fc.record({ grpc: fc.record({ port }) })
)
const probeOf = (hostile: boolean) =>
  fc.tuple(handlerOf(hostile), fc.record({ periodSeconds: maybe(fc.integer({ min: 1, max: 60 })), failureThreshold: maybe(fc.integer({ min: 1, max: 30 })) }))
    .map(([h, t]) => ({ ...h, ...t }))

const envVarOf = (hostile: boolean) => fc.oneof(
  fc.record({ name: fc.constantFrom("A", "B", "PORT"), value: fc.constantFrom("x", "$(A)-y", "$$(B)", "") }),
  fc.record({ name: fc.constant("POD"), valueFrom: fc.record({ fieldRef: fc.record({ fieldPath: fc.constantFrom("metadata.name", "status.podIP", "spec.nodeName") }) }) }),
  fc.record({
    name: fc.constant("CFG"),
    valueFrom: fc.record({
      configMapKeyRef: fc.record({ name: fc.constantFrom("cfg", "absent"), key: fc.constantFrom("k", "nope"), optional: hostile ? maybe(fc.boolean()) : fc.constant(true) })
    })
  }),
  fc.record({ name: fc.constant("CFG_K"), valueFrom: fc.record({ configMapKeyRef: fc.record({ name: fc.constant("cfg"), key: fc.constant("k") }) }) })
)

const volumeNames = ["v0", "v1", "v2", "v3", "v4"]
const volumeOf = (hostile: boolean) => (name: string): fc.Arbitrary<V1Volume> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ medium: maybe(fc.constant("Memory")), sizeLimit: maybe(fc.constant("1Gi")) }).map((emptyDir) => ({ name, emptyDir })) },
    {
      weight: 3,
      arbitrary: fc.record({
        name: fc.constantFrom("cfg", "absent"),
        optional: hostile ? maybe(fc.boolean()) : fc.constant(true),
        defaultMode: maybe(fc.constantFrom(420, 0o400, 0o755))
      }).map((configMap) => ({ name, configMap }))
    },
    { weight: 2, arbitrary: fc.constant({ name, secret: { secretName: "creds", items: [{ key: "password", path: "pw", mode: 0o400 }] } }) },
    { weight: 2, arbitrary: fc.constant({ ...kubeApiAccess, name }) },
    { weight: 1, arbitrary: fc.constant({ name, nfs: { server: "nas.example.com", path: "/share" } }) },
    { weight: hostile ? 1 : 0, arbitrary: fc.constant({ name, hostPath: { path: "/var/log" } }) },
    { weight: hostile ? 1 : 0, arbitrary: fc.constant({ name, persistentVolumeClaim: { claimName: "data" } }) }
  ).map((v) => clean(v) as unknown as V1Volume)

const containerArb = (name: string, volumeCount: number, hostile: boolean): fc.Arbitrary<V1Container> =>
  fc.record({
    image: fc.constantFrom("nginx:1.27", "busybox", "registry.cn-hangzhou.aliyuncs.com/a/b:1"),
    command: maybe(fc.array(fc.constantFrom("sh", "-c", "run", "$(A)"), { minLength: 1, maxLength: 3 })),
    args: maybe(fc.array(fc.constantFrom("--x", "$(PORT)", "y"), { maxLength: hostile ? 12 : 10 })),
    env: maybe(fc.array(envVarOf(hostile), { maxLength: 4 })),
    // A port named "http" always exists, so that named probe ports resolve (hostile pods also use "nope").
    ports: fc.array(
      fc.record({ containerPort: port, hostPort: hostile ? maybe(fc.constantFrom(0, 8080)) : fc.constant(undefined) }),
      { maxLength: 2 }
    ).map((ps) => [{ containerPort: 8080, name: "http" }, ...ps]),
    resources: maybe(resourcesOf(hostile)),
    livenessProbe: maybe(probeOf(hostile)),
    readinessProbe: maybe(probeOf(hostile)),
    startupProbe: maybe(probeOf(hostile)),
    securityContext: maybe(fc.record({
      privileged: hostile ? maybe(fc.boolean()) : fc.constant(undefined),
      runAsUser: maybe(fc.integer({ min: 0, max: 65535 })),
      capabilities: maybe(fc.record({ add: maybe(fc.constant(["NET_ADMIN"])), drop: maybe(fc.constant(["ALL"])) }))
    })),
    lifecycle: maybe(fc.record({ preStop: maybe(handlerOf(hostile).filter((h) => !("grpc" in h))) })),
    volumeMounts: volumeCount === 0
      ? fc.constant(undefined)
      : maybe(fc.uniqueArray(fc.integer({ min: 0, max: volumeCount - 1 }), { maxLength: 3 })
        .map((is) => is.map((i) => ({ name: volumeNames[i] ?? "v0", mountPath: `/mnt/${i}`, subPath: i % 2 === 0 ? undefined : "sub" }))))
  }).map((c) => clean({ name, ...c }) as unknown as V1Container)

const annotationsOf = (hostile: boolean) => fc.dictionary(
  fc.constantFrom(
    "k8s.aliyun.com/eci-vswitch", "k8s.aliyun.com/eci-use-specs", "k8s.aliyun.com/eci-spot-strategy", "k8s.aliyun.com/eci-with-eip",
    "k8s.aliyun.com/eci-custom-tags", "k8s.aliyun.com/eci-image-cache", "k8s.aliyun.com/eci-instance-family"
  ),
  hostile
    ? fc.constantFrom("vsw-1,vsw-2", "2-4Gi", "4-8Gi,ecs.c6.xlarge", "SpotWithPriceLimit", "0.5", "true", "maybe", "a:b", "")
    : fc.constantFrom("true"),
  { maxKeys: 3 }
).map((a) => {
  if (hostile) return a
  // Friendly pods get a valid value for each key.
  const valid: Record<string, string> = {
    "k8s.aliyun.com/eci-vswitch": "vsw-1,vsw-2",
    "k8s.aliyun.com/eci-use-specs": "2-4Gi",
    "k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo",
    "k8s.aliyun.com/eci-with-eip": "true",
    "k8s.aliyun.com/eci-custom-tags": "team:data",
    "k8s.aliyun.com/eci-image-cache": "true",
    "k8s.aliyun.com/eci-instance-family": "ecs.g6"
  }
  return Object.fromEntries(Object.keys(a).map((k) => [k, valid[k] ?? "true"]))
})

const podArb: fc.Arbitrary<V1Pod> = fc
  .record({
    hostile: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
    containerCount: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 19, max: 22 }) }),
    initCount: fc.integer({ min: 0, max: 2 }),
    volumeCount: fc.integer({ min: 0, max: 5 })
  })
  .chain(({ hostile, containerCount, initCount, volumeCount }) =>
    fc.record({
      containers: fc.tuple(...Array.from({ length: hostile ? containerCount : Math.min(containerCount, 20) }, (_, i) => containerArb(`c${i}`, volumeCount, hostile))),
      initContainers: fc.tuple(...Array.from({ length: initCount }, (_, i) => containerArb(`init${i}`, volumeCount, hostile))),
      volumes: fc.tuple(...volumeNames.slice(0, volumeCount).map(volumeOf(hostile))),
      extraVolumes: hostile ? fc.boolean().map((many) => (many ? Array.from({ length: 17 }, (_, i) => ({ name: `extra${i}`, emptyDir: {} })) : [])) : fc.constant([]),
      restartPolicy: fc.constantFrom("Always", "OnFailure", "Never"),
      dnsPolicy: fc.constantFrom("ClusterFirst", "Default", "None", "ClusterFirstWithHostNet"),
      hostNetwork: hostile ? maybe(fc.boolean()) : fc.constant(undefined),
      annotations: annotationsOf(hostile),
      name: fc.constantFrom("web", "api.v2", "x".repeat(120), "a-b")
    }))
  .map((g) => clean({
    metadata: { name: g.name, namespace: "default", uid: "uid-1", annotations: g.annotations },
    spec: {
      containers: g.containers,
      initContainers: g.initContainers,
      volumes: [...g.volumes, ...g.extraVolumes],
      restartPolicy: g.restartPolicy,
      dnsPolicy: g.dnsPolicy,
      hostNetwork: g.hostNetwork
    }
  }) as V1Pod)

const resolvedFor = (pod: V1Pod) => ({
  pod,
  node,
  configMaps: { ...rootCa, cfg: { data: { k: "v", "app.conf": "x=1\n" } } },
  secrets: { creds: { data: { password: b64("pw") } } },
  serviceAccountTokens: tokens,
  services: []
})

describe("properties of Pod → CreateContainerGroup", () => {
  it("never throws, and answers Ok, Refused or Unresolved", () => {
    fc.assert(fc.property(podArb, (pod) => {
      expect(["Ok", "Refused", "Unresolved"]).toContain(podToEci(resolvedFor(pod))._tag)
    }), { numRuns: NUM_RUNS })
  })

  it("is deterministic", () => {
    fc.assert(fc.property(podArb, (pod) => {
      expect(podToEci(resolvedFor(pod))).toEqual(podToEci(resolvedFor(pod)))
    }), { numRuns: 100 })
  })

  it("every accepted request satisfies ECI's documented constraints", () => {
    fc.assert(fc.property(podArb, (pod) => {
      const t = podToEci(resolvedFor(pod))
      if (t._tag === "Ok") expect(eciProblems(t.request)).toEqual([])
    }), { numRuns: NUM_RUNS })
  })

  it("every accepted request is accepted by the ECI simulator's validation", () => {
    fc.assert(fc.property(podArb, (pod) => {
      const t = podToEci(resolvedFor(pod))
      if (t._tag === "Ok") expect(() => validateCreate(t.request)).not.toThrow()
    }), { numRuns: NUM_RUNS })
  })

  it("every refusal names a field and a reason", () => {
    fc.assert(fc.property(podArb, (pod) => {
      const t = podToEci(resolvedFor(pod))
      if (t._tag === "Refused") {
        expect(t.refusals.length).toBeGreaterThan(0)
        for (const r of t.refusals) {
          expect(r.field).not.toBe("")
          expect(r.reason).not.toBe("")
        }
      }
    }), { numRuns: NUM_RUNS })
  })

  it("refuses exactly the pods with more than 20 containers or volumes, among other reasons", () => {
    fc.assert(fc.property(podArb, (pod) => {
      const t = podToEci(resolvedFor(pod))
      const tooMany = (pod.spec?.containers.length ?? 0) > 20 || (pod.spec?.volumes?.length ?? 0) > 20
      if (tooMany) expect(t._tag).toBe("Refused")
    }), { numRuns: NUM_RUNS })
  })
})

// ---------------------------------------------------------------------------------------------
// ContainerGroup → PodStatus

const groupStatuses = ["Scheduling", "Pending", "Running", "Restarting", "Updating", "Terminating", "Succeeded", "Failed", "Expired", "ScheduleFailed", "StartingFailed", "WatingForDel", "Mystery"]
const time = fc.constantFrom("2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z", "", "garbage")
const eciState = fc.oneof(
  fc.record({ State: fc.constant("Waiting"), Reason: maybe(fc.constantFrom("ContainerCreating", "ErrImagePull", "CrashLoopBackOff", "")), Message: maybe(fc.string({ maxLength: 5 })) }),
  fc.record({ State: fc.constant("Running"), StartTime: maybe(time) }),
  fc.record({ State: fc.constant("Terminated"), ExitCode: maybe(fc.constantFrom(0, 1, 2, 137, 143)), Reason: maybe(fc.constantFrom("Completed", "Error", "OOMKilled", "")), StartTime: maybe(time), FinishTime: maybe(time), Signal: maybe(fc.constantFrom(0, 9, 15)) }),
  fc.record({ State: fc.constantFrom("Succeeded", "Failed", "Canceled", "Pending", "") })
)
const eciContainer = (name: string) =>
  fc.record({
    Name: fc.constant(name),
    Image: maybe(fc.constant("img:1")),
    Ready: maybe(fc.boolean()),
    RestartCount: maybe(fc.integer({ min: 0, max: 5 })),
    CurrentState: maybe(eciState),
    PreviousState: maybe(eciState)
  }).map((c) => clean(c))

const statusCase = fc
  .record({ apps: fc.integer({ min: 1, max: 3 }), inits: fc.integer({ min: 0, max: 2 }) })
  .chain(({ apps, inits }) => {
    const appNames = Array.from({ length: apps }, (_, i) => `c${i}`)
    const initNames = Array.from({ length: inits }, (_, i) => `i${i}`)
    return fc.record({
      pod: fc.record({
        restartPolicy: fc.constantFrom("Always", "OnFailure", "Never"),
        prevPhase: maybe(fc.constantFrom("Pending", "Running", "Succeeded", "Failed")),
        readinessGate: fc.boolean()
      }).map(({ restartPolicy, prevPhase, readinessGate }) => clean({
        metadata: { name: "p", namespace: "default", uid: "u" },
        spec: {
          restartPolicy,
          containers: appNames.map((name) => ({ name, image: "img:1" })),
          initContainers: initNames.map((name) => ({ name, image: "img:1" })),
          readinessGates: readinessGate ? [{ conditionType: "example.com/gate" }] : undefined
        },
        status: prevPhase === undefined ? undefined : { phase: prevPhase }
      }) as V1Pod),
      group: fc.record({
        ContainerGroupId: fc.constant("eci-1"),
        Status: fc.constantFrom(...groupStatuses),
        SpotStrategy: maybe(fc.constantFrom("NoSpot", "SpotAsPriceGo")),
        IntranetIp: maybe(fc.constantFrom("192.168.0.2", "")),
        CreationTime: maybe(time),
        FailedTime: maybe(time),
        // ECI may report a subset of the containers (or none yet), in any order.
        Containers: fc.subarray(appNames).chain((ns) => fc.tuple(...ns.map(eciContainer))),
        InitContainers: fc.subarray(initNames).chain((ns) => fc.tuple(...ns.map(eciContainer))),
        Events: maybe(fc.array(fc.record({ Type: fc.constantFrom("Normal", "Warning"), Reason: fc.constantFrom("NoStock", "OOMKilled", "SpotToBeReleased", "Created"), Message: fc.string({ maxLength: 5 }) }), { maxLength: 3 }))
      }).map((g) => clean(g) as Group)
    })
  })

const now = new Date("2026-03-01T11:00:00Z")

describe("properties of ContainerGroup → PodStatus", () => {
  it("every group status × container states maps to a consistent PodStatus", () => {
    fc.assert(fc.property(statusCase, ({ pod, group }) => {
      const s = eciToStatus(pod, group, now)
      const prev = pod.status?.phase
      if (prev === "Succeeded" || prev === "Failed") {
        expect(s).toBe(pod.status)
        return
      }
      const apps = s.containerStatuses ?? []
      expect(["Pending", "Running", "Succeeded", "Failed"]).toContain(s.phase)
      // One status per spec container, in spec order.
      expect(apps.map((c) => c.name)).toEqual(pod.spec?.containers.map((c) => c.name))
      expect((s.initContainerStatuses ?? []).map((c) => c.name)).toEqual((pod.spec?.initContainers ?? []).map((c) => c.name))
      // Each container has exactly one state.
      for (const c of [...apps, ...(s.initContainerStatuses ?? [])]) {
        expect([c.state?.waiting, c.state?.running, c.state?.terminated].filter((x) => x !== undefined)).toHaveLength(1)
        expect(c.restartCount).toBeGreaterThanOrEqual(0)
        if (c.ready && !c.state?.terminated) expect(c.state?.running).toBeDefined()
      }
      if (s.phase === "Succeeded") {
        for (const c of apps) expect(c.state?.terminated?.exitCode).toBe(0)
      }
      if (s.phase === "Succeeded" || s.phase === "Failed") {
        for (const c of [...apps, ...(s.initContainerStatuses ?? [])]) expect(c.state?.running).toBeUndefined()
        for (const c of apps) expect(c.ready).toBe(false)
      }
      if (s.phase === "Running") {
        const started = apps.some((c) => c.state?.running !== undefined || c.state?.terminated !== undefined || c.lastState?.terminated !== undefined)
        expect(started || prev === "Running").toBe(true)
      }
      const types = (s.conditions ?? []).map((c) => c.type)
      expect(new Set(types).size).toBe(types.length)
      for (const c of s.conditions ?? []) expect(["True", "False"]).toContain(c.status)
      const ready = s.conditions?.find((c) => c.type === "Ready")
      if (ready?.status === "True") {
        expect(s.phase).toBe("Running")
        expect(apps.every((c) => c.ready)).toBe(true)
      }
      expect(s.hostIP).toBe(s.podIP)
      expect(s.startTime).toBeInstanceOf(Date)
    }), { numRuns: 1000 })
  })
})
