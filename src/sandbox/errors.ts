import { Schema } from "effect"

/**
 * Anything that went wrong while building, starting or talking to the local control plane.
 * `component` names the part (etcd, kube-apiserver, pki, build, kubectl, ...); `message` carries the
 * tail of that component's log when there is one, so a failing test says why without digging.
 */
export class ControlPlaneError extends Schema.TaggedError<ControlPlaneError>()("ControlPlaneError", {
  component: Schema.String,
  message: Schema.String
}) {}
