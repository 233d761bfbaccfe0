import { Data, Duration, Effect, Predicate, Schedule, Stream } from "effect"
import type { KubeError } from "./Kube.ts"

/** One item of a watch opened at a resourceVersion (the API server's ADDED/MODIFIED/DELETED/BOOKMARK). */
export type WatchItem<T> =
  | { readonly type: "Added" | "Modified" | "Deleted"; readonly object: T; readonly resourceVersion: string }
  | { readonly type: "Bookmark"; readonly resourceVersion: string }

/** The watch asked for a resourceVersion the server has compacted away (HTTP 410 Gone): relist. */
export class WatchExpired extends Data.TaggedError("WatchExpired")<{ readonly message: string }> {}

/**
 * Where a resumable watch comes from. Both Kube layers implement this pair — the live one over
 * HTTP, the in-memory one over its event history — and share `listWatch` for the resume logic, so the
 * logic the simulation exercises is the logic production runs.
 */
export interface ListWatchSource<T, R = never> {
  readonly list: Effect.Effect<{ readonly items: ReadonlyArray<T>; readonly resourceVersion: string }, KubeError, R>
  /** Changes after `resourceVersion`; ends when the server closes the watch, fails with WatchExpired on 410. */
  readonly watch: (resourceVersion: string) => Stream.Stream<WatchItem<T>, KubeError | WatchExpired, R>
}

export type ListWatchEvent<T> =
  | { readonly type: "Snapshot"; readonly items: ReadonlyArray<T> }
  | { readonly type: "Added" | "Modified" | "Deleted"; readonly object: T }

/**
 * Exponential backoff from 200 ms, capped at 10 s, jittered (seedable through `Random`), never
 * giving up: a kubelet that stops watching its pods is worse than one that keeps asking. The
 * schedule resets as soon as an event flows again (Stream.retry).
 */
export const watchRetrySchedule: Schedule.Schedule<Duration.Duration, KubeError> = Schedule.exponential("200 millis")
  .pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(10)))),
    Schedule.jittered,
    Schedule.setInputType<KubeError>(),
    Schedule.tap(({ attempt, duration, input }) =>
      Effect.logWarning("kube watch failed; retrying").pipe(
        Effect.annotateLogs({ error: input._tag, message: input.message, attempt, retryInMs: Duration.toMillis(duration) })
      )
    )
  )

/**
 * client-go's reflector as a Stream: list → `Snapshot` → watch from the list's resourceVersion →
 * on a normal end (server timeout, dropped connection) re-watch from the last resourceVersion seen
 * (events and bookmarks advance it) → on 410 Gone relist and emit a fresh `Snapshot` → on failure
 * retry with `retry`, resuming from the last resourceVersion. The stream itself never ends.
 */
export const listWatch = <T, R>(
  source: ListWatchSource<T, R>,
  retry: Schedule.Schedule<unknown, KubeError> = watchRetrySchedule
): Stream.Stream<ListWatchEvent<T>, KubeError, R> =>
  Stream.suspend(() => {
    // Per subscription: where the next watch resumes; undefined means "relist first".
    let resourceVersion: string | undefined

    const relist = Stream.fromEffect(source.list).pipe(
      Stream.map(({ items, resourceVersion: listed }): ListWatchEvent<T> => {
        resourceVersion = listed
        return { type: "Snapshot", items }
      })
    )

    const watchFromCursor = Stream.suspend(() => source.watch(resourceVersion ?? "")).pipe(
      // Advance the cursor as items pass (not when they arrive), so a failure never skips an
      // event that was received but not yet delivered.
      Stream.map((item): ListWatchEvent<T> | undefined => {
        resourceVersion = item.resourceVersion
        return item.type === "Bookmark" ? undefined : { type: item.type, object: item.object }
      }),
      Stream.filter(Predicate.isNotUndefined),
      Stream.catchTag("WatchExpired", (e) =>
        Stream.fromEffect(Effect.suspend(() => {
          const expired = resourceVersion
          resourceVersion = undefined
          return Effect.logInfo("kube watch expired (410 Gone); relisting").pipe(
            Effect.annotateLogs({ resourceVersion: expired ?? "", reason: e.message })
          )
        })).pipe(Stream.drain))
    )

    // A normal end (server timeout, idle abort, dropped connection) is routine: debug level.
    const closed = Stream.fromEffect(Effect.suspend(() =>
      Effect.logDebug("kube watch closed; resuming").pipe(Effect.annotateLogs({ resourceVersion: resourceVersion ?? "" }))
    )).pipe(Stream.drain)

    const session = Stream.suspend(() =>
      Stream.concat(resourceVersion === undefined ? Stream.concat(relist, watchFromCursor) : watchFromCursor, closed)
    )
    return session.pipe(Stream.retry(retry), Stream.forever)
  })
