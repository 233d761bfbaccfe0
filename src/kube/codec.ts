import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js"

/**
 * The JSON the API server speaks and the typed models client-node hands out differ: timestamps are
 * strings on the wire and `Date`s in the models, unknown fields are dropped, and models are class
 * instances. Both Kube layers go through these two functions, so a pod read from the in-memory layer
 * has exactly the shape of one read from a real API server (the contract suite relies on it).
 * The type names are client-node's model names ("V1Pod", "V1Lease", "CoreV1Event", ...).
 */
export type Wire = Record<string, unknown>

/** A typed model (or a plain object of the same shape) as the JSON a client would send. */
export const toWire = (type: string, value: unknown): Wire =>
  JSON.parse(JSON.stringify(ObjectSerializer.serialize(value, type, ""))) as Wire

/** JSON from the API server (or the in-memory store) as client-node's typed model. */
export const fromWire = <A>(type: string, json: unknown): A => ObjectSerializer.deserialize(json, type, "") as A

/** A patch body as it goes over the wire: `Date`s become strings, `undefined` keys vanish. */
export const patchToWire = (patch: unknown): unknown => JSON.parse(JSON.stringify(patch ?? {}))
