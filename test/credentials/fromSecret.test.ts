import type { V1Secret } from "@kubernetes/client-node"
import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { CredentialsUnavailable } from "../../src/credentials/Credentials.ts"
import { accessKeyFromSecret } from "../../src/credentials/fromSecret.ts"

const b64 = (s: string) => Buffer.from(s).toString("base64")
const secret = (data: Record<string, string>): V1Secret => ({
  metadata: { name: "alibaba-addon-secret", namespace: "kube-system" },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]))
})

describe("an access key read from the alibaba-addon-secret Secret", () => {
  it("takes access-key-id and access-key-secret, trimming stray newlines", () => {
    const key = accessKeyFromSecret("kube-system", "alibaba-addon-secret", secret({ "access-key-id": "AKID\n", "access-key-secret": "s3cr3t\n" }))
    expect(key).not.toBeInstanceOf(CredentialsUnavailable)
    if (key instanceof CredentialsUnavailable) return
    expect(key.accessKeyId).toBe("AKID")
    expect(Redacted.value(key.accessKeySecret)).toBe("s3cr3t")
    expect(key.securityToken).toBeUndefined()
  })

  it("takes an optional security-token for STS keys", () => {
    const key = accessKeyFromSecret("kube-system", "s", secret({ "access-key-id": "STS.ID", "access-key-secret": "x", "security-token": "tok" }))
    if (key instanceof CredentialsUnavailable) throw key
    expect(key.securityToken && Redacted.value(key.securityToken)).toBe("tok")
  })

  it("names the Secret, its namespace and how to create it when the Secret is missing", () => {
    const e = accessKeyFromSecret("kube-system", "alibaba-addon-secret", undefined)
    expect(e).toBeInstanceOf(CredentialsUnavailable)
    expect((e as CredentialsUnavailable).message).toBe(
      "Secret kube-system/alibaba-addon-secret not found; create it with: kubectl -n kube-system create secret generic alibaba-addon-secret --from-literal=access-key-id=<id> --from-literal=access-key-secret=<secret>"
    )
  })

  it("names the missing key", () => {
    const e = accessKeyFromSecret("kube-system", "alibaba-addon-secret", secret({ "access-key-id": "AKID" }))
    expect((e as CredentialsUnavailable).message).toMatch(/^Secret kube-system\/alibaba-addon-secret has no key "access-key-secret" \(or it is empty\); recreate it with: kubectl -n kube-system create secret generic alibaba-addon-secret/)
    const both = accessKeyFromSecret("ns", "s", secret({}))
    expect((both as CredentialsUnavailable).message).toContain(`has no key "access-key-id" and no key "access-key-secret"`)
  })

  it("never renders the secret, in the key or in an error", () => {
    const key = accessKeyFromSecret("ns", "s", secret({ "access-key-id": "AKID", "access-key-secret": "hunter2" }))
    expect(JSON.stringify(key)).not.toContain("hunter2")
    expect(String((key as { accessKeySecret: unknown }).accessKeySecret)).not.toContain("hunter2")
    const error = accessKeyFromSecret("ns", "s", secret({ "access-key-id": "", "access-key-secret": "hunter2" }))
    expect(JSON.stringify(error)).not.toContain("hunter2")
    expect(String(error)).not.toContain("hunter2")
  })
})
