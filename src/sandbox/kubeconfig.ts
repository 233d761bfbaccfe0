/**
 * Kubeconfig files. JSON is valid YAML, so we write JSON and need no YAML library. Credentials are
 * embedded (`*-data`) so a kubeconfig keeps working when copied; files are mode 0600 because they
 * hold keys or tokens.
 */
import * as fs from "node:fs"
import { Effect } from "effect"

export type KubeconfigUser =
  | { readonly clientCertPath: string; readonly clientKeyPath: string }
  | { readonly token: string }

const b64 = (file: string) => fs.readFileSync(file).toString("base64")

export const writeKubeconfig = (options: {
  readonly path: string
  readonly server: string
  readonly caCertPath: string
  readonly userName: string
  readonly user: KubeconfigUser
}): Effect.Effect<void> =>
  Effect.sync(() => {
    const user = "token" in options.user
      ? { token: options.user.token }
      : { "client-certificate-data": b64(options.user.clientCertPath), "client-key-data": b64(options.user.clientKeyPath) }
    const config = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "eci-local", cluster: { server: options.server, "certificate-authority-data": b64(options.caCertPath) } }],
      users: [{ name: options.userName, user }],
      contexts: [{ name: "eci-local", context: { cluster: "eci-local", user: options.userName } }],
      "current-context": "eci-local"
    }
    // Write-then-rename so a reader never sees half a file.
    const tmp = `${options.path}.tmp`
    fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 })
    fs.renameSync(tmp, options.path)
  })
