/**
 * Two SVG charts written as text (no dependency): pods Running over time during the burst, and the
 * CDF of create→Running latency, one line per system. Both x axes are logarithmic — the systems differ
 * by orders of magnitude, and a linear axis would flatten the fast ones into the y axis.
 */

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

const COLORS = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b"]
const W = 760
const H = 420
const M = { l: 70, r: 170, t: 40, b: 50 }

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const niceLogTicks = (lo: number, hi: number) => {
  const ticks: Array<number> = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (v >= lo && v <= hi) ticks.push(v)
    }
  }
  return ticks
}

const fmtTick = (v: number) => (v >= 1000 ? `${Number((v / 1000).toPrecision(2))}k` : String(Number(v.toPrecision(2))))

/** A line chart with a log x axis and a linear y axis. Points with x ≤ 0 are moved to the axis' left end. */
export const lineChart = (o: {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series>
  readonly yMax?: number
  readonly step?: boolean
}): string => {
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0])).filter((x) => x > 0)
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]))
  const xLo = Math.max(1e-3, xs.length === 0 ? 0.1 : Math.min(...xs) * 0.8)
  const xHi = xs.length === 0 ? 10 : Math.max(...xs) * 1.25
  const yHi = o.yMax ?? Math.max(1, ...ys) * 1.05
  const pw = W - M.l - M.r
  const ph = H - M.t - M.b
  const sx = (x: number) => M.l + ((Math.log10(Math.max(x, xLo)) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * pw
  const sy = (y: number) => M.t + ph - (y / yHi) * ph
  const parts: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.r / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`
  ]
  for (const t of niceLogTicks(xLo, xHi)) {
    const x = sx(t).toFixed(1)
    parts.push(`<line x1="${x}" y1="${M.t}" x2="${x}" y2="${M.t + ph}" stroke="#eee"/>`, `<text x="${x}" y="${M.t + ph + 16}" text-anchor="middle">${fmtTick(t)}</text>`)
  }
  for (let i = 0; i <= 5; i++) {
    const v = (yHi * i) / 5
    const y = sy(v).toFixed(1)
    parts.push(`<line x1="${M.l}" y1="${y}" x2="${M.l + pw}" y2="${y}" stroke="#eee"/>`, `<text x="${M.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${yHi <= 1.05 ? v.toFixed(1) : Math.round(v)}</text>`)
  }
  parts.push(
    `<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(18 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`
  )
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string
    const pts: Array<string> = []
    let prevY: number | undefined
    for (const [x, y] of s.points) {
      if (o.step === true && prevY !== undefined) pts.push(`${sx(x).toFixed(1)},${sy(prevY).toFixed(1)}`)
      pts.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      prevY = y
    }
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`)
    const ly = M.t + 14 + i * 20
    parts.push(`<line x1="${W - M.r + 12}" y1="${ly}" x2="${W - M.r + 36}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${W - M.r + 42}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`)
  })
  parts.push("</svg>")
  return parts.join("\n")
}

/** CDF points from ascending samples: (value, fraction ≤ value). */
export const cdf = (asc: ReadonlyArray<number>): Array<readonly [number, number]> =>
  asc.map((v, i) => [Math.max(v, 0.5), (i + 1) / asc.length] as const)
