import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Eci } from "../../src/eci/Eci.ts"
import { layerInMemory } from "../../src/eci/simulator/inMemory.ts"
import { KubeletHttpError } from "../../src/kubelet/errors.ts"
import { advance, containerLogStream, eciStartTime, type LogOptions, parseLogQuery, parseStamp, splitLogLines } from "../../src/kubelet/logs.ts"

const NOW = Date.parse("2024-05-01T12:00:00Z")
const q = (s: string) => parseLogQuery(new URLSearchParams(s), NOW)
const message = (r: LogOptions | KubeletHttpError) => (r instanceof KubeletHttpError ? `${r.status} ${r.message}` : r)

describe("log query parsing (PodLogOptions as the kubelet decodes and validates it)", () => {
  it("reads every option", () => {
    expect(q("")).toEqual({ timestamps: false, follow: false, previous: false })
    expect(q("tailLines=10&limitBytes=500&timestamps=true&follow=true&previous=false")).toEqual({
      tailLines: 10,
      limitBytes: 500,
      timestamps: true,
      follow: true,
      previous: false
    })
    expect(q("sinceSeconds=60")).toMatchObject({ sinceMs: NOW - 60_000 })
    expect(q("sinceTime=2024-05-01T11:00:00Z")).toMatchObject({ sinceMs: NOW - 3_600_000 })
    expect(q("sinceTime=2024-05-01T13:00:00%2B02:00")).toMatchObject({ sinceMs: NOW - 3_600_000 })
  })

  it("converts bools as the API machinery does: absent false, 0/false false, anything else true", () => {
    expect(q("follow")).toMatchObject({ follow: true })
    expect(q("follow=1&timestamps=FALSE&previous=0")).toMatchObject({ follow: true, timestamps: false, previous: false })
    expect(q("follow=yes")).toMatchObject({ follow: true })
  })

  it("keeps the kubelet's old `tail` parameter", () => {
    expect(q("tail=5")).toMatchObject({ tailLines: 5 })
    expect(q("tail=all&tailLines=5")).not.toHaveProperty("tailLines")
  })

  it("refuses what ValidatePodLogOptions refuses, with 400 and a message that says why", () => {
    expect(message(q("sinceSeconds=10&sinceTime=2024-05-01T11:00:00Z"))).toBe("400 at most one of `sinceTime` or `sinceSeconds` may be specified")
    expect(message(q("tailLines=-1"))).toBe("400 tailLines: Invalid value: -1: must be greater than or equal to 0")
    expect(message(q("limitBytes=0"))).toBe("400 limitBytes: Invalid value: 0: must be greater than 0")
    expect(message(q("sinceSeconds=0"))).toBe("400 sinceSeconds: Invalid value: 0: must be greater than 0")
    expect(message(q("tailLines=ten"))).toBe("400 tailLines: Invalid value: \"ten\": must be an integer")
    expect(message(q("sinceTime=yesterday"))).toMatch(/^400 sinceTime: Invalid value: "yesterday"/)
    expect(message(q("stream=Stderr"))).toMatch(/^400 unable to return the given log stream: "Stderr"/)
    expect(q("stream=All")).toMatchObject({ follow: false })
  })
})

describe("timestamped lines", () => {
  it("parse RFC 3339 stamps to nanoseconds", () => {
    expect(parseStamp("1970-01-01T00:00:01.000000002Z")).toBe(1_000_000_002n)
    expect(parseStamp("1970-01-01T00:00:01.5Z")).toBe(1_500_000_000n)
    expect(parseStamp("1970-01-01T08:00:01+08:00")).toBe(1_000_000_000n)
    expect(parseStamp("not a time")).toBeUndefined()
  })

  it("split ECI's content into lines, keeping newlines and a last line without one", () => {
    const lines = splitLogLines("1970-01-01T00:00:01.000000000Z a b\n1970-01-01T00:00:02.000000000Z c\nraw line\n1970-01-01T00:00:03Z partial")
    expect(lines.map((l) => [l.at, l.text])).toEqual([
      [1_000_000_000n, "a b\n"],
      [2_000_000_000n, "c\n"],
      [undefined, "raw line\n"],
      [3_000_000_000n, "partial"]
    ])
  })

  it("StartTime for ECI: the second of the cursor, rounded down", () => {
    expect(eciStartTime(1_999)).toBe("1970-01-01T00:00:01Z")
  })

  it("advance drops what the cursor has seen, including lines sharing its timestamp, one for one", () => {
    const lines = (s: string) => splitLogLines(s)
    const first = advance(undefined, lines("1970-01-01T00:00:01.000000000Z a\n1970-01-01T00:00:01.000000000Z b\n"))
    expect(first.fresh.map((l) => l.text)).toEqual(["a\n", "b\n"])
    expect(first.cursor).toEqual({ at: 1_000_000_000n, seen: ["a\n", "b\n"] })
    // The next poll starts at the cursor's second: a and b again, then a third line with the same stamp.
    const second = advance(first.cursor, lines(
      "1970-01-01T00:00:00.500000000Z old\n1970-01-01T00:00:01.000000000Z a\n1970-01-01T00:00:01.000000000Z b\n1970-01-01T00:00:01.000000000Z a\n1970-01-01T00:00:02.000000000Z c\n"
    ))
    expect(second.fresh.map((l) => l.text)).toEqual(["a\n", "c\n"])
    expect(second.cursor).toEqual({ at: 2_000_000_000n, seen: ["c\n"] })
    expect(advance(second.cursor, lines("1970-01-01T00:00:02.000000000Z c\n")).fresh).toEqual([])
  })
})

const APP = "app"

