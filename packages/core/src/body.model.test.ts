// A model-based test of the body lifecycle (body-state.ts): fast-check plays
// random interleavings of producer events (chunk, end, error), consumer
// events (read, arrayBuffer, cancel, clone), aborts, check phases and
// garbage collection, and checks after each run that
// - an observed body settled exactly once, with an outcome that matches
//   what happened (end only if the producer ended, error only if it failed…);
// - the connection was released exactly once: the producer either finished
//   by itself or was told to cancel, once, and never after it finished;
// - every read saw exactly the produced bytes (a prefix, then the end) or
//   failed with a coded error (the producer's, the abort reason,
//   RT_BODY_COLLECTED), and no read was left waiting once the producer ended.
//
// Collection is driven by the model through a registry put in place of the
// FinalizationRegistry (a real GC per step would cost milliseconds). The
// model collects an owner only when the real one would be unreachable:
// a clone as soon as the test drops it (nothing in core holds a clone), the
// original once it is dropped and either no stream was ever opened on its
// body or every response is dropped and no stream read is outstanding (a
// stream read holds the original through the stream). lifecycle.test.ts
// checks the same paths against the real collector.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { abortBody, createBody, observeBody, type BodyOutcome, type BodySink } from './body.js'
import { isBodyComplete } from './body-unread.js'
import { isRoundTripError } from './errors.js'
import { setRegistryForTests, type GcWatched, type Registry } from './gc-watch.js'
import { createResponse } from './response.js'

/** The registry the model drives: `collect` calls back the registrations of the owners given. */
class ModelRegistry implements Registry {
  entries: Array<{ owner: object; target: GcWatched }> = []
  register(owner: object, target: GcWatched): void {
    this.entries.push({ owner, target })
  }
  unregister(token: GcWatched): void {
    this.entries = this.entries.filter((e) => e.target !== token)
  }
  collect(owners: Set<object>): void {
    const hit = this.entries.filter((e) => owners.has(e.owner))
    this.entries = this.entries.filter((e) => !owners.has(e.owner))
    for (const e of hit) e.target.collected()
  }
}

const registry = new ModelRegistry()
/** The outcomes the runs against the real collector ended with. */
const realOutcomes: BodyOutcome[] = []

type Command =
  | { kind: 'push'; size: number }
  | { kind: 'end' | 'error' | 'abort' | 'tick' | 'gc' | 'observe' }
  | { kind: 'read' | 'arrayBuffer' | 'cancel' | 'clone' | 'drop'; handle: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), size: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('end' as const, 'error' as const, 'abort' as const, 'observe' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('tick' as const, 'gc' as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('read' as const, 'arrayBuffer' as const, 'cancel' as const, 'clone' as const, 'drop' as const),
      handle: fc.nat({ max: 3 }),
    }),
  },
)

