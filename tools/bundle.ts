/**
 * The production build: `src/main.ts` and everything it imports (effect, @kubernetes/client-node,
 * the Alibaba SDK) as one minified ES module, `dist/eci-virtual-node.mjs` (+ source map), which the
 * image runs with no node_modules beside it.
 *
 * Why: V8 keeps the source text of every loaded module in the heap. Run from node_modules the
 * process loads ~1,500 modules, ~40 MB of source (client-node's generated API classes, effect's
 * JSDoc'd sources), and compiles far more than it runs: idle it held 75 MB of live heap and 215 MB
 * RSS (`node dist/main.js`); the bundle holds 31 MB and 131 MB (see bench/README.md, "Memory").
 *
 * `keepNames`: classes and functions keep their `name` (error names, log output). Licence comments
 * stay. Non-ASCII characters are escaped, so V8 stores the source one byte per character, not two.
 *
 *   node tools/bundle.ts            (npm run bundle)
 */
import { build } from "rolldown"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../", import.meta.url))

await build({
  cwd: root,
  input: "src/main.ts",
  platform: "node",
  logLevel: "warn",
  output: {
    file: "dist/eci-virtual-node.mjs",
    format: "esm",
    minify: true,
    keepNames: true,
    charset: "ascii",
    comments: { legal: true, annotation: false, jsdoc: false },
    sourcemap: true
  }
})
process.stdout.write("dist/eci-virtual-node.mjs\n")
