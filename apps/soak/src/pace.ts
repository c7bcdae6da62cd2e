import { setTimeout as sleep } from 'node:timers/promises'

/** pause waits up to `maxMs` ms, a random time (0 resolves on the next turn of the loop). */
export function pause(maxMs: number): Promise<void> {
  const ms = Math.floor(Math.random() * (maxMs + 1))
  return ms === 0 ? new Promise((resolve) => setImmediate(resolve)) : sleep(ms)
}

/** runPool runs `task(i)` for i in [0, n) with at most `concurrency` running at once. */
export async function runPool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker))
}

/** settle waits for the loop to run `turns` times, so closes and frees in flight complete. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** collectGarbage runs a full GC when the process has `--expose-gc` (the soak script and the tests do). */
export function collectGarbage(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}
