// Scenario 3, the fault table: one row (or a few) per defect of issue 18,
// each against a server built to show it, with its figure and verdict.
import type { Size } from '../args.js'
import type { ClientFactory } from '../clients.js'
import type { Row } from '../row.js'
import { abortLargeGzip, slowGzipReader } from './encoded-body.js'
import { interim } from './interim.js'
import { longDurations } from './long-durations.js'
import { origins } from './origins.js'
import { protocolCodes } from './protocol-codes.js'
import { redirectCredentials } from './redirect-credentials.js'
import { truncatedGzip } from './truncated-gzip.js'
import { unsolicited } from './unsolicited.js'
import { unwrittenRetry } from './unwritten-retry.js'

/** FAULTS lists the rows of the table in the order, by the item they check. */
export const FAULTS: { item: number; name: string; run: (size: Size, clients: readonly ClientFactory[]) => Promise<Row[]> }[] = [
  { item: 1, name: 'interim', run: (_size, clients) => interim(clients) },
  { item: 2, name: 'slow-gzip-reader', run: slowGzipReader },
  { item: 2, name: 'abort-large-gzip', run: abortLargeGzip },
  { item: 3, name: 'unwritten-retry', run: unwrittenRetry },
  { item: 4, name: 'origins', run: (size) => origins(size) },
  { item: 5, name: 'truncated-gzip', run: (_size, clients) => truncatedGzip(clients) },
  { item: 6, name: 'redirect-credentials', run: (_size, clients) => redirectCredentials(clients) },
  { item: 7, name: 'long-durations', run: () => longDurations() },
  { item: 8, name: 'protocol-codes', run: (_size, clients) => protocolCodes(clients) },
  { item: 9, name: 'unsolicited', run: unsolicited },
]

/** faults runs every row of the table, handing the rows of each fault to `onRow` as it ends. */
export async function faults(size: Size, clients: readonly ClientFactory[], onRow: (row: Row) => void = () => {}): Promise<Row[]> {
  const rows: Row[] = []
  for (const fault of FAULTS) {
    const done = await fault.run(size, clients)
    done.forEach(onRow)
    rows.push(...done)
  }
  return rows
}
