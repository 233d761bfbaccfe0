/**
 * Where the checkout is, and which Node runs its TypeScript. Child processes (the ECI simulator, the
 * virtual node) run `.ts` directly, which needs Node ≥ 24; the machine's PATH node may be older, so
 * we use the repo's pinned `node` devDependency — what `npx node` resolves to — without the npm
 * wrapper process in between (a signal then reaches the product itself, exactly once).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url))

export const repoPath = (...segments: ReadonlyArray<string>) => path.join(REPO_ROOT, ...segments)

const pinnedNode = repoPath("node_modules", "node", "bin", "node")

/** The Node binary for child processes: the pinned one if installed, else the one running us. */
export const nodeBinary = (): string => (fs.existsSync(pinnedNode) ? pinnedNode : process.execPath)
