import { afterEach } from 'vitest'

/**
 * useClosing registers an afterEach that closes, newest first, whatever the
 * test handed to the returned `track` (servers, dispatchers, RoundTrippers,
 * proxy processes), and returns `track`, which hands its argument back.
 */
export function useClosing(): <T extends { close(): Promise<void> }>(value: T) => T {
  const closing: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    for (const c of closing.splice(0).reverse()) await c.close()
  })
  return (value) => {
    closing.push(value)
    return value
  }
}
