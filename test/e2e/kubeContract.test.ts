/**
 * The Kube contract suite (test/kube/contract.ts) against KubeLive on a real control plane:
 * etcd + kube-apiserver + scheduler + controller-manager from src/sandbox/controlPlane.ts.
 * Fixtures go through kubectl as the cluster admin.
 */
import { assert } from "@effect/vitest"
import { Effect, Layer, Logger, References } from "effect"
import { toWire } from "../../src/kube/codec.ts"
import { Kube } from "../../src/kube/Kube.ts"
import { KubeLive } from "../../src/kube/kubeLive.ts"
import { ControlPlane } from "../../src/sandbox/controlPlane.ts"
import { ContractAdmin, kubeContract, subscribe } from "../kube/contract.ts"
import { installImageCacheCrd } from "./fixtures/imageCacheCrd.ts"
import { applyObject } from "./fixtures/kubectl.ts"

const LiveContractAdmin = Layer.effect(
  ContractAdmin,
  Effect.gen(function*() {
    const cp = yield* ControlPlane
    const apply = (object: unknown) => applyObject(cp, object).pipe(Effect.asVoid, Effect.orDie)
    return ContractAdmin.of({
      ensureNamespace: (name) => cp.ensureNamespace(name).pipe(Effect.orDie),
      putSecret: (namespace, name, data) =>
        apply({ apiVersion: "v1", kind: "Secret", metadata: { namespace, name }, type: "Opaque", stringData: data }),
      deleteSecret: (namespace, name) => cp.kubectlOk(["-n", namespace, "delete", "secret", name]).pipe(Effect.asVoid, Effect.orDie),
      putConfigMap: (namespace, name, data) => apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace, name }, data }),
      createServiceAccount: (namespace, name) => apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { namespace, name } }),
      createService: (namespace, name, ports) =>
        apply({
          apiVersion: "v1",
          kind: "Service",
          metadata: { namespace, name },
          spec: { ports: Object.entries(ports).map(([portName, port]) => ({ name: portName, port })) }
        }),
      deleteService: (namespace, name) => cp.kubectlOk(["-n", namespace, "delete", "service", name]).pipe(Effect.asVoid, Effect.orDie),
      createMutatingWebhookConfiguration: (configuration) =>
        apply({
          ...toWire("V1MutatingWebhookConfiguration", configuration),
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "MutatingWebhookConfiguration"
        })
    })
  })
)

const KubeOnControlPlane = Layer.unwrap(
  Effect.gen(function*() {
    const cp = yield* ControlPlane
    // The ImageCache part of the contract needs the product's CRD, as a cluster would have it.
    yield* installImageCacheCrd(cp).pipe(Effect.orDie)
    return KubeLive({ kubeconfigPath: cp.kubeconfigPath })
  })
)

kubeContract(
  "Kube contract: live layer on a real kube-apiserver",
  Layer.mergeAll(KubeOnControlPlane, LiveContractAdmin).pipe(Layer.provide(ControlPlane.layer())),
  {
    setupTimeout: "30 minutes",
    extraTests: (it) => {
      // client-node aborts a watch after 30 s without a byte and the API server's bookmarks come about
      // once a minute, so an idle watch is cut. The wait is the behaviour under test, not a synchronisation.
      const logs: Array<string> = []
      const capture = Logger.make(({ message }) => void logs.push(String(message)))
      it.effect("an idle pod watch outlives client-node's 30 s inactivity abort: it resumes without a relist", () =>
        Effect.gen(function*() {
          const kube = yield* Kube
          const admin = yield* ContractAdmin
          yield* admin.ensureNamespace("kc-idle")
          yield* kube.createNode({ metadata: { name: "kc-idle-node" } })
          const watch = yield* subscribe(kube.watchPods("kc-idle-node"))
          assert.strictEqual((yield* watch.next).type, "Snapshot")
          yield* Effect.sleep("35 seconds")
          yield* kube.createPod({
            metadata: { namespace: "kc-idle", name: "late" },
            spec: { nodeName: "kc-idle-node", containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] }
          })
          const next = yield* watch.next
          assert.deepStrictEqual([next.type, next.type === "Added" ? next.pod.metadata?.name : ""], ["Added", "late"])
          // It was cut and resumed (the log says so), and never relisted (no second Snapshot).
          assert.include(logs, "kube watch closed; resuming")
          assert.notInclude(logs, "kube watch expired (410 Gone); relisting")
        }).pipe(Effect.provide(Logger.layer([capture])), Effect.provideService(References.MinimumLogLevel, "Debug")), { timeout: 120_000 })
    }
  }
)
