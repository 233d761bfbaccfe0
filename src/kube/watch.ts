import { Data, Duration, Effect, Predicate, Schedule, Stream } from "effect"
import { internStrings } from "../common/intern.ts"
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
 * Drops `metadata.managedFields` (server-side apply's record of which manager owns which field) from
 * a watched object, as client-go informers do with their transform: nothing here reads it, and it is
 * the largest part of a pod in memory (a heap snapshot at 1,000 bench pods: 6.0 of the 10.9 KB each
 * pod retains). In place — the object is fresh from decoding: plain JSON (a watch line before it is
 * decoded) loses the key; a decoded client-node model keeps it, set to undefined, since deleting a
 * property from the middle of a class instance turns it into a slower, larger dictionary-mode object.
 * Anything that is not an object with metadata passes as it is.
 */
export const withoutManagedFields = <T>(object: T): T => {
  const metadata: unknown = typeof object === "object" && object !== null ? (object as { metadata?: unknown }).metadata : undefined
  if (typeof metadata !== "object" || metadata === null || (metadata as { managedFields?: unknown }).managedFields === undefined) return object
  if (Object.getPrototypeOf(metadata) === Object.prototype) delete (metadata as { managedFields?: unknown }).managedFields
  else (metadata as { managedFields?: unknown }).managedFields = undefined
  return object
}

/**
 * A watched object as the caches keep it: without managedFields, its short strings interned (one
 * copy of the image, the node name, the condition types… for every pod; `internStrings`). What every
 * object `listWatch` delivers has been through; a copy of a watched object from elsewhere (a patch's
 * answer) should go through it before a cache keeps it.
 */
export const forCache = <T>(object: T): T => internStrings(withoutManagedFields(object))

/** One page of a list call: its items, the list's resourceVersion, and the token of the next page (none on the last). */
export interface ListPage<T> {
  readonly items: ReadonlyArray<T>
  readonly resourceVersion: string
  readonly continue: string | undefined
}

/** Objects per page of `listInPages`: client-go's reflector lists 500 at a time. */
export const LIST_PAGE_SIZE = 500

/**
 * A list read a page at a time (the API server's `limit` and `continue`), for `ListWatchSource.list`:
 * in one response a node's 10,000 pods are one ~50 MB JSON body, held as a string, parsed and decoded
 * all at once (measured, a 10,000-pod relist under --max-old-space-size=192 --max-semi-space-size=4:
 * peak RSS 376 MB in one response, 243 MB in pages of 500). Each page's objects go through `forCache` before the next page
 * is read. The pages form one consistent snapshot (the server guarantees it for a continued list);
 * its resourceVersion is the last page's. A continue token that expired (410) fails the list, which
 * `listWatch` then retries from the start.
 */
export const listInPages = <T, E, R>(
  page: (continueToken: string | undefined) => Effect.Effect<ListPage<T>, E, R>
): Effect.Effect<{ readonly items: ReadonlyArray<T>; readonly resourceVersion: string }, E, R> =>
  Effect.gen(function*() {
    const items: Array<T> = []
    let token: string | undefined
    let resourceVersion = ""
    do {
      const p = yield* page(token)
      for (const item of p.items) items.push(forCache(item))
      resourceVersion = p.resourceVersion
      token = p.continue === undefined || p.continue === "" ? undefined : p.continue
    } while (token !== undefined)
    return { items, resourceVersion }
  })

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
 * Objects come out as caches keep them (`forCache`: no managedFields, short strings interned).
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
        return { type: "Snapshot", items: items.map(forCache) }
      })
    )

    const watchFromCursor = Stream.suspend(() => source.watch(resourceVersion ?? "")).pipe(
      // Advance the cursor as items pass (not when they arrive), so a failure never skips an
      // event that was received but not yet delivered.
      Stream.map((item): ListWatchEvent<T> | undefined => {
        resourceVersion = item.resourceVersion
        return item.type === "Bookmark" ? undefined : { type: item.type, object: forCache(item.object) }
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