/** A response the model holds: the original (index 0) or a clone. */
interface Handle {
  response: Response | undefined
  /** The response once the model let go of it: what the registry is asked to collect. */
  dropped: Response | undefined
  mode: 'fresh' | 'reader' | 'whole' | 'cancelled'
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  /** Bytes read so far, each checked on arrival. */
  got: number
  done: boolean
  whole: Uint8Array | undefined
  error: unknown
  /** A byte read was not the one produced at its position. */
  corrupt: boolean
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const HWM = 64
// Made once: an Error's stack costs more than a whole run.
const producerError = Object.assign(new Error('connection reset'), { code: 'MODEL_PRODUCER' })
const abortReason = Object.assign(new Error('reclaimed'), { code: 'MODEL_ABORT' })
const cancelReason = new Error('not interested')
const allowedCodes = new Set(['MODEL_PRODUCER', 'MODEL_ABORT', 'RT_BODY_COLLECTED'])

/** The byte produced at position `i` of the body: the model checks bytes by position, not by copies. */
const byteAt = (i: number): number => (i * 7 + 3) & 255

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`)
}

/** Runs the real collector and the check phases that follow (tests run with --expose-gc). */
async function realGc(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    ;(globalThis as { gc?: () => void }).gc!()
    await tick()
  }
}

/**
 * Plays one scenario; throws on a broken invariant. With `real`, the
 * FinalizationRegistry and the collector are the real ones, and the model
 * keeps no reference to what it drops.
 */
async function play(commands: Command[], observedAtStart: boolean, real = false): Promise<void> {
  let produced = 0
  let finished: 'end' | 'error' | undefined
  const cancels: Array<{ reason: unknown; afterFinish: boolean }> = []
  const outcomes: BodyOutcome[] = []
  const happened = { cancel: false, abort: false, gc: false }
  const broken: unknown[] = []
  let observed = false
  let inFlight = 0

  const { body, sink } = createBody(
    { cancel: (reason) => void cancels.push({ reason, afterFinish: finished !== undefined }) },
    { highWaterMark: HWM },
  )
  const fresh = (response: Response): Handle => ({
    response,
    dropped: undefined,
    mode: 'fresh',
    reader: undefined,
    got: 0,
    done: false,
    whole: undefined,
    error: undefined,
    corrupt: false,
  })
  const handles: Handle[] = [fresh(createResponse(body, {}))]
  const settled = (): void => void inFlight--
  // A cancel of an errored stream rejects with its error (not a read), but never with an internal error.
  const rejected = (e: unknown): void => {
    inFlight--
    if (String(e).includes('internal error')) broken.push(e)
  }
  const track = (p: Promise<unknown>): void => {
    inFlight++
    p.then(settled, rejected)
  }
  const observe = (response: Response): void => {
    observed = true
    observeBody(response, (outcome) => void outcomes.push(outcome))
  }
  if (observedAtStart) observe(handles[0]!.response!)

  function collectible(): Set<object> {
    const owners = new Set<object>()
    for (let i = 1; i < handles.length; i++) if (handles[i]!.dropped !== undefined) owners.add(handles[i]!.dropped!)
    const original = handles[0]!
    if (original.response === undefined) {
      const streamOpened = handles.length > 1 || original.mode === 'reader' || original.mode === 'cancelled'
      const allDropped = handles.every((h) => h.response === undefined)
      if (!streamOpened || (allDropped && inFlight === 0)) owners.add(original.dropped!)
    }
    return owners
  }

  const run = async (c: Command): Promise<void> => {
    switch (c.kind) {
      case 'push': {
        if (finished !== undefined) return
        // Accepted only while the body is open; the producer may race a cancel.
        const accepted = sink.outcome === undefined
        const chunk = new Uint8Array(c.size)
        for (let i = 0; i < c.size; i++) chunk[i] = byteAt(produced + i)
        sink.push(chunk)
        if (accepted) produced += c.size
        return
      }
      case 'end':
      case 'error':
        if (finished !== undefined) return
        finished = c.kind
        if (c.kind === 'end') sink.end()
        else sink.error(producerError)
        return
      case 'abort': {
        const live = handles.find((h) => h.response !== undefined)
        if (live !== undefined && abortBody(live.response!, abortReason)) happened.abort = true
        return
      }
      case 'observe': {
        const live = handles.find((h) => h.response !== undefined)
        if (!observed && live !== undefined) observe(live.response!)
        return
      }
      case 'tick':
        return tick()
      case 'gc':
        happened.gc = true
        return real ? realGc() : registry.collect(collectible())
    }
    const h = handles[c.handle % handles.length]!
    const response = h.response
    if (response === undefined) return
    switch (c.kind) {
      case 'read':
        if (h.mode === 'fresh') {
          h.reader = response.body!.getReader()
          h.mode = 'reader'
        }
        if (h.mode !== 'reader' || h.done) return
        return track(
          h.reader!.read().then(
            (r) => {
              if (r.done) return void (h.done = true)
              for (const byte of r.value) if (byte !== byteAt(h.got++)) h.corrupt = true
            },
            (e: unknown) => void (h.error = e),
          ),
        )
      case 'arrayBuffer':
        if (h.mode !== 'fresh') return
        h.mode = 'whole'
        return track(
          response.arrayBuffer().then(
            (b) => void (h.whole = new Uint8Array(b)),
            (e: unknown) => void (h.error = e),
          ),
        )
      case 'cancel':
        if (h.mode === 'fresh') track(response.body!.cancel(cancelReason))
        else if (h.mode === 'reader') track(h.reader!.cancel(cancelReason))
        else return
        h.mode = 'cancelled'
        happened.cancel = true
        return
      case 'clone':
        if (h.mode === 'fresh') handles.push(fresh(response.clone()))
        return
      case 'drop':
        if (!real) h.dropped = response
        h.response = undefined
        h.reader = undefined
        return
    }
  }

  // isBodyComplete: a body is complete exactly when it ended and nobody read it (a clone's tee may read it; then false is allowed).
  const checkComplete = (): void => {
    for (const h of handles) {
      if (h.response === undefined) continue
      const unread = finished === 'end' && h.mode === 'fresh' && sink.outcome === undefined
      const complete = isBodyComplete(h.response)
      check(!complete || unread, 'complete, but the producer has not ended or someone read the body')
      check(complete || !unread || handles.length > 1, 'ended and unread, but not complete')
    }
  }
  for (const c of commands) {
    await run(c)
    checkComplete()
  }

  // Wind down as a program would: everything is let go, the producer
  // finishes if it has not, and the collector runs until nothing is left.
  await tick()
  happened.gc = true
  for (let i = 0; i < handles.length; i++) await run({ kind: 'drop', handle: i })
  await run({ kind: 'gc' })
  if (finished === undefined) await run({ kind: 'end' })
  // Reads settle in microtasks; a read still waiting after many turns waits for good.
  for (let i = 0; i < 100 && inFlight > 0; i++) await null
  await run({ kind: 'gc' })

  check(broken.length === 0, `internal error: ${String(broken[0])}`)
  check(inFlight === 0, 'a read never settled')
  // The connection was released exactly once.
  check(cancels.length <= 1, 'the producer was cancelled more than once')
  check(cancels.every((c) => !c.afterFinish), 'the producer was cancelled after it finished')
  check(finished !== undefined || cancels.length === 1, 'the producer neither finished nor was cancelled')
  // Exactly one outcome for an observed body, matching what happened.
  if (observed) {
    check(outcomes.length === 1, `outcomes reported: [${outcomes.join(', ')}]`)
    const outcome = outcomes[0]!
    check(outcome !== 'end' || finished === 'end', 'end without the producer ending')
    check(outcome !== 'error' || finished === 'error', 'error without the producer failing')
    check(outcome !== 'cancel' || happened.cancel || happened.abort, 'cancel without a cancel or an abort')
    check(outcome !== 'collected' || happened.gc, 'collected without a collection')
    check(sink.outcome === outcome, 'sink.outcome differs from the outcome reported')
    if (real) realOutcomes.push(outcome)
  } else {
    check(outcomes.length === 0, 'an outcome reported to nobody')
  }
  // Every read saw the produced bytes, in order, or failed with a coded error.
  for (const h of handles) {
    check(!h.corrupt && h.got <= produced, 'bytes read are not the produced bytes')
    check(!h.done || h.mode === 'cancelled' || h.got === produced, 'a read ended short')
    if (h.whole !== undefined) {
      check(h.whole.length === produced, 'arrayBuffer() is not the whole body')
      for (let i = 0; i < h.whole.length; i++) if (h.whole[i] !== byteAt(i)) check(false, 'arrayBuffer() bytes differ')
    }
    if (h.error !== undefined) {
      const code = (h.error as { code?: unknown }).code
      check(allowedCodes.has(String(code)) || isRoundTripError(h.error), `uncoded read error: ${String(h.error)}`)
    }
  }
}

// About 2 s of CPU for the 10,000 runs and 1 s for the dozen real-GC runs;
// the timeouts leave room for a machine shared with other test processes.
describe('the body lifecycle (model)', () => {
  let previous: Registry | undefined
  beforeAll(() => {
    previous = setRegistryForTests(registry)
  })
  afterAll(() => {
    setRegistryForTests(previous!)
  })

  it('keeps its invariants over random interleavings of producer, consumer, abort and collection events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 20 }), fc.boolean(), (commands, observedAtStart) =>
        play(commands, observedAtStart),
      ),
      { numRuns: 10_000 },
    )
  }, 60_000)
})

describe('the body lifecycle (model, real garbage collector)', () => {
  it('keeps its invariants when the real collector decides what is unreachable', async () => {
    // A dozen runs only: each full GC costs milliseconds. The 10,000 runs above
    // check the interleavings; these check the model's idea of reachability.
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 16 }), fc.boolean(), (commands, observedAtStart) =>
        play(commands, observedAtStart, true),
      ),
      // A fixed seed: the same scenarios each time, so that the check below is stable.
      { numRuns: 12, seed: 20261201 },
    )
    // The runs did reach the collector, not only ends and cancels.
    expect(realOutcomes).toContain('collected')
  }, 60_000)
})
