import type { Size } from './args.js'
import { transportClient } from './clients.js'
import { FAULTS } from './faults/index.js'
import { formatRow, type Row } from './row.js'

/** runFaults runs the named rows of the fault table on the Transport alone and returns a lookup of verdicts. */
export async function runFaults(size: Size, names: readonly string[]): Promise<Row[]> {
  const rows: Row[] = []
  for (const name of names) {
    const fault = FAULTS.find((f) => f.name === name)
    if (fault === undefined) throw new Error(`no fault named ${name}`)
    rows.push(...(await fault.run(size, [() => transportClient()])))
  }
  return rows
}

/**
 * assertHolds finds the row `id` that has a verdict and throws, with the
 * printed row as the message, unless the verdict is ok (the tests' one check).
 */
export function assertHolds(rows: readonly Row[], id: string): void {
  const row = rows.find((r) => r.id === id && r.ok !== undefined)
  if (row === undefined) throw new Error(`no row ${id} among ${rows.map((r) => r.id).join(', ')}`)
  if (row.ok !== true) throw new Error(`not as expected: ${formatRow(row)}`)
}
