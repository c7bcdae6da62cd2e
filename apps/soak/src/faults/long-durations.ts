// Issue 18 item 7: durations of 2^31 ms or more must never fire early (Node
// clamps such a `setTimeout` to 1 ms). Either the Transport takes them as
// "no practical limit" or it rejects them as invalid options; both pass.
// Also from the issue: unknown option keys and non-boolean flags must be
// rejected with `RT_INVALID_OPTION`.
import { setTimeout as sleep } from 'node:timers/promises'
import { withContext } from '@roundtrip/core'
import type { TransportOptions } from '@roundtrip/transport'
import { errorCode, errorText, transportClient, type SoakClient } from '../clients.js'
import type { Row } from '../row.js'
import { respond, responseHead, startScriptedServer, type Loopback } from '../servers.js'
import { attempt, describeOutcome, faultRow } from './common.js'

const DAYS_30 = 30 * 24 * 3600 * 1000
const BIG_BODY = Buffer.alloc(1024 * 1024, 'x')

type Check = (client: SoakClient & { transport: import('@roundtrip/transport').Transport }, server: Loopback) => Promise<{ ok: boolean; figures: string }>

const once = async (client: SoakClient, url: string): Promise<{ ok: boolean; figures: string }> => {
  const outcome = await attempt(client, url)
  return { ok: outcome.status === 200, figures: describeOutcome(outcome) }
}

const CASES: { id: string; options: TransportOptions; check: Check }[] = [
  { id: 'connectTimeout: 30 days', options: { connectTimeout: DAYS_30 }, check: (c, s) => once(c, `${s.origin}/small`) },
  { id: 'responseHeaderTimeout: 2**31', options: { responseHeaderTimeout: 2 ** 31 }, check: (c, s) => once(c, `${s.origin}/slow-head`) },
  { id: 'bodyTimeout: 2**31', options: { bodyTimeout: 2 ** 31 }, check: (c, s) => once(c, `${s.origin}/slow-body`) },
  {
    id: 'maxWaitTime: 2**31',
    options: { maxWaitTime: 2 ** 31, maxConnsPerHost: 1 },
    check: async (client, server) => {
      // The first response's 1 MiB body, unread, holds the only connection; the second request waits.
      const first = await client.fetch(`${server.origin}/big`)
      const second = attempt(client, `${server.origin}/small`)
      await sleep(30)
      await first.arrayBuffer()
      const outcome = await second
      return { ok: outcome.status === 200, figures: `queued request: ${describeOutcome(outcome)}` }
    },
  },
  {
    id: 'idleConnTimeout: 2**31',
    options: { idleConnTimeout: 2 ** 31 },
    check: async (client, server) => {
      await (await client.fetch(`${server.origin}/small`)).text()
      await sleep(20)
      let reused = false
      const request = withContext(new Request(`${server.origin}/small`), { trace: { gotConn: (info) => void (reused = info.reused) } })
      await (await client.transport.roundTrip(request)).text()
      return { ok: reused, figures: `a request 20 ms later ${reused ? 'reused' : 'did not reuse'} the idle connection` }
    },
  },
]

/** longDurations: one row per duration option set to 2^31 ms or more, and the option-validation rows. */
export async function longDurations(): Promise<Row[]> {
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
  }
  const server = await startScriptedServer((socket, request) => {
    if (request.path === '/big') respond(socket, BIG_BODY)
    else if (request.path === '/slow-head') later(50, () => respond(socket, 'ok'))
    else if (request.path === '/slow-body') {
      socket.write(responseHead(200, 'OK', { 'content-length': 2 }) + 'o')
      later(50, () => socket.write('k'))
    } else respond(socket, 'ok')
  })
  const rows: Row[] = []
  try {
    for (const { id, options, check } of CASES) {
      let client: ReturnType<typeof transportClient>
      try {
        client = transportClient(options)
      } catch (error) {
        const code = errorCode(error)
        rows.push(faultRow({ name: 'transport' } as SoakClient, 7, id, `rejected by new Transport(): ${code}`, 'never fires early', code === 'RT_INVALID_OPTION'))
        continue
      }
      try {
        const { ok, figures } = await check(client, server)
        rows.push(faultRow(client, 7, id, figures, 'never fires early (or rejected as an invalid option)', ok))
      } finally {
        await client.close()
      }
    }
  } finally {
    for (const timer of timers) clearTimeout(timer)
    await server.close()
  }
  return [...rows, ...optionChecks()]
}

/** optionChecks: an unknown key and a non-boolean flag must be `RT_INVALID_OPTION`, naming the closest option. */
function optionChecks(): Row[] {
  const cases: { id: string; options: object; names: string }[] = [
    { id: 'unknown option maxConnPerHost', options: { maxConnPerHost: 8 }, names: 'maxConnsPerHost' },
    { id: "disableKeepAlives: 'yes'", options: { disableKeepAlives: 'yes' }, names: 'disableKeepAlives' },
  ]
  return cases.map(({ id, options, names }) => {
    let figures = 'accepted'
    let ok = false
    try {
      void transportClient(options as TransportOptions).close()
    } catch (error) {
      figures = `rejected ${errorCode(error)}: ${errorText(error)}`
      ok = errorCode(error) === 'RT_INVALID_OPTION' && errorText(error).includes(names)
    }
    return { scenario: 'faults', id, client: 'transport', figures, expected: `RT_INVALID_OPTION naming ${names}`, ok }
  })
}
