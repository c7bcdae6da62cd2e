import { createServer as createNetServer } from 'node:net'
import { undiciDispatch } from '@roundtrip/core'
import type { Transport } from '../src/index.js'

/** closedPort returns a loopback port that was just open and is now closed: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return address.port
}

/** rejection awaits `promise` and returns what it rejected with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

/** busyCounts returns the total active, waiting and dialing counts of `transport`: all zero when nothing is in flight. */
export function busyCounts(transport: Transport): { active: number; waiting: number; dialing: number } {
  const { active, waiting, dialing } = transport.stats().total
  return { active, waiting, dialing }
}

/** get sends a GET for `url` through `t` and returns the response body as text. */
export async function get(t: Transport, url: string): Promise<string> {
  return (await t.roundTrip(new Request(url))).text()
}

/** deferred returns a promise with its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** direct returns the `init` of a Node fetch whose dispatcher hands every dispatch to the Transport's undici entry point (the path of `toDispatcher`), failing loudly if it is refused. */
export function direct(transport: Transport): RequestInit {
  const dispatcher = {
    dispatch(options: object, handler: object): boolean {
      if (!transport[undiciDispatch](options, handler)) throw new Error('the Transport refused a dispatch it should take')
      return true
    },
  }
  return { dispatcher } as RequestInit
}

/** Runs `body` and returns what was thrown in a microtask meanwhile (rethrowLater), keeping it from vitest's handler. */
export async function rethrown(body: () => Promise<void>): Promise<Error[]> {
  const thrown: Error[] = []
  const saved = process.listeners('uncaughtException')
  const catcher = (error: Error): void => void thrown.push(error)
  process.removeAllListeners('uncaughtException')
  process.on('uncaughtException', catcher)
  try {
    await body()
    await new Promise((r) => setImmediate(r))
  } finally {
    process.off('uncaughtException', catcher)
    for (const listener of saved) process.on('uncaughtException', listener)
  }
  return thrown
}
