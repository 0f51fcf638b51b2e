import type { Hit, PassageHit } from "./SearchRepo.js"

/** What one retrieval method found, per index, best first. */
export interface Candidates {
  readonly episodes: ReadonlyArray<Hit>
  readonly facts: ReadonlyArray<Hit>
  /** Message windows, best first by their own bm25 plus their episode's (keyword only). */
  readonly passages: ReadonlyArray<PassageHit>
  /** The best window's own bm25 (keyword only; 0 when none matched): the scale fact lines are scored on. */
  readonly passageBm25Best?: number | undefined
  /** The query's embedding, when vectors ran: the chosen episodes' windows are ranked by it too. */
  readonly queryVector?: Float32Array | undefined
}

export const noCandidates: Candidates = { episodes: [], facts: [], passages: [] }

export const noPassages: ReadonlyArray<PassageHit> = []
