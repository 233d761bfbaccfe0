import * as EciModels from "@alicloud/eci20180808"
import { Result } from "effect"

/**
 * The reverse of the SDK's parameter flattening (eci-reference §4.2): the query string
 * `Container.1.Command.2=sleep&Cpu=0.5` becomes `{ Container: [{ Command: [, "sleep"] }], Cpu: 0.5 }`,
 * i.e. the wire-shaped request the in-memory face receives.
 *
 * Two steps, as a real API gateway does it:
 * 1. `unflatten`: dotted keys become nested objects; a level whose keys are all numbers becomes an
 *    array ordered by number (`Container.10` after `Container.2`, although it sorts before it as text).
 * 2. `decodeRequest`: values are typed from the SDK's own model metadata (`names()`/`types()` of
 *    `<Action>Request`): numbers, booleans, nested models, arrays. JSON-string parameters
 *    (`ContainerGroupIds`, Exec `Command`) are strings in the model and stay strings. Parameters the
 *    model does not know are kept as they came (strings, or nested objects/arrays of strings).
 */

/** Why a query could not be read: the flattened name of the parameter and what was wrong with it. */
export interface QueryProblem {
  readonly param: string
  readonly problem: string
}

type Node = string | { [key: string]: Node }

const isIndex = (s: string) => /^\d+$/.test(s)

/** Dotted keys → nested objects and arrays of strings. A name used both as a value and as a parent is a problem. */
export const unflatten = (entries: Iterable<readonly [string, string]>): Result.Result<Record<string, unknown>, QueryProblem> => {
  const root: { [key: string]: Node } = {}
  for (const [key, value] of entries) {
    const path = key.split(".")
    let node = root
    for (let i = 0; i < path.length - 1; i++) {
      const segment = path[i]!
      const next = node[segment]
      if (typeof next === "string") {
        return Result.fail({ param: path.slice(0, i + 1).join("."), problem: "is given both as a value and as a structure" })
      }
      if (next === undefined) {
        const created: { [key: string]: Node } = {}
        node[segment] = created
        node = created
      } else {
        node = next
      }
    }
    const last = path[path.length - 1]!
    if (typeof node[last] === "object") {
      return Result.fail({ param: key, problem: "is given both as a value and as a structure" })
    }
    node[last] = value
  }
  return Result.succeed(toArrays(root) as Record<string, unknown>)
}

const toArrays = (node: Node): unknown => {
  if (typeof node === "string") return node
  const keys = Object.keys(node)
  if (keys.length > 0 && keys.every(isIndex)) {
    return keys.map(Number).sort((a, b) => a - b).map((k) => toArrays(node[String(k)]!))
  }
  const out: Record<string, unknown> = {}
  for (const k of keys) out[k] = toArrays(node[k]!)
  return out
}

// The SDK's model metadata: `names()` maps TS property → wire name, `types()` TS property → type.
type FieldType = string | ModelClass | { readonly type: string; readonly itemType?: FieldType; readonly valueType?: FieldType }
interface ModelClass {
  names(): Record<string, string>
  types(): Record<string, FieldType>
}

const isModelClass = (t: FieldType): t is ModelClass => typeof t === "function" && "names" in t && "types" in t

const decodeValue = (value: unknown, type: FieldType, param: string): Result.Result<unknown, QueryProblem> => {
  const problem = (p: string) => Result.fail<QueryProblem>({ param, problem: p })
  if (typeof type === "string") {
    if (type === "string" || type === "number" || type === "boolean") {
      if (typeof value !== "string") return problem(`must be a single ${type} value`)
      if (type === "string") return Result.succeed(value)
      if (type === "number") {
        return /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())
          ? Result.succeed(Number(value))
          : problem("must be a number")
      }
      return value === "true" ? Result.succeed(true) : value === "false" ? Result.succeed(false) : problem("must be true or false")
    }
    return Result.succeed(value) // any, map, Readable…: nothing to check
  }
  if (isModelClass(type)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return problem("must be a structure")
    return decodeModel(value as Record<string, unknown>, type, `${param}.`)
  }
  if (typeof type === "object" && type.type === "array" && type.itemType !== undefined) {
    if (!Array.isArray(value)) return problem("must be a list (name.1, name.2, …)")
    const items: Array<unknown> = []
    for (let i = 0; i < value.length; i++) {
      const item = decodeValue(value[i], type.itemType, `${param}.${i + 1}`)
      if (Result.isFailure(item)) return item
      items.push(item.success)
    }
    return Result.succeed(items)
  }
  return Result.succeed(value)
}

const decodeModel = (
  value: Record<string, unknown>,
  model: ModelClass,
  prefix: string
): Result.Result<Record<string, unknown>, QueryProblem> => {
  const names = model.names()
  const types = model.types()
  const typeOfWire = new Map<string, FieldType>()
  for (const [prop, wire] of Object.entries(names)) {
    const t = types[prop]
    if (t !== undefined) typeOfWire.set(wire, t)
  }
  const out: Record<string, unknown> = {}
  for (const [wire, raw] of Object.entries(value)) {
    const type = typeOfWire.get(wire)
    if (type === undefined) {
      out[wire] = raw // not in the 2.0.3 model: kept as sent
      continue
    }
    const decoded = decodeValue(raw, type, `${prefix}${wire}`)
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
    out[wire] = decoded.success
  }
  return Result.succeed(out)
}

/** The SDK's request model of an action, if the SDK has one. */
export const requestModelOf = (action: string): ModelClass | undefined => {
  const model = (EciModels as unknown as Record<string, FieldType | undefined>)[`${action}Request`]
  return model !== undefined && isModelClass(model) ? model : undefined
}

/**
 * A query string's parameters as the wire-shaped request of `action`, typed by the SDK's model.
 * Unknown actions decode untyped (the caller decides whether the action exists).
 */
export const decodeRequest = (
  action: string,
  params: Iterable<readonly [string, string]>
): Result.Result<Record<string, unknown>, QueryProblem> => {
  const nested = unflatten(params)
  if (Result.isFailure(nested)) return nested
  const model = requestModelOf(action)
  return model === undefined ? nested : decodeModel(nested.success, model, "")
}
