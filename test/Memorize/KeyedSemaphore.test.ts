import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, TestClock } from "effect"
import { makeKeyedSemaphore } from "../../src/Memorize/KeyedSemaphore.js"

class WaitedTooLong {
  readonly _tag = "WaitedTooLong"
}

const waitAtMost = (maxWait: Duration.DurationInput) => ({ maxWait: Duration.decode(maxWait), onTimeout: () => new WaitedTooLong() })

describe("KeyedSemaphore", () => {
  it.effect("one holder per key, waiters let in by order of arrival, other keys independent", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const order: Array<string> = []
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Effect.zipRight(Deferred.await(release), Effect.sync(() => order.push("holder")))))
      yield* Effect.yieldNow()
      const waiters = yield* Effect.forEach(["w1", "w2", "w3"], (name) =>
        Effect.fork(semaphores.withPermit("k", Effect.sync(() => order.push(name)))).pipe(Effect.zipLeft(Effect.yieldNow())))
      expect(yield* semaphores.withPermit("other", Effect.succeed("free"))).toBe("free")
      expect(order).toEqual([])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Effect.forEach(waiters, Fiber.join)
      expect(order).toEqual(["holder", "w1", "w2", "w3"])
      expect(yield* semaphores.size).toBe(0)
    }))

  it.effect("a waiter that gives up leaves the queue; the holder is not cut short and the next waiter gets the permit", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Effect.as(Effect.sleep("10 seconds"), "held")))
      yield* Effect.yieldNow()
      const impatient = yield* Effect.fork(semaphores.withPermitWaitingAtMost("k", waitAtMost("2 seconds"), Effect.succeed("never")))
      const patient = yield* Effect.fork(semaphores.withPermitWaitingAtMost("k", waitAtMost("1 minute"), Effect.succeed("after")))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Effect.flip(Fiber.join(impatient)))._tag).toBe("WaitedTooLong")
      yield* TestClock.adjust("8 seconds")
      expect(yield* Fiber.join(holder)).toBe("held")
      expect(yield* Fiber.join(patient)).toBe("after")
      expect(yield* semaphores.size).toBe(0)
    }))

  it.effect("only the wait is bounded: a section let in after waiting runs past maxWait", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Effect.sleep("3 seconds")))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(semaphores.withPermitWaitingAtMost("k", waitAtMost("5 seconds"), Effect.as(Effect.sleep("10 seconds"), "done")))
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(holder)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(waiter)).toBe("done")
    }))

  it.effect("a permit handed to a waiter that is interrupted before it runs is passed on, never lost", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Deferred.await(release)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(semaphores.withPermit("k", Effect.succeed("in")))
      yield* Effect.yieldNow()
      // The holder releases (handing the permit to the waiter) only after the waiter's
      // interruption is on its way: the waiter wakes up interrupted, holding the permit.
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.join(holder)
      expect(yield* semaphores.withPermit("k", Effect.succeed("next"))).toBe("next")
      expect(yield* semaphores.size).toBe(0)
    }))

  it.effect("an interrupted waiter leaves the queue; an interrupted holder releases", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Effect.never))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(semaphores.withPermit("k", Effect.succeed("never")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      expect(yield* semaphores.size).toBe(0)
      expect(yield* semaphores.withPermitWaitingAtMost("k", waitAtMost("1 second"), Effect.succeed("free"))).toBe("free")
    }))
})
