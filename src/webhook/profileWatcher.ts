/**
 * The eci-profile, hot-reloaded: the ConfigMap is watched and every good version replaces the
 * profile in use. A malformed version is refused — the last good profile stays — and the refusal is
 * said twice: a log line for operators and a Warning Event on the ConfigMap for whoever edited it
 * (`kubectl describe cm -n kube-system eci-profile`).
 */
import type { CoreV1Event, V1ConfigMap } from "@kubernetes/client-node"
import { Clock, Context, Deferred, Duration, Effect, Layer, Ref, Stream, SubscriptionRef } from "effect"
import { AppConfigService } from "../config/Config.ts"
import { Kube } from "../kube/Kube.ts"
import { watchRetrySchedule } from "../kube/watch.ts"
import {
  ECI_PROFILE_NAME,
  ECI_PROFILE_NAMESPACE,
  type EciProfile,
  emptyProfile,
  InvalidEciProfile,
  parseEciProfile,
  type ProfileDefaults
} from "./profile.ts"

export const INVALID_PROFILE_REASON = "InvalidEciProfile"
const COMPONENT = "eci-virtual-node"

export class ProfileWatcher extends Context.Service<ProfileWatcher, {
  /** The profile in use: the last good one (empty before the ConfigMap exists). */
  readonly current: Effect.Effect<EciProfile>
  /** For pod translation: the defaults of the profile in use. */
  readonly defaults: Effect.Effect<ProfileDefaults>
  /** The profile in use now, then every replacement. */
  readonly changes: Stream.Stream<EciProfile>
}>()("eci-virtual-node/ProfileWatcher") {
  /** Requires Kube; `reportingInstance` names this replica in Events (the pod name). */
  static readonly layerWith = (options: { readonly reportingInstance: string; readonly firstReadTimeout?: Duration.Input }) =>
    Layer.effect(ProfileWatcher, makeProfileWatcher(options))

  /** Requires Kube and AppConfigService. */
  static readonly layer = Layer.unwrap(
    AppConfigService.useSync((config) => ProfileWatcher.layerWith({ reportingInstance: config.podName }))
  )
}

// Event messages are shown in one line by kubectl; the API server caps annotations, not messages,
// but a wall of text helps nobody.
const truncate = (s: string, max = 1024) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`)

/** A Warning Event on the ConfigMap, named as client-go names them (`<object>.<unix nanos, hex>`). */
export const invalidProfileEvent = (
  configMap: V1ConfigMap,
  error: InvalidEciProfile,
  nowNanos: bigint,
  reportingInstance: string
): CoreV1Event => {
  const at = new Date(Number(nowNanos / 1_000_000n))
  const name = configMap.metadata?.name ?? ECI_PROFILE_NAME
  const namespace = configMap.metadata?.namespace ?? ECI_PROFILE_NAMESPACE
  return {
    metadata: { name: `${name}.${nowNanos.toString(16)}`, namespace },
    involvedObject: {
      apiVersion: "v1",
      kind: "ConfigMap",
      name,
      namespace,
      ...(configMap.metadata?.uid === undefined ? {} : { uid: configMap.metadata.uid }),
      ...(configMap.metadata?.resourceVersion === undefined ? {} : { resourceVersion: configMap.metadata.resourceVersion })
    },
    reason: INVALID_PROFILE_REASON,
    message: truncate(`${error.message}; keeping the last good profile`),
    type: "Warning",
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: COMPONENT },
    reportingComponent: COMPONENT,
    reportingInstance
  }
}

const selectorNames = (profile: EciProfile) => profile.selectors.map((s) => s.name).join(",")

export const makeProfileWatcher = (options: { readonly reportingInstance: string; readonly firstReadTimeout?: Duration.Input }) =>
  Effect.gen(function*() {
    const kube = yield* Kube
    const profile = yield* SubscriptionRef.make(emptyProfile)
    const firstRead = yield* Deferred.make<void>()
    // A re-list delivers the same object again: report a bad version once, not on every re-list.
    const reported = yield* Ref.make<string | undefined>(undefined)

    const refuse = (configMap: V1ConfigMap, error: InvalidEciProfile) =>
      Effect.gen(function*() {
        const version = configMap.metadata?.resourceVersion ?? ""
        if ((yield* Ref.getAndSet(reported, version)) === version) return
        yield* Effect.logWarning("eci-profile is invalid; keeping the last good profile").pipe(
          Effect.annotateLogs({ problems: error.problems, resourceVersion: version })
        )
        const event = invalidProfileEvent(configMap, error, yield* Clock.currentTimeNanos, options.reportingInstance)
        yield* kube.createEvent(event).pipe(
          Effect.catch((e) => Effect.logWarning("could not record the InvalidEciProfile Event").pipe(Effect.annotateLogs({ error: e.message })))
        )
      })

    const onChange = (configMap: V1ConfigMap | undefined) =>
      Effect.gen(function*() {
        if (configMap === undefined) {
          yield* Ref.set(reported, undefined)
          yield* SubscriptionRef.set(profile, emptyProfile)
          yield* Effect.logInfo("eci-profile ConfigMap absent; no selectors, product defaults")
          return
        }
        const parsed = parseEciProfile(configMap.data)
        if (parsed instanceof InvalidEciProfile) return yield* refuse(configMap, parsed)
        yield* Ref.set(reported, undefined)
        yield* SubscriptionRef.set(profile, parsed)
        yield* Effect.logInfo("eci-profile loaded").pipe(
          Effect.annotateLogs({ selectors: selectorNames(parsed), resourceVersion: configMap.metadata?.resourceVersion ?? "" })
        )
        if (parsed.ignoredKeys.length > 0) {
          yield* Effect.logWarning("eci-profile has keys this version does not know; ignored").pipe(
            Effect.annotateLogs({ keys: parsed.ignoredKeys.join(",") })
          )
        }
      })

    yield* kube.watchConfigMap(ECI_PROFILE_NAMESPACE, ECI_PROFILE_NAME).pipe(
      Stream.runForEach((configMap) => onChange(configMap).pipe(Effect.andThen(Deferred.succeed(firstRead, undefined)))),
      // The Kube layer's watches already resume on their own; this covers a stream that still fails.
      Effect.retry(watchRetrySchedule),
      Effect.forkScoped
    )
    // Serving before the first read would skip the profile's selectors for the first pods; but an
    // unreachable API server must not keep the webhook (and its health check) down.
    yield* Deferred.await(firstRead).pipe(
      Effect.timeoutOrElse({
        duration: options.firstReadTimeout ?? Duration.seconds(10),
        orElse: () => Effect.logWarning("eci-profile not read yet; serving without its selectors until it is")
      })
    )

    return ProfileWatcher.of({
      current: SubscriptionRef.get(profile),
      defaults: Effect.map(SubscriptionRef.get(profile), (p) => p.defaults),
      changes: SubscriptionRef.changes(profile)
    })
  })