/** A container group in the in-memory simulator running `command`, Running from ~100 ms. */
const group = (command: ReadonlyArray<string> | undefined, restartPolicy = "Never") =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const r = yield* eci.call("CreateContainerGroup", {
      ContainerGroupName: "web",
      VSwitchId: "vsw-test1",
      SecurityGroupId: "sg-test1",
      RestartPolicy: restartPolicy,
      Container: [{ Name: APP, Image: "nginx:1.25", ...(command === undefined ? {} : { Command: [...command] }) }]
    })
    return r.ContainerGroupId!
  })

const running = (id: string) =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const r = yield* eci.call("DescribeContainerGroups", { ContainerGroupIds: JSON.stringify([id]) }).pipe(Effect.orDie)
    return r.ContainerGroups?.[0]?.Containers?.find((c) => c.Name === APP)?.CurrentState?.State === "Running"
  })

const opts = (o: Partial<LogOptions> = {}): LogOptions => ({ timestamps: false, follow: false, previous: false, ...o })

/** Runs the log stream of `id`, appending what it writes to `out`; returns when the stream ends. */
const run = (id: string, options: LogOptions, out: Ref.Ref<string>, counter?: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const eci = yield* Eci
    const counted = counter === undefined
      ? eci
      : Eci.of({ call: (action, request) => Ref.update(counter, (n) => n + 1).pipe(Effect.andThen(eci.call(action, request))) })
    const stream = yield* containerLogStream({ groupId: id, container: APP, lastTime: options.previous }, options, {
      stillRunning: running(id).pipe(Effect.provideService(Eci, eci)),
      minInterval: "1 second",
      maxInterval: "4 seconds"
    }).pipe(Effect.provideService(Eci, counted))
    yield* Stream.runForEach(stream.pipe(Stream.provideService(Eci, counted)), (chunk) =>
      Ref.update(out, (text) => text + Buffer.from(chunk).toString("utf8")))
  })

const collect = (id: string, options: LogOptions) =>
  Effect.gen(function*() {
    const out = yield* Ref.make("")
    yield* run(id, options, out)
    return yield* Ref.get(out)
  })

const sim = layerInMemory({ profile: "fast" })

describe("containerLogStream over the in-memory ECI", () => {
  it.effect("selects lines: tail, since (exact, below ECI's second), timestamps stripped unless asked, limitBytes", () =>
    Effect.gen(function*() {
      const id = yield* group(["sh", "-c", "echo one; sleep 1; echo two; sleep 1; echo three"])
      yield* TestClock.adjust("5 seconds")
      expect(yield* collect(id, opts())).toBe("one\ntwo\nthree\n")
      expect(yield* collect(id, opts({ tailLines: 2 }))).toBe("two\nthree\n")
      expect(yield* collect(id, opts({ tailLines: 0 }))).toBe("")
      // `two` was printed at about 1.09 s: a since between it and the next whole second excludes `one` only.
      expect(yield* collect(id, opts({ sinceMs: 1_050 }))).toBe("two\nthree\n")
      expect(yield* collect(id, opts({ sinceMs: 1_095 }))).toBe("three\n")
      expect(yield* collect(id, opts({ timestamps: true, tailLines: 1 }))).toMatch(/^1970-01-01T00:00:02\.\d{9}Z three\n$/)
      expect(yield* collect(id, opts({ limitBytes: 6 }))).toBe("one\ntw")
    }).pipe(Effect.provide(sim)))

  it.effect("follow prints every line once, in order, and ends after the container stops", () =>
    Effect.gen(function*() {
      // Pairs of lines share a timestamp; pauses put them across several polls.
      const id = yield* group(["sh", "-c", "echo a1; echo a2; sleep 2; echo b1; echo b2; sleep 3; echo c1; sleep 1; echo c2; echo c3"])
      yield* TestClock.adjust("500 millis")
      const calls = yield* Ref.make(0)
      const out = yield* Ref.make("")
      const fiber = yield* run(id, opts({ follow: true }), out, calls).pipe(Effect.forkChild)
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(out)).toBe("a1\na2\nb1\nb2\nc1\nc2\nc3\n")
      // The container stopped at about 6.1 s, and polling with it.
      expect(yield* Ref.get(calls)).toBeLessThan(12)
    }).pipe(Effect.provide(sim)))

  it.effect("follow of a chatty service (a line every 200 ms): no line twice, none missing, with --tail and timestamps", () =>
    Effect.gen(function*() {
      const id = yield* group(undefined, "Always")
      yield* TestClock.adjust("2 seconds")
      const out = yield* Ref.make("")
      const fiber = yield* run(id, opts({ follow: true, tailLines: 3, timestamps: true }), out).pipe(Effect.forkChild)
      for (let i = 0; i < 40; i++) yield* TestClock.adjust("250 millis")
      // The service never stops: the client leaving (interruption) ends the follow.
      yield* Fiber.interrupt(fiber)
      const lines = (yield* Ref.get(out)).trimEnd().split("\n")
      for (const line of lines) expect(line).toMatch(/^1970-01-01T00:00:\d{2}\.\d{9}Z 10\.0\.0\.1 - - "GET \/healthz/)
      const ks = lines.map((l) => Number(/request=(\d+)/.exec(l)?.[1]))
      // Started at ~0.1 s, so at 2 s the last three heartbeats are 7, 8 and 9; then every one up to 12 s.
      expect(ks.slice(0, 3)).toEqual([7, 8, 9])
      expect(ks).toEqual(Array.from({ length: ks.length }, (_, i) => 7 + i))
      expect(ks.at(-1)).toBeGreaterThanOrEqual(55)
    }).pipe(Effect.provide(sim)))
})
