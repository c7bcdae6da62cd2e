// Scenario 1, the stale race: a server that, after one response in four,
// closes the keep-alive socket a random 0–3 ms later, with no Keep-Alive
// hint, while the client sends its next request after a random 0–1 ms.
// Many requests meet a socket the server is closing. A request that never reached the server
// must be retried, whatever its method (issue 18 item 3); one that did
// reach it may fail only when it is not replayable.
import type { Size } from './args.js'
import { errorCode, type ClientFactory } from './clients.js'
import { pause, runPool } from './pace.js'
import { tally, type Row } from './row.js'
import { startClosingServer } from './servers.js'

interface Kind {
  label: string
  method: 'GET' | 'POST'
  key?: 'idempotency-key' | 'x-idempotency-key'
  item?: number
}

const KINDS: Kind[] = [
  { label: 'GET', method: 'GET' },
  { label: 'POST', method: 'POST', item: 3 },
  { label: 'POST Idempotency-Key', method: 'POST', key: 'idempotency-key' },
  { label: 'POST X-Idempotency-Key', method: 'POST', key: 'x-idempotency-key', item: 3 },
]

/**
 * staleRace runs every kind of request sequentially and at
 * `staleConcurrency`, once per client, handing each row to `onRow` as its
 * case ends (a full run takes minutes).
 */
export async function staleRace(size: Size, clients: readonly ClientFactory[], onRow: (row: Row) => void = () => {}): Promise<Row[]> {
  const rows: Row[] = []
  for (const concurrency of [1, size.staleConcurrency]) {
    for (const kind of KINDS) {
      for (const client of clients) {
        const row = await staleCase(size.staleRequests, concurrency, kind, client)
        onRow(row)
        rows.push(row)
      }
    }
  }
  return rows
}

async function staleCase(n: number, concurrency: number, kind: Kind, factory: ClientFactory): Promise<Row> {
  const server = await startClosingServer(() => (Math.random() < 0.25 ? Math.random() * 3 : Infinity))
  const client = factory()
  const failures: { id: number; code: string }[] = []
  let wrong = 0
  try {
    await runPool(n, concurrency, async (id) => {
      await pause(1)
      const headers: Record<string, string> = { 'x-soak-id': String(id) }
      if (kind.key !== undefined) headers[kind.key] = `key-${id}`
      const body = kind.method === 'POST' ? 'x'.repeat(64 + (id % 64)) : undefined
      const expected = body === undefined ? `${id}` : `${id}:${body.length}`
      try {
        const response = await client.fetch(`${server.origin}/${id}`, { method: kind.method, headers, ...(body === undefined ? {} : { body }) })
        if ((await response.text()) !== expected) wrong++
      } catch (error) {
        failures.push({ id, code: errorCode(error) })
      }
    })
  } finally {
    await client.close()
    await server.close()
  }
  const reached = failures.filter((f) => (server.received.get(f.id) ?? 0) > 0).length
  const unsent = failures.length - reached
  const mode = concurrency === 1 ? 'sequential' : `concurrency ${concurrency}`
  const row: Row = {
    scenario: 'stale-race',
    id: `${mode} ${kind.label}`,
    client: client.name,
    figures:
      `${n} requests: ${failures.length} failed (${tally(failures.map((f) => f.code))}), ${wrong} wrong bodies; ` +
      `failed requests the server got bytes of: ${reached}, got nothing of: ${unsent}; races lost on the server side: ${server.raced}`,
  }
  if (kind.item !== undefined) row.item = kind.item
  if (client.name !== 'transport') return row
  const replayable = kind.method === 'GET' || kind.key !== undefined
  row.expected = replayable ? '0 failed, 0 wrong' : '0 wrong, and no failed request that the server got nothing of'
  row.ok = wrong === 0 && (replayable ? failures.length === 0 : unsent === 0)
  return row
}
