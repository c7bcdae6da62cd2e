import { beforeAll, describe, expect, it } from 'vitest'
import { SIZES } from './args.js'
import { transportClient } from './clients.js'
import type { Row } from './row.js'
import { assertHolds } from './verdicts.js'
import { staleRace } from './stale-race.js'

// The scenario at its small size (100 requests per case), on the Transport only.
let rows: Row[] = []
// The scenario runs here; on a loaded machine it can take far longer than the default hook timeout.
beforeAll(async () => {
  rows = await staleRace(SIZES.small, [() => transportClient()])
}, 180_000)

const holds = (id: string): void => assertHolds(rows, id)

describe('stale race at the small size', () => {
  it('gives a verdict on every case', () => {
    expect(rows.map((r) => [r.id, typeof r.ok])).toEqual(
      ['sequential', 'concurrency 32'].flatMap((mode) =>
        ['GET', 'POST', 'POST Idempotency-Key', 'POST X-Idempotency-Key'].map((kind) => [`${mode} ${kind}`, 'boolean']),
      ),
    )
  })

  it('serves every GET sequentially, retrying those that meet a closed connection', () => holds('sequential GET'))
  it('serves every GET at concurrency 32', () => holds('concurrency 32 GET'))
  it('serves every POST with an Idempotency-Key sequentially', () => holds('sequential POST Idempotency-Key'))
  it('serves every POST with an Idempotency-Key at concurrency 32', () => holds('concurrency 32 POST Idempotency-Key'))

  it('retries every POST the server got nothing of, sequentially', () => holds('sequential POST'))
  it('retries every POST the server got nothing of, at concurrency 32', () => holds('concurrency 32 POST'))
  it('serves every POST with an X-Idempotency-Key sequentially', () => holds('sequential POST X-Idempotency-Key'))
  it('serves every POST with an X-Idempotency-Key at concurrency 32', () => holds('concurrency 32 POST X-Idempotency-Key'))
})
