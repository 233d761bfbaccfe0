/**
 * `{ key: value }` when the value is present, `{}` otherwise: builds wire objects without
 * `undefined` members (exactOptionalPropertyTypes; the SDK would otherwise send nothing anyway, but
 * golden tests and the simulator compare exact shapes).
 */
export const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** Like `opt`, but an empty array counts as absent. */
export const optList = <K extends string, V>(key: K, value: ReadonlyArray<V> | undefined): { [P in K]?: ReadonlyArray<V> } =>
  opt(key, value === undefined || value.length === 0 ? undefined : value)
