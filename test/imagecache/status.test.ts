import { describe, expect, it } from "vitest"
import type { CacheView } from "../../src/imagecache/identity.ts"
import { cacheName } from "../../src/imagecache/identity.ts"
import { failureOf, isBehind, phaseOf, statusOf, statusPatch } from "../../src/imagecache/status.ts"
import { isValidContainerGroupName } from "../../src/translate/identity.ts"

const view = (over: Partial<CacheView> = {}): CacheView => ({
  ImageCacheId: "imc-1",
  Status: "Creating",
  Progress: "40%",
  CreationTime: "2026-11-26T07:59:00Z",
  ExpireDateTime: "",
  Events: [],
  ...over
})

describe("an ECI cache as status", () => {
  it.each([
    ["Preparing", "Preparing"],
    ["Creating", "Creating"],
    ["Ready", "Ready"],
    ["Failed", "Failed"],
    ["Updating", "Updating"],
    ["UpdateFailed", "UpdateFailed"],
    ["Deleting", "Unknown"],
    [undefined, "Unknown"]
  ])("ECI status %s is phase %s", (status, phase) => {
    expect(phaseOf(view(status === undefined ? { Status: undefined as unknown as string } : { Status: status }))).toBe(phase)
  })

  it.each([
    ["unauthorized: authentication required", "ImagePullUnauthorized"],
    ["pull access denied for team/app", "ImagePullUnauthorized"],
    [`Failed to pull image "x": not found`, "ImageNotFound"],
    ["manifest unknown", "ImageNotFound"],
    ["disk full", "BuildFailed"]
  ])("a build that failed with %j is %s", (message, reason) => {
    expect(failureOf([{ type: "Normal", message: "Pulling" }, { type: "Warning", message }])).toEqual({ reason, message })
  })
  it("a failure without a Warning event says so", () => {
    expect(failureOf([])).toEqual({ reason: "BuildFailed", message: "ECI reports the image cache as Failed without saying why" })
  })

  it("maps id, phase, progress, start, expiry and events; empty ECI strings are left out", () => {
    const ready = view({
      Status: "Ready",
      Progress: "100%",
      ExpireDateTime: "2026-12-03T07:59:00Z",
      Events: [{ Type: "Normal", Reason: "Created", Message: "ready", Count: 1, FirstTimestamp: "2026-11-26T08:00:00Z", LastTimestamp: "2026-11-26T08:00:00Z", Name: "imc-1" }]
    })
    expect(statusOf(ready)).toEqual({
      phase: "Ready",
      progress: "100%",
      imageCacheId: "imc-1",
      startTime: "2026-11-26T07:59:00Z",
      expireDateTime: "2026-12-03T07:59:00Z",
      events: [{ type: "Normal", reason: "Created", message: "ready", count: 1, firstTimestamp: "2026-11-26T08:00:00Z", lastTimestamp: "2026-11-26T08:00:00Z" }]
    })
    expect(statusOf(view({ Progress: "" }))).toEqual({ phase: "Creating", imageCacheId: "imc-1", startTime: "2026-11-26T07:59:00Z" })
  })
  it("keeps the newest 50 events (the CRD's maxItems)", () => {
    const events = Array.from({ length: 60 }, (_, i) => ({ Type: "Normal", Reason: `E${i}`, Message: "m" }))
    const s = statusOf(view({ Events: events }))
    expect(s.events?.length).toBe(50)
    expect(s.events?.[0]?.reason).toBe("E10")
  })
})

describe("the status patch", () => {
  const at = "2026-11-26T08:00:00Z"
  it("is nothing when nothing but the time would change", () => {
    expect(statusPatch({ phase: "Ready", lastUpdatedTime: "2026-11-26T07:00:00Z" }, { phase: "Ready" }, at)).toBeUndefined()
  })
  it("sets what changed, removes what is gone (null), and stamps the time", () => {
    expect(statusPatch({ phase: "Failed", reason: "CreateRefused", message: "m", imageCacheId: "imc-1" }, { phase: "Preparing", imageCacheId: "imc-2" }, at))
      .toEqual({ phase: "Preparing", reason: null, message: null, imageCacheId: "imc-2", lastUpdatedTime: at })
  })
})

describe("a view behind the status (another replica wrote a fresher one)", () => {
  it.each<[string, Partial<CacheView>, Parameters<typeof isBehind>[1], boolean]>([
    ["Creating while the status says Ready", { Status: "Creating" }, { imageCacheId: "imc-1", phase: "Ready" }, true],
    ["less progress in the same phase", { Progress: "40%" }, { imageCacheId: "imc-1", phase: "Creating", progress: "60%" }, true],
    ["fewer events", { Progress: "40%", Events: [] }, { imageCacheId: "imc-1", phase: "Creating", progress: "40%", events: [{ reason: "x" }] }, true],
    ["further along", { Status: "Ready", Progress: "100%" }, { imageCacheId: "imc-1", phase: "Creating", progress: "60%" }, false],
    ["another cache", { Status: "Preparing" }, { imageCacheId: "imc-2", phase: "Ready" }, false],
    ["no status yet", { Status: "Preparing" }, undefined, false],
    ["a status ECI does not rank", { Status: "Deleting" }, { imageCacheId: "imc-1", phase: "Ready" }, false]
  ])("%s: %s", (_, over, status, behind) => {
    expect(isBehind(view(over), status)).toBe(behind)
  })
})

describe("the ECI cache name", () => {
  it.each([
    ["c1", "base", "c1-base"],
    ["c1", "team.base-images", undefined],
    ["C-UPPER", "x", undefined],
    ["c1", "a".repeat(253), undefined]
  ])("cluster %s, ImageCache %s", (cluster, name, expected) => {
    const n = cacheName(cluster, name)
    if (expected !== undefined) expect(n).toBe(expected)
    expect(isValidContainerGroupName(n)).toBe(true)
  })
})
