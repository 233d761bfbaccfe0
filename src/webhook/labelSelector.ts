/**
 * Kubernetes label selectors (metav1.LabelSelector) as the eci-profile uses them: parsed from
 * untrusted JSON with messages that name the offending path, and matched with the API server's
 * semantics (all requirements ANDed; NotIn and DoesNotExist match a pod that lacks the key).
 */

export type Labels = Readonly<Record<string, string>>

export interface LabelSelectorRequirement {
  readonly key: string
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist"
  readonly values: ReadonlyArray<string>
}

export interface LabelSelector {
  readonly matchLabels: Labels
  readonly matchExpressions: ReadonlyArray<LabelSelectorRequirement>
}

const operators: ReadonlyArray<LabelSelectorRequirement["operator"]> = ["In", "NotIn", "Exists", "DoesNotExist"]

export const matchesSelector = (selector: LabelSelector, labels: Labels): boolean =>
  Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v) &&
  selector.matchExpressions.every((req) => {
    const value = labels[req.key]
    switch (req.operator) {
      case "In":
        return value !== undefined && req.values.includes(value)
      case "NotIn":
        return value === undefined || !req.values.includes(value)
      case "Exists":
        return value !== undefined
      case "DoesNotExist":
        return value === undefined
    }
  })

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** How a JSON value is named in a message: `got a number`, `got null`, `got an array`. */
export const describeJson = (v: unknown): string =>
  v === undefined ? "nothing" : v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v} (${JSON.stringify(v)})`

/** Problems say `<path>: <what is wrong>; expected <form>`. */
export const unknownFields = (value: Record<string, unknown>, allowed: ReadonlyArray<string>, path: string): Array<string> =>
  Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${path}: unknown field ${JSON.stringify(k)}; expected only ${allowed.join(", ")}`)

/** A `{string: string}` map (matchLabels, effect labels/annotations). */
export const parseStringMap = (value: unknown, path: string, problems: Array<string>): Labels => {
  if (value === undefined) return {}
  if (!isRecord(value)) {
    problems.push(`${path}: got ${describeJson(value)}; expected an object of string keys to string values`)
    return {}
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string") out[k] = v
    else problems.push(`${path}.${k}: got ${describeJson(v)}; expected a string (quote numbers and booleans)`)
  }
  return out
}

export const parseLabelSelector = (value: unknown, path: string, problems: Array<string>): LabelSelector | undefined => {
  if (!isRecord(value)) {
    problems.push(`${path}: got ${describeJson(value)}; expected an object with matchLabels and/or matchExpressions`)
    return undefined
  }
  problems.push(...unknownFields(value, ["matchLabels", "matchExpressions"], path))
  const matchLabels = parseStringMap(value["matchLabels"], `${path}.matchLabels`, problems)
  const expressions = value["matchExpressions"]
  const matchExpressions: Array<LabelSelectorRequirement> = []
  if (expressions !== undefined && !Array.isArray(expressions)) {
    problems.push(`${path}.matchExpressions: got ${describeJson(expressions)}; expected an array of {key, operator, values}`)
  } else {
    for (const [i, expr] of (expressions ?? []).entries()) {
      const req = parseRequirement(expr, `${path}.matchExpressions[${i}]`, problems)
      if (req !== undefined) matchExpressions.push(req)
    }
  }
  // An empty selector matches every object; in a profile that would steer the whole cluster.
  const rawLabels = value["matchLabels"]
  const hasLabels = isRecord(rawLabels) ? Object.keys(rawLabels).length > 0 : rawLabels !== undefined
  const hasExpressions = Array.isArray(expressions) ? expressions.length > 0 : expressions !== undefined
  if (!hasLabels && !hasExpressions) {
    problems.push(`${path}: is empty, which would match every pod; expected at least one of matchLabels or matchExpressions (or leave the selector out)`)
  }
  return { matchLabels, matchExpressions }
}

const parseRequirement = (value: unknown, path: string, problems: Array<string>): LabelSelectorRequirement | undefined => {
  if (!isRecord(value)) {
    problems.push(`${path}: got ${describeJson(value)}; expected an object {key, operator, values}`)
    return undefined
  }
  const before = problems.length
  problems.push(...unknownFields(value, ["key", "operator", "values"], path))
  const { key, operator, values } = value
  if (typeof key !== "string" || key === "") problems.push(`${path}.key: got ${describeJson(key)}; expected a label key`)
  const op = operators.find((o) => o === operator)
  if (op === undefined) problems.push(`${path}.operator: got ${describeJson(operator)}; expected one of ${operators.join(", ")}`)
  const strings = Array.isArray(values) && values.every((v) => typeof v === "string") ? values as ReadonlyArray<string> : undefined
  if (values !== undefined && strings === undefined) {
    problems.push(`${path}.values: got ${describeJson(values)}; expected an array of strings`)
  } else if ((op === "In" || op === "NotIn") && (strings ?? []).length === 0) {
    problems.push(`${path}.values: is empty; expected at least one value for operator ${op}`)
  } else if ((op === "Exists" || op === "DoesNotExist") && (strings ?? []).length > 0) {
    problems.push(`${path}.values: must be empty for operator ${op}`)
  }
  if (problems.length > before || typeof key !== "string" || op === undefined) return undefined
  return { key, operator: op, values: strings ?? [] }
}
