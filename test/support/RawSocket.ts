import { Duration, Effect } from "effect"
import * as Net from "node:net"

/**
 * A hand-written HTTP exchange over a plain TCP socket, for what fetch cannot do: malformed
 * requests, bodies that never finish, one byte every few hundred milliseconds (slowloris).
 */

export interface RawAnswer {
  readonly status: number
  /** The parsed JSON body, or undefined. */
  readonly body: any
  /** Everything the server sent before closing. */
  readonly text: string
}

export interface RawExchangeOptions {
  /** After the initial writes, send one more byte of `drip` this often until the server closes. */
  readonly dripEvery?: Duration.DurationInput
  /** Give up (fail) after this long without the server closing the connection. */
  readonly timeout?: Duration.DurationInput
}

const parse = (text: string): RawAnswer => {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? Number.NaN)
  const bodyText = text.split("\r\n\r\n").slice(1).join("\r\n\r\n")
  let body: unknown = undefined
  try {
    body = JSON.parse(bodyText)
  } catch {
    body = undefined
  }
  return { status, body, text }
}

/** Writes `chunks` to 127.0.0.1:`port`, optionally drips, and resolves with what came back once the server closes. */
export const rawExchange = (port: number, chunks: ReadonlyArray<string | Uint8Array>, options: RawExchangeOptions = {}) =>
  Effect.async<RawAnswer>((resume) => {
    let received = Buffer.alloc(0)
    let drip: NodeJS.Timeout | undefined
    const socket = Net.connect(port, "127.0.0.1", () => {
      for (const chunk of chunks) socket.write(chunk)
      if (options.dripEvery !== undefined) {
        drip = setInterval(() => {
          if (socket.writable) socket.write("x")
        }, Duration.toMillis(options.dripEvery))
      }
    })
    socket.on("data", (data) => (received = Buffer.concat([received, data])))
    socket.on("error", () => {
      // A reset after the answer is part of being cut off; the close handler reports.
    })
    socket.on("close", () => {
      clearInterval(drip)
      resume(Effect.succeed(parse(received.toString("utf8"))))
    })
    return Effect.sync(() => {
      clearInterval(drip)
      socket.destroy()
    })
  }).pipe(Effect.timeoutFail({
    duration: options.timeout ?? Duration.seconds(20),
    onTimeout: () => new Error("the server kept the connection open")
  }), Effect.orDie)
