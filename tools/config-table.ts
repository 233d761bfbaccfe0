// Prints the README's configuration table from src/config/settings.ts (the one source of truth):
//   node tools/config-table.ts
// test/readme.test.ts fails when the README's table and the settings drift apart.
import { configTable } from "../src/config/table.ts"

console.log(configTable())
