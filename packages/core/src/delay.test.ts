import { describe, expect, it } from 'vitest'
import { delay } from './delay.js'

describe('delay', () => {
  it('resolves after the time', async () => {
    await expect(delay(1, new AbortController().signal)).resolves.toBeUndefined()
  })

  it('rejects with the signal reason when aborted first, and at once when already aborted', async () => {
    const controller = new AbortController()
    const waiting = delay(60_000, controller.signal)
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    await expect(delay(60_000, controller.signal)).rejects.toBe(reason)
  })
})
