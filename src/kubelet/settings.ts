import { Context, Duration } from "effect"

/** What the kubelet API's handlers need to know about this node. */
export interface KubeletSettingsShape {
  readonly nodeName: string
  /** Our cluster's id, for finding our groups in ECI (`/runningpods/`); undefined disables that route. */
  readonly clusterId: string | undefined
  /** How long an exec client has to open its streams (the kubelet's streamCreationTimeout, 30 s). */
  readonly streamCreationTimeout: Duration.Duration
  /** Pacing of `logs -f` polls: the pause after new lines, and the longest pause while quiet. */
  readonly logFollowMinInterval: Duration.Duration
  readonly logFollowMaxInterval: Duration.Duration
}

export class KubeletSettings extends Context.Service<KubeletSettings, KubeletSettingsShape>()("eci-virtual-node/KubeletSettings") {}

export const kubeletSettings = (
  nodeName: string,
  overrides: Partial<Omit<KubeletSettingsShape, "nodeName">> = {}
): KubeletSettingsShape => ({
  nodeName,
  clusterId: overrides.clusterId,
  streamCreationTimeout: overrides.streamCreationTimeout ?? Duration.seconds(30),
  logFollowMinInterval: overrides.logFollowMinInterval ?? Duration.seconds(1),
  logFollowMaxInterval: overrides.logFollowMaxInterval ?? Duration.seconds(8)
})
