import type { Size } from '../args.js'
import { transportClient } from '../clients.js'
import { formatRow, type Row } from '../row.js'
import { FAULTS } from './index.js'

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

/** verdict finds a row by id and returns whether it holds, with the printed row as the message of a failed check. */
export function verdict(rows: readonly Row[], id: string): { ok: boolean | undefined; line: string } {
  const row = rows.find((r) => r.id === id && r.ok !== undefined)
  if (row === undefined) throw new Error(`no row ${id} among ${rows.map((r) => r.id).join(', ')}`)
  return { ok: row.ok, line: formatRow(row) }
}
