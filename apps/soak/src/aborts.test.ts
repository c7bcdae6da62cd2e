import { beforeAll, describe, expect, it } from 'vitest'
import { aborts } from './aborts.js'
import { SIZES } from './args.js'
import type { Row } from './row.js'
import { assertHolds } from './verdicts.js'

// The scenario at its small size: 200 requests aborted at random points.
let rows: Row[] = []
// The scenario runs here; on a loaded machine it can take far longer than the default hook timeout.
beforeAll(async () => {
  rows = await aborts(SIZES.small)
}, 180_000)

const holds = (id: string): void => assertHolds(rows, id)

describe('aborts at the small size', () => {
  it('reports every figure', () => {
    expect(rows.map((r) => r.id)).toEqual(['rejection is signal.reason', 'nothing after the abort', 'nothing left open', 'memory'])
  })

  it('rejects every aborted request and body with exactly signal.reason', () => holds('rejection is signal.reason'))
  it('leaves no socket on the server and no handle once the transports are closed', () => holds('nothing left open'))

  it('delivers no byte of a body still arriving after the abort (encoded bodies too)', () =>
    holds('nothing after the abort'))
})
