import { settings } from "./settings.ts"

/** The configuration reference as a Markdown table (README), generated from the settings table. */
export const configTable = (): string => {
  const rows = settings.map((s) => {
    const env = s.env.map((e) => `\`${e}\``).join(", ")
    const def = s.default === "required" ? "**required**" : s.default === undefined ? "" : `\`${s.default}\``
    return `| \`--${s.flag}\` | ${env} | ${def} | ${s.description} |`
  })
  return ["| flag | environment | default | meaning |", "|---|---|---|---|", ...rows].join("\n")
}
