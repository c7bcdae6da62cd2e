/**
 * Row is one line of figures: what was measured, by which client, and, for
 * the client under test, whether the figure is what issue 18 asks for.
 */
export interface Row {
  /** The scenario that produced it: `stale-race`, `aborts` or `faults`. */
  scenario: string
  /** A stable id within the scenario (`sequential POST`, `1xx 103`…): the test finds rows by it. */
  id: string
  /** The item of issue 18 the row checks, when it checks one. */
  item?: number
  /** The client measured (`transport`, `create-fetch`, `node-fetch`, `undici-fetch`). */
  client: string
  /** The figures, as printed. */
  figures: string
  /** What the figures must show for the client under test. */
  expected?: string
  /** The verdict; undefined for a comparison column (no verdict is given on other clients). */
  ok?: boolean
}

/** formatRow prints a row as one line: verdict, scenario, id, client, figures, expectation. */
export function formatRow(row: Row): string {
  const verdict = row.ok === undefined ? '  · ' : row.ok ? ' ok ' : 'FAIL'
  const item = row.item === undefined ? '' : ` (#18.${row.item})`
  const expected = row.expected === undefined ? '' : `  [expected: ${row.expected}]`
  return `${verdict} ${row.scenario.padEnd(10)} ${`${row.id}${item}`.padEnd(34)} ${row.client.padEnd(12)} ${row.figures}${expected}`
}

/** tally counts strings (error codes) as `CODE ×n, OTHER ×m`, most frequent first. */
export function tally(values: readonly string[]): string {
  if (values.length === 0) return 'none'
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([v, n]) => `${v} ×${n}`)
    .join(', ')
}

/** mib formats a byte count in MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
