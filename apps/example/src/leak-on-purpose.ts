/**
 * leakOnPurpose is what `--leak` runs after the crawl: the two leaks the
 * leak tracker tells apart, made against the start page's origin, so that
 * the report shows one of each.
 *
 * - Memory only: a small page fetched for its status alone. Its whole body
 *   arrives and the connection goes back to the pool; the unread bytes cost
 *   memory, nothing else (reported because the app lists outstanding bodies).
 * - A connection: large pages left unread on every connection the host may
 *   have, then one more request to it. That request waits for a connection
 *   until the tracker's deadlock breaker cancels the oldest unread page,
 *   reporting it as a leak that held a connection while a request waited.
 *
 * The responses are returned, so that they stay reachable: their leaks are
 * found by the tracker, not by the garbage collector at some later time.
 */
export async function leakOnPurpose(fetch: typeof globalThis.fetch, origin: string, connections: number, signal?: AbortSignal): Promise<Response[]> {
  const init = signal === undefined ? {} : { signal }
  const small = await fetch(new URL('/about', origin), init) // <- leaks memory only: the body is never read
  const held: Response[] = []
  for (let i = 0; i < connections; i++) {
    held.push(await fetch(new URL('/archive', origin), init)) // <- leaks a connection: 1 MB never read
  }
  const waiting = await fetch(new URL('/', origin), init) // waits for one of those connections
  await waiting.text()
  return [small, ...held]
}
