import { Schema } from "effect"

/**
 * Something the sandbox itself could not do: start or stop the ECI simulator or a virtual-node
 * process, apply a manifest, talk to the simulator's admin API. `part` names it (eci-simulator,
 * virtual-node-0, manifests, …); `message` carries the tail of that process's log when there is one,
 * so a failing e2e test says why without digging. Control-plane failures stay ControlPlaneError.
 */
export class SandboxError extends Schema.TaggedError<SandboxError>()("SandboxError", {
  part: Schema.String,
  message: Schema.String
}) {}
