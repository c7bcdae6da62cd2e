import { createFetch } from './create-fetch.js'

/**
 * fetch is a ready drop-in for Node's global `fetch` over the shared default
 * `Transport`. Replace the global with it to route code that calls `fetch`
 * unaware through the pool: `globalThis.fetch = fetch`.
 */
export const fetch: typeof globalThis.fetch = createFetch()
