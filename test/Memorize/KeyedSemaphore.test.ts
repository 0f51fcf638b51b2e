import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, TestClock } from "effect"
import { makeKeyedSemaphore } from "../../src/Memorize/KeyedSemaphore.js"

describe("KeyedSemaphore", () => {
  it.effect("one holder per key at a time, other keys independent; entries go once nobody holds or waits", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const running: Array<string> = []
      let overlap = false
      const section = (name: string) =>
        Effect.gen(function*() {
          if (running.length > 0) overlap = true
          running.push(name)
          yield* Effect.sleep("1 second")
          running.pop()
          return name
        })
      const fibers = yield* Effect.forEach(["a", "b", "c"], (name) => Effect.fork(semaphores.withPermit("k", section(name))))
      yield* Effect.yieldNow()
      expect(yield* semaphores.size).toBe(1)
      expect(yield* semaphores.withPermit("other", Effect.succeed("free"))).toBe("free")
      yield* TestClock.adjust("3 seconds")
      expect((yield* Effect.forEach(fibers, Fiber.join)).sort()).toEqual(["a", "b", "c"])
      expect(overlap).toBe(false)
      expect(yield* semaphores.size).toBe(0)
    }))

  it.effect("a free permit runs the section at once; a held one gives None without running or waiting", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      expect(yield* semaphores.withFreePermit("k", Effect.succeed("ran"))).toEqual(Option.some("ran"))
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Deferred.await(release)))
      yield* Effect.yieldNow()
      let ran = false
      expect(yield* semaphores.withFreePermit("k", Effect.sync(() => (ran = true)))).toEqual(Option.none())
      expect(ran).toBe(false)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* semaphores.withFreePermit("k", Effect.succeed("again"))).toEqual(Option.some("again"))
      expect(yield* semaphores.size).toBe(0)
    }))

  it.effect("a permit handed to a waiter that is interrupted before it runs goes back, never lost", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Deferred.await(release)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(semaphores.withPermit("k", Effect.succeed("in")))
      yield* Effect.yieldNow()
      // The holder releases (handing the permit on) only after the waiter's interruption is on
      // its way: the waiter may wake up interrupted, holding the permit.
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.join(holder)
      expect(yield* semaphores.withFreePermit("k", Effect.succeed("next"))).toEqual(Option.some("next"))
      expect(yield* semaphores.size).toBe(0)
    }))

  it.effect("an interrupted waiter and an interrupted holder leave nothing behind", () =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const holder = yield* Effect.fork(semaphores.withPermit("k", Effect.never))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(semaphores.withPermit("k", Effect.succeed("never")))
      yield* Effect.yieldNow()
      expect(yield* semaphores.size).toBe(1)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      expect(yield* semaphores.size).toBe(0)
      expect(yield* semaphores.withFreePermit("k", Effect.succeed("free"))).toEqual(Option.some("free"))
    }))
})
