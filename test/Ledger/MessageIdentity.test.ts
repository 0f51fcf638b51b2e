import { describe, expect, it } from "@effect/vitest"
import type { IncomingMessage, SessionKey } from "../../src/Domain/Message.js"
import { canonicalJson, messageFingerprint } from "../../src/Ledger/MessageIdentity.js"

const key = { app_id: "app", project_id: "proj", session_id: "s1" } as unknown as SessionKey

describe("MessageIdentity", () => {
  it("fingerprints stay what they were: stored derived ids and retries depend on them", () => {
    const plain = { sender_id: "alice", role: "user", timestamp: 1_700_000_000_000, content: "héllo \"world\"\n" } as IncomingMessage
    const withParts = {
      sender_id: "bot",
      role: "assistant",
      timestamp: 1_700_000_001_000,
      content: [{ type: "text", text: "hi" }],
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }]
    } as unknown as IncomingMessage
    // Computed by the code before canonicalJson got its fast path (main at 6f49303).
    expect(messageFingerprint(key, plain)).toBe("8d721827ed3b7023a41907f39f43bdd33aa0dda215441d61f84f6e24bde8a8ec")
    expect(messageFingerprint(key, withParts)).toBe("a5f9e6b252e532bccc30d32de91f8eedab67fb7fee1db5455d1a60a51781612b")
  })

  it("canonical JSON sorts the keys of objects at any depth, with or without them", () => {
    expect(canonicalJson([1, "a", null, { b: 1, a: [{ d: 1, c: 2 }] }])).toBe("[1,\"a\",null,{\"a\":[{\"c\":2,\"d\":1}],\"b\":1}]")
    expect(canonicalJson({ z: "last", a: "first" })).toBe("{\"a\":\"first\",\"z\":\"last\"}")
    expect(canonicalJson(["x", [2, [3]], null])).toBe("[\"x\",[2,[3]],null]")
  })
})
