export interface P { k: number; weight: "tf" | "tfidf" | "bin" | "tfidf2"; normMsg: boolean; dropHapax: boolean; smooth: number; minSeg: number; minTrail: number; minDepth: number; minRel: number; sdF: number; refine: boolean; F: number; span: number }
export const sims = (terms: ReadonlyArray<ReadonlyArray<string>>, p: P, k: number) => {
  const n = terms.length
  const df = new Map<string, number>()
  for (const t of terms) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1)
  const vec = terms.map(t => {
    const tf = new Map<string, number>(); for (const w of t) tf.set(w, (tf.get(w) ?? 0) + 1)
    const v = new Map<string, number>(); let nn = 0
    for (const [w, c] of tf) {
      const d = df.get(w)!
      if (p.dropHapax && d === 1) continue
      const x = p.weight === "bin" ? 1 : p.weight === "tf" ? 1 + Math.log(c) : p.weight === "tfidf" ? (1 + Math.log(c)) * Math.log(1 + n / d) : (1 + Math.log(c)) * Math.log(1 + n / d) ** 0.5
      v.set(w, x); nn += x * x
    }
    const wt = p.F > 0 ? Math.min(1, t.length / p.F) : 1
    if (p.normMsg) for (const [w, x] of v) v.set(w, wt * x / Math.sqrt(nn))
    return { v, wt }
  })
  const out: Array<number> = []
  for (let g = 0; g < n - 1; g++) {
    const L = new Map<string, number>(), R = new Map<string, number>()
    for (let m = g, taken = 0; m >= 0 && taken < k - 1e-9 && g - m < p.span * k; m--) { if (vec[m]!.v.size === 0) continue; taken += vec[m]!.wt; for (const [w, x] of vec[m]!.v) L.set(w, (L.get(w) ?? 0) + x) }
    for (let m = g + 1, taken = 0; m < n && taken < k - 1e-9 && m - g - 1 < p.span * k; m++) { if (vec[m]!.v.size === 0) continue; taken += vec[m]!.wt; for (const [w, x] of vec[m]!.v) R.set(w, (R.get(w) ?? 0) + x) }
    let d = 0, a = 0, b = 0; for (const [w, x] of L) { a += x * x; d += x * (R.get(w) ?? 0) } for (const [, x] of R) b += x * x
    out.push(a === 0 || b === 0 ? 0 : d / Math.sqrt(a * b))
  }
  return out
}
export const algo = (p: P) => (terms: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<number> => {
  const n = terms.length
  if (n < 2) return []
  const raw = sims(terms, p, p.k)
  let s = raw
  for (let r = 0; r < p.smooth; r++) s = s.map((_, i) => { const a = s[i - 1], c = s[i + 1]; const xs = [a, s[i]!, c].filter((x): x is number => x !== undefined); return xs.reduce((q, y) => q + y, 0) / xs.length })
  const wide = p.refine ? sims(terms, p, 2 * p.k) : raw
  const found: Array<{ gap: number; depth: number; rel: number }> = []
  for (let g = 0; g < s.length; g++) {
    const v = s[g]!
    if (g > 0 && s[g - 1]! <= v) continue
    if (g + 1 < s.length && s[g + 1]! < v) continue
    let pl = v; for (let j = g - 1; j >= 0 && s[j]! >= pl; j--) pl = s[j]!
    let pr = v; for (let j = g + 1; j < s.length && s[j]! >= pr; j++) pr = s[j]!
    const depth = pl + pr - 2 * v
    if (depth <= 0) continue
    let gap = g
    if (p.refine) {
      let best = g
      for (const c of [g - 1, g + 1]) {
        if (c < 0 || c >= raw.length) continue
        const dr = raw[c]! - raw[best]!
        if (dr < -1e-9 || (Math.abs(dr) <= 1e-9 && wide[c]! < wide[best]! - 1e-9)) best = c
      }
      gap = best
    }
    found.push({ gap, depth, rel: depth / (pl + pr) })
  }
  if (found.length === 0) return []
  const mean = found.reduce((q, v) => q + v.depth, 0) / found.length
  const sd = Math.sqrt(found.reduce((q, v) => q + (v.depth - mean) ** 2, 0) / found.length)
  const cutoff = Math.max(p.minDepth, mean - p.sdF * sd)
  const cuts: Array<number> = []
  for (const { gap } of found.filter(v => v.depth >= cutoff && v.rel >= p.minRel).sort((a, b) => b.depth - a.depth || a.gap - b.gap)) {
    const b = gap + 1
    if (b < p.minSeg || n - b < p.minTrail) continue
    if (cuts.some(c => Math.abs(c - b) < p.minSeg)) continue
    cuts.push(b)
  }
  return cuts.sort((a, b) => a - b)
}
