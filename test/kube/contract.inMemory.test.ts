import { Effect, Layer } from "effect"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { ContractAdmin, kubeContract } from "./contract.ts"

/** The contract's fixtures through the in-memory layer's admin handle. */
const InMemoryContractAdmin = Layer.effect(
  ContractAdmin,
  Effect.gen(function*() {
    const admin = yield* KubeInMemoryAdmin
    return ContractAdmin.of({
      ensureNamespace: (name) => admin.putNamespace(name).pipe(Effect.asVoid),
      putSecret: (namespace, name, data) =>
        admin.putSecret({ metadata: { namespace, name }, type: "Opaque", stringData: data }).pipe(Effect.asVoid, Effect.orDie),
      deleteSecret: (namespace, name) => admin.deleteSecret(namespace, name).pipe(Effect.orDie),
      putConfigMap: (namespace, name, data) =>
        admin.putConfigMap({ metadata: { namespace, name }, data }).pipe(Effect.asVoid, Effect.orDie),
      createServiceAccount: (namespace, name) => admin.putServiceAccount(namespace, name).pipe(Effect.asVoid, Effect.orDie),
      createService: (namespace, name, ports) =>
        admin.putService({
          metadata: { namespace, name },
          spec: { ports: Object.entries(ports).map(([portName, port]) => ({ name: portName, port })) }
        }).pipe(Effect.asVoid, Effect.orDie),
      deleteService: (namespace, name) => admin.deleteService(namespace, name).pipe(Effect.orDie),
      createMutatingWebhookConfiguration: (configuration) =>
        admin.putMutatingWebhookConfiguration(configuration).pipe(Effect.asVoid, Effect.orDie)
    })
  })
)

kubeContract("Kube contract: in-memory layer", InMemoryContractAdmin.pipe(Layer.provideMerge(KubeInMemory())))
