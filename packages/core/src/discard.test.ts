import { describe, expect, it } from 'vitest'
import { createBody, observeBody, type BodyOutcome } from './body.js'
import { discardResponse } from './discard.js'
import { createResponse } from './response.js'

describe('discardResponse', () => {
  it('cancels a tracked body at once, without making its stream: the producer stops, observers hear cancel', () => {
    const stopped: unknown[] = []
    const outcomes: BodyOutcome[] = []
    const { body } = createBody({ cancel: (reason) => stopped.push(reason) })
    const response = observeBody(createResponse(body, {}), (outcome) => outcomes.push(outcome))
    const reason = new Error('retried')
    discardResponse(response, reason)
    expect(stopped).toEqual([reason])
    expect(outcomes).toEqual(['cancel'])
    // Settled: a second discard does nothing.
    discardResponse(response)
    expect(stopped).toHaveLength(1)
  })

  it("cancels another body's stream with the reason and never waits for it: a tee'd clone's cancel would not settle", async () => {
    const cancelled: unknown[] = []
    let heard!: () => void
    const sourceCancelled = new Promise<void>((resolve) => (heard = resolve))
    const response = new Response(
      new ReadableStream({
        pull() {},
        cancel: (reason) => {
          cancelled.push(reason)
          heard()
        },
      }),
    )
    const clone = response.clone()
    // A tee branch's cancel() settles only once both branches are cancelled: awaiting it here would hang.
    discardResponse(clone, 'gone')
    expect(cancelled).toEqual([])
    discardResponse(response, 'gone')
    await sourceCancelled
    // The source hears both branches' reasons, as the streams spec composes them.
    expect(cancelled).toEqual([['gone', 'gone']])
  })

  it('leaves a response without a body, or with a locked body, as it is', async () => {
    expect(() => discardResponse(new Response(null, { status: 204 }))).not.toThrow()
    let cancelled = false
    const response = new Response(
      new ReadableStream({
        start: (controller) => controller.enqueue(new TextEncoder().encode('held')),
        cancel: () => void (cancelled = true),
      }),
    )
    const reader = response.body!.getReader()
    expect(() => discardResponse(response)).not.toThrow()
    expect(await reader.read()).toMatchObject({ done: false })
    // The reader owns the body: nothing was cancelled behind its back (a stream's cancel reaches its source at once).
    expect(cancelled).toBe(false)
  })
})
