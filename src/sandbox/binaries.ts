/**
 * Locating the control-plane binaries: tools/control-plane/build.sh builds them once into a per-user
 * cache keyed by version (or hands back KUBE_BINARIES_DIR) and prints the directory last on stdout.
 * Its progress lines go to our stderr, so a 20-minute cold build shows what it is doing.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { ControlPlaneError } from "./errors.ts"
import { runCommand } from "./process.ts"

export const BUILD_SCRIPT = fileURLToPath(new URL("../../tools/control-plane/build.sh", import.meta.url))

export const CORE_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"] as const

/** Runs build.sh (a no-op when the cache is complete) and returns the bin directory. */
export const ensureBinaries = (options: { readonly metricsServer?: boolean } = {}) =>
  Effect.gen(function*() {
    const r = yield* runCommand("bash", [BUILD_SCRIPT], { inheritStderr: true })
    const binDir = r.stdout.trim().split("\n").at(-1)?.trim() ?? ""
    if (r.exitCode !== 0 || binDir === "") {
      return yield* new ControlPlaneError({ component: "build", message: `${BUILD_SCRIPT} exited ${r.exitCode} (see its output above)` })
    }
    const wanted = options.metricsServer === true ? [...CORE_BINARIES, "metrics-server"] : CORE_BINARIES
    const missing = wanted.filter((b) => !fs.existsSync(path.join(binDir, b)))
    if (missing.length > 0) {
      return yield* new ControlPlaneError({ component: "build", message: `missing in ${binDir}: ${missing.join(", ")}` })
    }
    return binDir
  }).pipe(Effect.withSpan("ensureBinaries"))
