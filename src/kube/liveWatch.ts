import type { Watch } from "@kubernetes/client-node"
import { Cause, Effect, Queue, Stream } from "effect"
import { fromWire } from "./codec.ts"
import { type CallTarget, fromClientError, fromStatus } from "./errors.ts"
import type { KubeError } from "./Kube.ts"
import { WatchExpired, type WatchItem, withoutManagedFields } from "./watch.ts"

/** What a watch line's `object` holds, as far as we read it before decoding (an object or a Status). */
interface RawObject {
  readonly metadata?: { readonly resourceVersion?: string }
  readonly code?: unknown
  readonly message?: unknown
}

const phases = { ADDED: "Added", MODIFIED: "Modified", DELETED: "Deleted" } as const

/**
 * One watch request from `resourceVersion` through client-node's `Watch`, as a Stream of decoded
 * items (`type` is the client-node model name, e.g. "V1Pod"). The stream ends when the connection
 * ends — the server's timeout, or client-node's own abort after 30 s without a byte — and fails with
 * WatchExpired on 410 Gone (an HTTP 410 or an ERROR event carrying a 410 Status). Resuming is the
 * caller's job (`listWatch`). `open` wraps the request that opens the watch (the rate limiter).
 */
export const watchFrom = <T>(
  watcher: Watch,
  request: {
    readonly path: string
    readonly query: Record<string, string>
    readonly type: string
    readonly target: CallTarget
    readonly resourceVersion: string
  },
  open: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E> = (effect) => effect
): Stream.Stream<WatchItem<T>, KubeError | WatchExpired> =>
  Stream.callback<WatchItem<T>, KubeError | WatchExpired>((queue) => {
    const { path, query, resourceVersion, target, type } = request
    const onEvent = (phase: string, raw: RawObject | undefined) => {
      const rv = raw?.metadata?.resourceVersion ?? resourceVersion
      if (phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED") {
        // managedFields go before decoding (listWatch would drop them after): no work spent on them.
        Queue.offerUnsafe(queue, { type: phases[phase], object: fromWire<T>(type, withoutManagedFields(raw)), resourceVersion: rv })
      } else if (phase === "BOOKMARK") {
        Queue.offerUnsafe(queue, { type: "Bookmark", resourceVersion: rv })
      } else if (phase === "ERROR") {
        // A Status object; 410 means our resourceVersion was compacted away.
        const code = typeof raw?.code === "number" ? raw.code : 500
        const error = code === 410
          ? new WatchExpired({ message: String(raw?.message ?? "resource version too old") })
          : fromStatus(code, raw, target)
        Queue.failCauseUnsafe(queue, Cause.fail(error))
      }
    }
    const onDone = (err: unknown) => {
      if (err === null || err === undefined) return Queue.endUnsafe(queue)
      // client-node aborts an idle watch after 30 s without data (and we abort on release): a normal
      // end for us, resumed from the last resourceVersion, not a failure.
      if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return Queue.endUnsafe(queue)
      const status = (err as { statusCode?: unknown }).statusCode
      Queue.failCauseUnsafe(
        queue,
        Cause.fail(status === 410 ? new WatchExpired({ message: "resource version too old" }) : fromClientError(err, target))
      )
    }
    return Effect.acquireRelease(
      open(Effect.tryPromise({
        try: () => watcher.watch(path, { ...query, resourceVersion, allowWatchBookmarks: true }, onEvent, onDone),
        catch: (e) => fromClientError(e, target)
      })),
      (controller) => Effect.sync(() => controller.abort())
    )
  })
