import { compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, scenarioHandler, type Origin } from '../test/servers.js'
import { run, scenarios, type Origins } from '../test/scenarios.js'
import { createFetch } from './create-fetch.js'
import { fromFetch, type FetchFunction } from './from-fetch.js'

// The same scenarios run against Node's global fetch and against createFetch
// over each RoundTripper, on the same loopback servers; what they observe
// (status, headers, body, url, redirected, error class) must be equal.

let a: Origin
let b: Origin
let origins: Origins
const transport = new Transport()
const nodeFetch = globalThis.fetch

beforeAll(async () => {
  b = await listen(scenarioHandler(() => a.url))
  a = await listen(scenarioHandler(() => b.url))
  const gone = await listen(() => {})
  await gone.close()
  origins = { a: a.url, b: b.url, refused: gone.url }
})

afterAll(async () => {
  await transport.close()
  await a.close()
  await b.close()
})

const underneath: Record<string, () => Parameters<typeof createFetch>[0]> = {
  'new Transport()': () => transport,
  'fromFetch(globalThis.fetch)': () => fromFetch(nodeFetch),
  'fromFetch(undici.fetch)': () => fromFetch(undiciFetch as unknown as FetchFunction),
  'compose(new Transport())': () => compose(transport),
}

// Names only: the scenario functions need the origins, known after beforeAll.
const names = Object.keys(scenarios({ a: '', b: '', refused: '' }))

describe.each(Object.keys(underneath))('createFetch(%s) behaves as Node’s fetch', (kind) => {
  it.each(names)('%s', async (name) => {
    const scenario = scenarios(origins)[name]!
    const expected = await run(nodeFetch, scenario)
    const actual = await run(createFetch(underneath[kind]!()), scenario)
    expect(actual).toEqual(expected)
  })
})
