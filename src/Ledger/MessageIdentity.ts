import { createHash } from "node:crypto"
import type { IncomingMessage, SessionKey } from "../Domain/Message.js"

const sortingKeys = (_key: string, v: unknown): unknown =>
  v !== null && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v

/** Whether `value` holds an object that is not an array (only those have keys to sort). */
const holdsKeyedObject = (value: unknown): boolean =>
  value !== null && typeof value === "object" && (!Array.isArray(value) || value.some(holdsKeyedObject))

/**
 * JSON with object keys sorted, so equal values always serialise to equal text. Without keyed
 * objects (a plain-text message) there is nothing to sort, and JSON.stringify without a replacer
 * is several times faster.
 */
export const canonicalJson = (value: unknown): string =>
  holdsKeyedObject(value) ? JSON.stringify(value, sortingKeys) : JSON.stringify(value)

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")

/**
 * Everything that makes a message this message. Two sends with the same fingerprint in the same
 * session are the same message (a retry); anything else under an existing id is a conflict.
 */
export const messageFingerprint = (key: SessionKey, m: IncomingMessage): string =>
  sha256Hex(
    canonicalJson([
      key.app_id,
      key.project_id,
      key.session_id,
      m.sender_id,
      m.role,
      m.timestamp,
      m.content,
      m.tool_call_id ?? null,
      m.tool_calls ?? null
    ])
  )

/**
 * The id of a message the client sent without one: derived from its identity, so a retried add is
 * recognised even after the first copy was consumed into a memcell, and two different messages
 * differ in at least one hashed field (128 bits of SHA-256 make an accidental clash negligible).
 */
export const derivedMessageId = (fingerprint: string): string => `m_${fingerprint.slice(0, 32)}`

/** Memcell ids are derived from their content too: the same segment can never be stored twice. */
export const memcellIdOf = (key: SessionKey, messageIds: ReadonlyArray<string>): string =>
  `mc_${sha256Hex(canonicalJson([key.app_id, key.project_id, key.session_id, messageIds])).slice(0, 32)}`
