import { describe, expect, it } from 'vitest'
import { rethrown } from '../test/util.js'
import { afterTurn, currentTurn, sameTurn } from './turn.js'

/** nextCheck resolves in the check phase after this one, once every immediate queued before it has run. */
function nextCheck(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

describe('the end of the turn', () => {
  it('runs a task waiting for it once the turn of a mark has ended', async () => {
    const mark = currentTurn()
    const seen: boolean[] = []
    afterTurn({ turnEnded: () => seen.push(sameTurn(mark)) })
    expect(sameTurn(mark)).toBe(true)
    await nextCheck()
    expect(seen).toEqual([false])
  })

  it('runs every task of a turn once, in the immediate that ends it, before immediates queued after the turn was marked', async () => {
    const order: string[] = []
    currentTurn()
    // As undici's Client queues `client[kResume]` after each response it completes: after our release marked the turn.
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

  it('runs the other tasks of a turn when one throws, and throws its error again', async () => {
    const order: string[] = []
    const boom = new Error('boom')
    const thrown = await rethrown(async () => {
      afterTurn({
        turnEnded: () => {
          throw boom
        },
      })
      afterTurn({ turnEnded: () => order.push('after the throw') })
      await nextCheck()
    })
    expect(order).toEqual(['after the throw'])
    expect(thrown).toEqual([boom])
  })
})
