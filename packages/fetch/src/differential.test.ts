import { compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { FormData as UndiciFormData, Headers as UndiciHeaders, Request as UndiciRequest, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, scenarioHandler, type Origin } from '../test/servers.js'
import { KNOWN_DIFFERENCES, NODE20_DIFFERS, SPEC_OVER_UNDICI7, bundledBeforeUndici7, run, scenarios, type Kit, type Origins } from '../test/scenarios.js'
import { createFetch } from './create-fetch.js'
import { fromFetch, type FetchFunction } from './from-fetch.js'

// The same scenarios run against npm undici 7's fetch (the reference: newer
// and stricter than the one bundled with Node 20), Node's global fetch and
// createFetch over each RoundTripper, on the same loopback servers; what they
// observe (status, headers, body, url, redirected, error class and cause)
// must be equal. Where Node 20's fetch differs from undici 7, NODE20_DIFFERS
// says so and why, and createFetch follows undici 7; where undici 7 departs
// from the spec it implements, SPEC_OVER_UNDICI7 says so and we follow the
// spec.

let a: Origin
let b: Origin
let origins: Origins
const transport = new Transport()
const nodeFetch = globalThis.fetch
const reference = undiciFetch as unknown as typeof globalThis.fetch
const undiciKit: Kit = {
  Request: UndiciRequest as unknown as typeof Request,
  FormData: UndiciFormData as unknown as typeof FormData,
  Headers: UndiciHeaders as unknown as typeof Headers,
}

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

describe('Node’s fetch behaves as undici 7’s, except where NODE20_DIFFERS says', () => {
  it.each(names.filter((name) => NODE20_DIFFERS[name]?.applies === false || (!(name in NODE20_DIFFERS) && !(name in SPEC_OVER_UNDICI7))))('%s', async (name) => {
    const scenario = scenarios(origins)[name]!
    expect(await run(nodeFetch, scenario)).toEqual(await run(reference, scenario, undiciKit))
  })
})

/** Which scenarios a RoundTripper cannot match, by design or not yet. */
function differs(kind: string, name: string): boolean {
  // Node's fetch underneath brings its own behaviour where it differs from undici 7's.
  const node = NODE20_DIFFERS[name]
  if (kind === 'fromFetch(globalThis.fetch)' && bundledBeforeUndici7 && node?.below === true && node.applies !== false) return true
  if (name in SPEC_OVER_UNDICI7) return true
  const known = KNOWN_DIFFERENCES[name]
  return known !== undefined && known.applies !== false && (known.under === 'any' || known.under.some((under) => kind.includes(under)))
}

describe.each(Object.keys(underneath))('createFetch(%s) behaves as undici 7’s fetch', (kind) => {
  it.each(names)('%s', async (name) => {
    const scenario = scenarios(origins)[name]!
    const expected = await run(reference, scenario, undiciKit)
    const actual = await run(createFetch(underneath[kind]!()), scenario)
    if (differs(kind, name)) expect(actual).not.toEqual(expected)
    else expect(actual).toEqual(expected)
  })
})
