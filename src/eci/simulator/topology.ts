import type { TopologySpec } from "./config.ts"
import { Faults } from "./failures.ts"
import { hash32 } from "./prng.ts"

export interface VSwitch {
  readonly id: string
  readonly zoneId: string
  readonly vpcId: string
  readonly cidr: string
  /** First address of the block as a 32-bit number, and the block's size. */
  readonly base: number
  readonly size: number
}

export interface SecurityGroup {
  readonly id: string
  readonly vpcId: string | undefined
}

const base36 = (n: number, length: number) => n.toString(36).padStart(length, "0").slice(-length)

/** An id that looks like ECI's (`vsw-bp1…`), fixed by its seed text. */
export const derivedId = (prefix: string, seed: string) =>
  `${prefix}-${base36(hash32(seed), 7)}${base36(hash32(`${seed}#2`), 7)}${base36(hash32(`${seed}#3`), 6)}`

const parseCidr = (cidr: string): { readonly base: number; readonly size: number } => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr)
  if (m === null) throw new Error(`invalid CIDR in topology: ${cidr}`)
  const octets = m.slice(1, 5).map(Number)
  const prefix = Number(m[5])
  if (octets.some((o) => o > 255) || prefix < 16 || prefix > 29) throw new Error(`invalid CIDR in topology: ${cidr}`)
  const size = 2 ** (32 - prefix)
  const address = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0
  return { base: address - (address % size), size }
}

export const formatIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")

const zoneLetters = "abcdefghijk"

/**
 * Without a configured topology every vSwitch id is accepted: its zone is `<region>-<letter>` and
 * its CIDR a /18 inside 10.0.0.0/8 (16 378 usable addresses), both derived from the id, so the same
 * id always lands in the same zone. All vSwitches of a region share one derived VPC.
 */
const derivedVSwitch = (regionId: string, id: string): VSwitch => {
  const h = hash32(`${regionId}/${id}`)
  const zoneId = `${regionId}-${zoneLetters[h % 7]}`
  const second = (h >>> 8) & 255
  const third = ((h >>> 16) & 3) * 64
  const cidr = `10.${second}.${third}.0/18`
  return { id, zoneId, vpcId: derivedId("vpc", regionId), cidr, ...parseCidr(cidr) }
}

/**
 * The network the simulated instances live in: which vSwitches and security groups exist, and the
 * addresses taken in each vSwitch. Alibaba VPC reserves the first and the last three addresses of a
 * vSwitch block; the others are handed out round-robin from a cursor, so a released address is not
 * reused at once (as a DHCP server would).
 */
export class Network {
  private topology: TopologySpec | undefined
  private configured = new Map<string, VSwitch>()
  private readonly used = new Map<string, Set<number>>()
  private readonly cursor = new Map<string, number>()

  constructor(topology: TopologySpec | undefined) {
    this.topology = undefined
    this.setTopology(topology)
  }

  setTopology(topology: TopologySpec | undefined) {
    this.topology = topology
    this.configured = new Map(
      (topology?.vSwitches ?? []).map((v) => [
        v.id,
        { id: v.id, zoneId: v.zoneId, vpcId: v.vpcId ?? derivedId("vpc", v.zoneId.replace(/-[a-z]$/, "")), cidr: v.cidr, ...parseCidr(v.cidr) }
      ])
    )
  }

  get isConfigured(): boolean {
    return this.topology !== undefined
  }

  checkRegion(regionId: string) {
    const regions = this.topology?.regions
    if (regions !== undefined && !regions.includes(regionId)) throw Faults.regionNotFound(regionId)
  }

  vSwitch(regionId: string, id: string): VSwitch {
    if (this.topology === undefined) return derivedVSwitch(regionId, id)
    const v = this.configured.get(id)
    if (v === undefined || !v.zoneId.startsWith(`${regionId}-`)) throw Faults.vSwitchNotFound(id)
    return v
  }

  defaultVSwitch(regionId: string): VSwitch {
    if (this.topology === undefined) return derivedVSwitch(regionId, derivedId("vsw", `${regionId}/default`))
    const v = [...this.configured.values()].find((s) => s.zoneId.startsWith(`${regionId}-`))
    if (v === undefined) throw Faults.missingParameter("VSwitchId")
    return v
  }

  securityGroup(regionId: string, id: string | undefined, vSwitch: VSwitch): SecurityGroup {
    if (this.topology === undefined) return { id: id ?? derivedId("sg", `${regionId}/default`), vpcId: vSwitch.vpcId }
    if (id === undefined) {
      const sg = this.topology.securityGroups.find((g) => g.vpcId === undefined || g.vpcId === vSwitch.vpcId)
      if (sg === undefined) throw Faults.missingParameter("SecurityGroupId")
      return { id: sg.id, vpcId: sg.vpcId }
    }
    const sg = this.topology.securityGroups.find((g) => g.id === id)
    if (sg === undefined) throw Faults.securityGroupNotFound(id)
    if (sg.vpcId !== undefined && sg.vpcId !== vSwitch.vpcId) throw Faults.securityGroupVpcMismatch(id, vSwitch.id)
    return { id: sg.id, vpcId: sg.vpcId }
  }

  freeAddresses(v: VSwitch): number {
    return v.size - 4 - (this.used.get(v.id)?.size ?? 0)
  }

  /** An address of the vSwitch, or undefined when none is free. */
  allocate(v: VSwitch): string | undefined {
    if (this.freeAddresses(v) <= 0) return undefined
    const used = this.used.get(v.id) ?? new Set<number>()
    this.used.set(v.id, used)
    const first = 1
    const last = v.size - 4 // offsets size-3 .. size-1 are reserved
    let offset = this.cursor.get(v.id) ?? first
    while (used.has(offset)) offset = offset >= last ? first : offset + 1
    used.add(offset)
    this.cursor.set(v.id, offset >= last ? first : offset + 1)
    return formatIp(v.base + offset)
  }

  release(v: VSwitch, ip: string) {
    const parts = ip.split(".").map(Number)
    const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
    this.used.get(v.id)?.delete(n - v.base)
  }

  reset() {
    this.used.clear()
    this.cursor.clear()
  }
}
