import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, Redacted, Stream } from "effect"
import { Credentials, CredentialsUnavailable } from "../../src/credentials/Credentials.ts"
import { CredentialsFromSecret } from "../../src/credentials/fromSecret.ts"
import { KubeInMemory, KubeInMemoryAdmin } from "../../src/kube/kubeInMemory.ts"
import { jsonLogger } from "../../src/observability/logging.ts"

const settle = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

const secret = (id: string, value: string) => ({
  metadata: { name: "alibaba-addon-secret", namespace: "kube-system" },
  stringData: { "access-key-id": id, "access-key-secret": value }
})

const layer = CredentialsFromSecret({ namespace: "kube-system", name: "alibaba-addon-secret" }).pipe(
  Layer.provideMerge(KubeInMemory())
)

describe("credentials from the alibaba-addon-secret Secret (watched)", () => {
  it.effect("picks up a rotation without a restart, and reports a deleted Secret", () =>
    Effect.gen(function*() {
      const admin = yield* KubeInMemoryAdmin
      const lines: Array<string> = []
      yield* admin.putSecret(secret("AK-1", "first-secret-value"))
      const credentials = yield* Credentials
      const first = yield* credentials.current
      assert.strictEqual(first.accessKeyId, "AK-1")
      assert.strictEqual(Redacted.value(first.accessKeySecret), "first-secret-value")

      const seen = yield* Effect.forkChild(credentials.changes.pipe(Stream.take(3), Stream.runCollect))
      yield* settle
      yield* admin.putSecret(secret("AK-2", "second-secret-value"))
      yield* settle
      const second = yield* credentials.current
      assert.strictEqual(second.accessKeyId, "AK-2")
      assert.strictEqual(Redacted.value(second.accessKeySecret), "second-secret-value")

      yield* admin.deleteSecret("kube-system", "alibaba-addon-secret")
      yield* settle
      const gone = yield* Effect.flip(credentials.current)
      assert.instanceOf(gone, CredentialsUnavailable)
      assert.match(gone.message, /^Secret kube-system\/alibaba-addon-secret not found; create it with: kubectl -n kube-system create secret generic/)

      const changes = yield* Fiber.join(seen)
      assert.deepStrictEqual(changes.map((c) => (c instanceof CredentialsUnavailable ? "missing" : c.accessKeyId)), ["AK-1", "AK-2", "missing"])

      // Nothing secret in what an operator sees: the error, the keys as rendered, the log lines.
      yield* Effect.logInfo("credentials", second, gone).pipe(Effect.provide(Logger.layer([jsonLogger((l) => lines.push(l))])))
      const rendered = [String(second.accessKeySecret), JSON.stringify(second), String(gone), ...lines].join("\n")
      assert.notInclude(rendered, "second-secret-value")
      assert.notInclude(rendered, "first-secret-value")
    }).pipe(Effect.provide(layer)))
})
