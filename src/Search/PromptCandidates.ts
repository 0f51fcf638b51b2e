import type { SearchEpisode } from "../Domain/SearchRequest.js"
import type { SearchCandidate } from "../Llm/Prompts.js"

/** Characters of an episode's matching turns shown to a search prompt: enough to judge, bounded per candidate. */
const EXCERPT_CHARS = 600

/** Episodes as numbered prompt candidates (1-based, in the given order): date, subject, summary, matching turns. */
export const episodeCandidates = (episodes: ReadonlyArray<SearchEpisode>): ReadonlyArray<SearchCandidate> =>
  episodes.map((episode, i) => {
    const excerpt = episode.episode.length > EXCERPT_CHARS ? `${episode.episode.slice(0, EXCERPT_CHARS)}…` : episode.episode
    const date = new Date(episode.timestamp).toISOString().slice(0, 10)
    return { n: i + 1, text: `(${date}) ${episode.subject}. ${episode.summary} | ${excerpt}` }
  })
