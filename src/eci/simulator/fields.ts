import { Faults } from "./failures.ts"

/**
 * Reads one object of a request the way the ECI gateway does: by wire name, tolerant of the shapes
 * a query string decodes to (numbers and booleans as strings, arrays as `{ "1": …, "2": … }`), strict
 * about values that cannot mean what the field needs. Paths in errors use the flattened wire names
 * (`Container.2.VolumeMount.1.Name`) so that a failing request points at the offending parameter.
 */
export class Fields {
  readonly raw: Readonly<Record<string, unknown>>
  readonly path: string

  constructor(raw: unknown, path = "") {
    this.raw = isRecord(raw) ? raw : {}
    this.path = path
  }

  at(name: string): string {
    return this.path === "" ? name : `${this.path}.${name}`
  }

  str(name: string): string | undefined {
    const v = this.raw[name]
    if (v === undefined || v === null) return undefined
    if (typeof v === "string") return v
    if (typeof v === "number" || typeof v === "boolean") return String(v)
    throw Faults.invalidParameter(this.at(name), "a string is expected")
  }

  requiredStr(name: string): string {
    const v = this.str(name)
    if (v === undefined || v === "") throw Faults.missingParameter(this.at(name))
    return v
  }

  num(name: string): number | undefined {
    const v = this.raw[name]
    if (v === undefined || v === null || v === "") return undefined
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN
    if (!Number.isFinite(n)) throw Faults.invalidParameter(this.at(name), "a number is expected")
    return n
  }

  int(name: string): number | undefined {
    const n = this.num(name)
    if (n !== undefined && !Number.isInteger(n)) throw Faults.invalidParameter(this.at(name), "an integer is expected")
    return n
  }

  bool(name: string): boolean | undefined {
    const v = this.raw[name]
    if (v === undefined || v === null || v === "") return undefined
    if (v === true || v === "true") return true
    if (v === false || v === "false") return false
    throw Faults.invalidParameter(this.at(name), "true or false is expected")
  }

  strList(name: string): ReadonlyArray<string> | undefined {
    const items = this.items(name)
    return items?.map((v, i) => {
      if (typeof v === "string") return v
      if (typeof v === "number" || typeof v === "boolean") return String(v)
      throw Faults.invalidParameter(`${this.at(name)}.${i + 1}`, "a string is expected")
    })
  }

  list(name: string): ReadonlyArray<Fields> | undefined {
    const items = this.items(name)
    return items?.map((v, i) => {
      const path = `${this.at(name)}.${i + 1}`
      if (!isRecord(v)) throw Faults.invalidParameter(path, "an object is expected")
      return new Fields(v, path)
    })
  }

  obj(name: string): Fields | undefined {
    const v = this.raw[name]
    if (v === undefined || v === null) return undefined
    if (!isRecord(v)) throw Faults.invalidParameter(this.at(name), "an object is expected")
    return new Fields(v, this.at(name))
  }

  private items(name: string): ReadonlyArray<unknown> | undefined {
    const v = this.raw[name]
    if (v === undefined || v === null) return undefined
    if (Array.isArray(v)) return v
    if (isRecord(v)) {
      // A query string decoded without array support: keys "1", "2", … in any order.
      const keys = Object.keys(v)
      if (keys.every((k) => /^[1-9]\d*$/.test(k))) {
        return keys.map(Number).sort((a, b) => a - b).map((k) => v[String(k)])
      }
    }
    throw Faults.invalidParameter(this.at(name), "a list is expected")
  }
}

export const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** A JSON array of strings carried in one string parameter (ContainerGroupIds, exec Command). */
export const parseJsonStringArray = (name: string, text: string): ReadonlyArray<string> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw Faults.invalidParameter(name, "a JSON array of strings is expected")
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
    throw Faults.invalidParameter(name, "a JSON array of strings is expected")
  }
  return parsed
}

/** Canonical JSON of a request: keys sorted, scalars as strings, so both faces compare alike. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`
  }
  return JSON.stringify(String(value))
}
