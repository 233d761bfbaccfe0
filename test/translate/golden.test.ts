import { describe, expect, it } from "vitest"
import { validateCreate } from "../../src/eci/simulator/validation.ts"
import { eciToStatus } from "../../src/translate/eciToStatus.ts"
import { podToEci } from "../../src/translate/podToEci.ts"
import { writeBackAnnotations } from "../../src/translate/writeBack.ts"
import { job, jobGroup, jobPod, nginx, nginxGroup, nginxPod, spark, sparkGroup, sparkPod } from "./workloads.ts"

/**
 * Golden examples: each representative workload's full translation in both directions, checked in
 * as JSON under golden/ so a reviewer reads exactly what ECI receives and what the pod shows.
 * Regenerate after an intended change with `npx vitest run --project unit test/translate -u` and
 * review the diff.
 */
const json = (x: unknown) => `${JSON.stringify(x, null, 2)}\n`
const at = new Date("2026-03-01T12:30:00Z")

describe.each([
  ["nginx-deployment", nginx, nginxPod, nginxGroup],
  ["job-with-init-and-configmap", job, jobPod, jobGroup],
  ["spark-executor-spot", spark, sparkPod, sparkGroup]
] as const)("golden workload %s", (name, resolved, pod, group) => {
  it("Pod → CreateContainerGroup request", async () => {
    const t = podToEci(resolved)
    expect(t._tag).toBe("Ok")
    await expect(json(t)).toMatchFileSnapshot(`golden/${name}.request.json`)
  })

  it("is accepted by the ECI simulator's validation", () => {
    const t = podToEci(resolved)
    if (t._tag !== "Ok") throw new Error(t._tag)
    expect(() => validateCreate(t.request)).not.toThrow()
  })

  it("ContainerGroup → PodStatus and write-back annotations", async () => {
    await expect(json({ status: eciToStatus(pod, group, at), annotations: writeBackAnnotations(group) }))
      .toMatchFileSnapshot(`golden/${name}.status.json`)
  })
})
