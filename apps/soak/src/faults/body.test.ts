import { beforeAll, describe, expect, it } from 'vitest'
import { SIZES } from '../args.js'
import type { Row } from '../row.js'
import { assertHolds, runFaults } from '../verdicts.js'

// The fault table's body and pool rows at the small size, on the Transport.
let rows: Row[] = []
// The scenario runs here; on a loaded machine it can take far longer than the default hook timeout.
beforeAll(async () => {
  rows = await runFaults(SIZES.small, ['slow-gzip-reader', 'abort-large-gzip', 'origins'])
}, 180_000)

const holds = (id: string): void => assertHolds(rows, id)

describe('fault table (bodies, pools) at the small size', () => {
  it('has a row for each check', () => {
    expect(rows.map((r) => r.id)).toEqual(['slow reader of a gzip body', 'abort part-way through a gzip body', '200 origins, all conns closed'])
  })

  it('keeps a slow reader of a gzip body as far ahead as of an identity body', () => holds('slow reader of a gzip body'))
  it('delivers nothing after an abort part-way through a gzip body', () => holds('abort part-way through a gzip body'))

  it('removes the pool of every origin once its conns are closed', () => holds('200 origins, all conns closed'))
})
