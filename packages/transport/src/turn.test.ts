import { describe, expect, it } from 'vitest'
import { afterTurn, currentTurn, expectWaits, sameTurn } from './turn.js'

/** nextCheck resolves in the check phase after this one, once every immediate queued before it has run. */
function nextCheck(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

describe('the end of the turn', () => {
  it('tells a mark of the running turn from one of a turn the loop has polled since', async () => {
    const mark = currentTurn()
    expect(sameTurn(mark)).toBe(true)
    // The check phase of this iteration, then that of the next: a poll phase came in between.
    await nextCheck()
    await nextCheck()
    expect(sameTurn(mark)).toBe(false)
    expect(sameTurn(currentTurn())).toBe(true)
  })

  it('runs a task waiting for the end of the turn in its check phase, once the turn of a mark made before has ended', async () => {
    const mark = currentTurn()
    const seen: boolean[] = []
    afterTurn({ turnEnded: () => seen.push(sameTurn(mark)) })
    expect(seen).toEqual([])
    await nextCheck()
    expect(seen).toEqual([false])
  })

  it('runs every task of a turn once, in the immediate that ends it, before immediates queued after a release expected them', async () => {
    const order: string[] = []
    // As a release does when a request in its turn would wait, before undici's Client queues `client[kResume]` after the response.
    expectWaits()
    setImmediate(() => order.push('queued after the mark'))
    afterTurn({ turnEnded: () => order.push('first task') })
    afterTurn({ turnEnded: () => order.push('second task') })
    await nextCheck()
    expect(order).toEqual(['first task', 'second task', 'queued after the mark'])
  })

  it('runs a task added while the tasks of a turn run once the next turn has ended', async () => {
    const order: string[] = []
    afterTurn({
      turnEnded: () => {
        order.push('first turn')
        afterTurn({ turnEnded: () => order.push('next turn') })
      },
    })
    await nextCheck()
    expect(order).toEqual(['first turn'])
    await nextCheck()
    expect(order).toEqual(['first turn', 'next turn'])
  })
})
