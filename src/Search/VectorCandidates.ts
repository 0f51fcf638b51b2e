/**
 * Vector candidates: the query's nearest episodes and facts (cosine, by the engine's VectorStore), resolved to
 * in-scope items that pass the filters; and whether vectors can be used at all right now.
 */
import { Effect, Either, Option } from "effect"
import type { FilterTree } from "../Domain/Filters.js"
import type { SearchRequest } from "../Domain/SearchRequest.js"
import { type Neighbour, type VectorKind, vectorOwner, type VectorStoreApi, vectorStateHint } from "../Indexing/VectorStore.js"
import { type Embedder, EmbedderUnavailable } from "../Llm/Embedder.js"
import { type Candidates, noPassages } from "./Candidates.js"
import type { Hit, OwnerScope, SearchRepo } from "./SearchRepo.js"
import { FILTERED_OVERSAMPLING } from "./SearchTuning.js"

const NO_EMBEDDER_HINT =
  "no embedder: ENGRAM_EMBEDDER is off (unset it for the local model, or set ENGRAM_EMBED_BASE_URL, ENGRAM_EMBED_MODEL and ENGRAM_EMBED_DIMENSIONS for an endpoint), or use method keyword"

export const makeVectorCandidates = (repo: SearchRepo, vectors: VectorStoreApi, embedder: Option.Option<typeof Embedder.Service>) => {
  /** The embedder when vectors can be used now, else why not. */
  const vectorReadiness = Effect.gen(function*() {
    if (Option.isNone(embedder)) return Either.left(NO_EMBEDDER_HINT)
    const wanted = { model: embedder.value.model, dimensions: embedder.value.dimensions }
    const state = yield* vectors.state(wanted)
    return state._tag === "Ready" ? Either.right(embedder.value) : Either.left(vectorStateHint(state, wanted))
  })

  /** The neighbours of one kind resolved to in-scope items that pass the filters, nearest first. */
  const vectorList = (
    kind: VectorKind,
    neighbours: ReadonlyArray<Neighbour>,
    scope: OwnerScope,
    request: SearchRequest,
    filters: FilterTree | undefined,
    depth: number
  ) =>
    Effect.gen(function*() {
      const items = new Map(
        (yield* repo.vectorItems(kind, neighbours.map((n) => n.item_key), scope, filters)).map((item) => [item.item_key, item])
      )
      const radius = request.radius ?? -1
      const hits: Array<Hit> = []
      for (const neighbour of neighbours) {
        const item = items.get(neighbour.item_key)
        if (item === undefined || 1 - neighbour.distance < radius) continue
        hits.push({ ...item, similarity: 1 - neighbour.distance })
        if (hits.length >= depth) break
      }
      return hits
    })

  const vectorCandidates = (
    model: typeof Embedder.Service,
    request: SearchRequest,
    scope: OwnerScope,
    filters: FilterTree | undefined,
    depth: number
  ) =>
    Effect.gen(function*() {
      const vector = yield* model.embedQuery(request.query)
      if (vector.length !== model.dimensions) {
        return yield* new EmbedderUnavailable({
          reason: `query vector has ${vector.length} dimensions, expected ${model.dimensions}`,
          retryable: false
        })
      }
      const k = filters === undefined ? depth : depth * FILTERED_OVERSAMPLING
      const ownerOf = (kind: VectorKind) => vectorOwner(scope.app_id, scope.project_id, scope.owner, kind)
      // Both reads at once (see `nearestEach`), sent before this fiber yields to the keyword side.
      const [episodes = [], facts = []] = yield* vectors.nearestEach(
        [{ owner: ownerOf("episode"), k }, { owner: ownerOf("fact"), k }],
        vector,
        vector.length
      )
      const candidates: Candidates = {
        episodes: yield* vectorList("episode", episodes, scope, request, filters, depth),
        facts: yield* vectorList("fact", facts, scope, request, filters, depth),
        passages: noPassages,
        queryVector: vector
      }
      return candidates
    })

  return { vectorReadiness, vectorCandidates } as const
}
