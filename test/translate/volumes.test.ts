import type { V1Volume } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import { eciMode } from "../../src/translate/volumes.ts"
import { b64, container, first, kubeApiAccess, kubeApiAccessMount, missing, pod, refusals, request, rootCa, tokens, unb64, warnings } from "./fixtures.ts"

const withVolume = (v: V1Volume, extra: Parameters<typeof request>[1] = {}) => request(pod({ volumes: [v] }), extra).Volume?.[0]

/** The files of a ConfigFileVolume as path → decoded text (and modes), for readable expectations. */
const files = (v: ReturnType<typeof withVolume>) =>
  (v?.ConfigFileVolume?.ConfigFileToPath ?? []).map((f) => ({ path: f.Path, text: unb64(f.Content), ...(f.Mode === undefined ? {} : { mode: f.Mode }) }))

describe("volumes", () => {
  describe("emptyDir", () => {
    it.each([
      [{}, { Name: "scratch", Type: "EmptyDirVolume", EmptyDirVolume: {} }],
      [{ medium: "Memory", sizeLimit: "256Mi" }, { Name: "scratch", Type: "EmptyDirVolume", EmptyDirVolume: { Medium: "Memory", SizeLimit: "256Mi" } }],
      [{ sizeLimit: "1Gi" }, { Name: "scratch", Type: "EmptyDirVolume", EmptyDirVolume: { SizeLimit: "1Gi" } }]
    ])("%j", (emptyDir, wire) => {
      expect(withVolume({ name: "scratch", emptyDir })).toEqual(wire)
    })

    it("refuses the HugePages medium", () => {
      expect(refusals(pod({ volumes: [{ name: "h", emptyDir: { medium: "HugePages" } }] }))).toEqual([
        expect.objectContaining({ field: "spec.volumes[0].emptyDir.medium" })
      ])
    })
  })

  describe("configMap and secret → ConfigFileVolume (base64 content)", () => {
    const configMaps = { app: { data: { "b.conf": "b=1\n", "a.conf": "a=1\n" }, binaryData: { "logo.png": b64("\u0089PNG") } } }

    it("ships every key as a file, sorted by key", () => {
      expect(files(withVolume({ name: "cfg", configMap: { name: "app" } }, { configMaps }))).toEqual([
        { path: "a.conf", text: "a=1\n" },
        { path: "b.conf", text: "b=1\n" },
        { path: "logo.png", text: "\u0089PNG" }
      ])
    })

    it("ships only the listed items, at their paths and modes; defaultMode in ECI's octal digits", () => {
      const v = withVolume({ name: "cfg", configMap: { name: "app", defaultMode: 0o440, items: [{ key: "a.conf", path: "conf/app.conf", mode: 0o600 }] } }, { configMaps })
      expect(files(v)).toEqual([{ path: "conf/app.conf", text: "a=1\n", mode: 600 }])
      expect(v?.ConfigFileVolume?.DefaultMode).toBe(440)
    })

    it.each([[0o644, 644], [420, 644], [0o755, 755], [0o400, 400], [0, 0]])("mode %d → %d", (k8s, eci) => {
      expect(eciMode(k8s)).toBe(eci)
    })

    it("decodes nothing: secret data is already base64", () => {
      const v = withVolume({ name: "tls", secret: { secretName: "tls", defaultMode: 0o400 } }, { secrets: { tls: { data: { "tls.key": b64("KEY") } } } })
      expect(v).toEqual({ Name: "tls", Type: "ConfigFileVolume", ConfigFileVolume: { ConfigFileToPath: [{ Path: "tls.key", Content: b64("KEY") }], DefaultMode: 400 } })
    })

    it("an optional source that is absent mounts as an empty directory", () => {
      expect(withVolume({ name: "cfg", configMap: { name: "absent", optional: true } })).toEqual({ Name: "cfg", Type: "EmptyDirVolume", EmptyDirVolume: {} })
    })

    it("a required source or item key that is absent leaves the pod waiting", () => {
      const p = pod({
        volumes: [
          { name: "a", configMap: { name: "absent" } },
          { name: "b", secret: { secretName: "creds", items: [{ key: "nope", path: "x" }] } }
        ]
      })
      expect(missing(p, { secrets: { creds: { data: {} } } })).toEqual([
        { kind: "ConfigMap", name: "absent", field: "spec.volumes[0].configMap" },
        { kind: "Secret", name: "creds", key: "nope", field: "spec.volumes[1].secret.items[0]" }
      ])
    })

    it("refuses files over ECI's 32 KiB and volumes over 60 KiB", () => {
      const big = { big: { data: { huge: "x".repeat(33 * 1024) } }, many: { data: { a: "x".repeat(31 * 1024), b: "x".repeat(31 * 1024) } } }
      const r = refusals(pod({ volumes: [{ name: "a", configMap: { name: "big" } }, { name: "b", configMap: { name: "many" } }] }), { configMaps: big })
      expect(r.map((x) => [x.field, x.code])).toEqual([["spec.volumes[0].configMap", "UnsupportedVolume"], ["spec.volumes[1].configMap", "UnsupportedVolume"]])
    })
  })

  describe("downwardAPI", () => {
    it("writes metadata fields (maps as sorted key=\"value\" lines) and resource fields", () => {
      const p = pod(
        {
          containers: [container({ resources: { limits: { cpu: "500m", memory: "256Mi" } } })],
          volumes: [{
            name: "info",
            downwardAPI: {
              items: [
                { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
                { path: "tier", fieldRef: { fieldPath: "metadata.labels['tier']" } },
                { path: "cpu_m", resourceFieldRef: { containerName: "app", resource: "limits.cpu", divisor: "1m" } },
                { path: "mem", resourceFieldRef: { containerName: "app", resource: "limits.memory" }, mode: 0o444 }
              ]
            }
          }]
        },
        { labels: { tier: "web", app: "shop \"main\"" } }
      )
      expect(files(request(p).Volume?.[0])).toEqual([
        { path: "labels", text: 'app="shop \\"main\\""\ntier="web"' },
        { path: "tier", text: "web" },
        { path: "cpu_m", text: "500" },
        { path: "mem", text: String(256 * 1024 * 1024), mode: 444 }
      ])
    })

    it("refuses runtime fields in files (the pod IP is not known when the file is written)", () => {
      const p = pod({ volumes: [{ name: "i", downwardAPI: { items: [{ path: "ip", fieldRef: { fieldPath: "status.podIP" } }] } }] })
      expect(refusals(p)).toEqual([expect.objectContaining({ field: "spec.volumes[0].downwardAPI.items[0].fieldRef" })])
    })
  })

  describe("projected, including the kube-api-access volume every pod carries", () => {
    it("combines the service-account token, the cluster CA and the namespace", () => {
      const p = pod({ containers: [container({ volumeMounts: [kubeApiAccessMount] })], volumes: [kubeApiAccess] }, { namespace: "shop" })
      const v = request(p, { configMaps: rootCa, serviceAccountTokens: tokens }).Volume?.[0]
      expect(v?.Type).toBe("ConfigFileVolume")
      expect(v?.ConfigFileVolume?.DefaultMode).toBe(644)
      expect(files(v)).toEqual([
        { path: "token", text: tokens["|3607"] },
        { path: "ca.crt", text: rootCa["kube-root-ca.crt"].data["ca.crt"] },
        { path: "namespace", text: "shop" }
      ])
      expect(first(p, { configMaps: rootCa, serviceAccountTokens: tokens }).VolumeMount).toEqual([
        { Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true }
      ])
    })

    it("waits for a token the caller has not obtained yet", () => {
      expect(missing(pod({ volumes: [kubeApiAccess] }), { configMaps: rootCa })).toEqual([
        { kind: "ServiceAccountToken", tokenKey: "|3607", field: "spec.volumes[0].projected.sources[0].serviceAccountToken" }
      ])
    })

    it("refuses clusterTrustBundle sources", () => {
      const p = pod({ volumes: [{ name: "b", projected: { sources: [{ clusterTrustBundle: { path: "ca.pem", name: "x" } }] } }] })
      expect(refusals(p)).toEqual([expect.objectContaining({ field: "spec.volumes[0].projected.sources[0]" })])
    })
  })

  describe("network and flex volumes", () => {
    it("nfs → NFSVolume", () => {
      expect(withVolume({ name: "nas", nfs: { server: "0a1b.cn-hangzhou.nas.aliyuncs.com", path: "/share", readOnly: true } })).toEqual({
        Name: "nas",
        Type: "NFSVolume",
        NFSVolume: { Server: "0a1b.cn-hangzhou.nas.aliyuncs.com", Path: "/share", ReadOnly: true }
      })
    })

    it("flexVolume → FlexVolume with JSON options", () => {
      expect(withVolume({ name: "disk", flexVolume: { driver: "alicloud/disk", fsType: "ext4", options: { volumeId: "d-1" } } })).toEqual({
        Name: "disk",
        Type: "FlexVolume",
        FlexVolume: { Driver: "alicloud/disk", FsType: "ext4", Options: '{"volumeId":"d-1"}' }
      })
    })

    it("warns that a flexVolume's readOnly flag cannot be passed", () => {
      expect(warnings(pod({ volumes: [{ name: "d", flexVolume: { driver: "alicloud/nas", readOnly: true } }] }))).toHaveLength(1)
    })
  })

  describe("unsupported volume types are refused with a reason", () => {
    it.each([
      [{ name: "v", hostPath: { path: "/var/log" } }, "spec.volumes[0].hostPath"],
      [{ name: "v", persistentVolumeClaim: { claimName: "data" } }, "spec.volumes[0].persistentVolumeClaim"],
      [{ name: "v", ephemeral: { volumeClaimTemplate: { spec: {} } } }, "spec.volumes[0].ephemeral"],
      [{ name: "v", csi: { driver: "secrets-store.csi.k8s.io" } }, "spec.volumes[0].csi"],
      [{ name: "v", gitRepo: { repository: "https://example.com/r.git" } }, "spec.volumes[0].gitRepo"],
      [{ name: "v", iscsi: { targetPortal: "1.2.3.4", iqn: "iqn", lun: 0 } }, "spec.volumes[0].iscsi"],
      [{ name: "v", flexVolume: { driver: "x", secretRef: { name: "s" } } }, "spec.volumes[0].flexVolume.secretRef"]
    ] as ReadonlyArray<readonly [V1Volume, string]>)("%j", (v, field) => {
      expect(refusals(pod({ volumes: [v] }))).toEqual([expect.objectContaining({ code: "UnsupportedVolume", field, reason: expect.any(String) })])
    })

    it("refuses more than 20 volumes", () => {
      const vs = Array.from({ length: 21 }, (_, i) => ({ name: `v${i}`, emptyDir: {} }))
      expect(refusals(pod({ volumes: vs }))).toEqual([expect.objectContaining({ code: "TooManyVolumes" })])
    })
  })

  describe("volume mounts", () => {
    it("keeps subPath, readOnly and propagation; expands subPathExpr with the container's env", () => {
      const c = first(pod({
        volumes: [{ name: "data", emptyDir: {} }],
        containers: [container({
          env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          volumeMounts: [
            { name: "data", mountPath: "/data", subPath: "cache", readOnly: true, mountPropagation: "HostToContainer" },
            { name: "data", mountPath: "/logs", subPathExpr: "logs/$(POD)" }
          ]
        })]
      }))
      expect(c.VolumeMount).toEqual([
        { Name: "data", MountPath: "/data", SubPath: "cache", ReadOnly: true, MountPropagation: "HostToContainer" },
        { Name: "data", MountPath: "/logs", SubPath: "logs/web" }
      ])
    })
  })
})
