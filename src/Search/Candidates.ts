import type { Hit, PassageHit } from "./SearchRepo.js"

/** What one retrieval method found, per index, best first. */
export interface Candidates {
  readonly episodes: ReadonlyArray<Hit>
  readonly facts: ReadonlyArray<Hit>
  /** Message windows, best first by their own bm25 plus their episode's (keyword only). */
  readonly passages: ReadonlyArray<PassageHit>
}

export const noCandidates: Candidates = { episodes: [], facts: [], passages: [] }

export const noPassages: ReadonlyArray<PassageHit> = []
