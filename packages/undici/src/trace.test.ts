import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { compose, type RoundTripper } from '@roundtrip/core'
import { channels, Transport, type ClientTrace, type TransportOptions } from '@roundtrip/transport'
import type { Dispatcher } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { toDispatcher } from './to-dispatcher.js'

// What a user observes of a dispatch (trace hooks, the Transport's
// channels, stats()) must not depend on the path it took: a bare Transport
// runs it directly, a stack over it gets a Request.

const closing: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c.close()
})

async function serve(): Promise<TestServer> {
  const server = await startServer((req, res) => {
    if (req.url === '/info') {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' })
      res.end('after hints')
    } else res.end(`ok ${req.url}`)
  })
  closing.push(server)
  return server
}

type Make = (transport: Transport) => RoundTripper
const PATHS: Array<[string, Make]> = [
  ['direct', (transport) => transport],
  ['Request', (transport) => compose(transport)],
]

/** A trace per dispatch that writes every hook it hears, with the dispatch's path, into `log`. */
function tracer(log: string[]): (options: Dispatcher.DispatchOptions) => ClientTrace {
  return (options) => {
    const at = options.path
    return {
      getConn: (key) => log.push(`${at} getConn ${key}`),
      connectStart: (network) => log.push(`${at} connectStart ${network}`),
      connectDone: (network, _address, error) => log.push(`${at} connectDone ${network}${error === undefined ? '' : ' error'}`),
      gotConn: (info) => log.push(`${at} gotConn reused=${info.reused} wasIdle=${info.wasIdle} ${info.protocol} port=${typeof info.remotePort}`),
      wroteRequest: (info) => log.push(`${at} wroteRequest${info.error === undefined ? '' : ' error'}`),
      gotFirstResponseByte: () => log.push(`${at} gotFirstResponseByte`),
      got1xxResponse: (info) => log.push(`${at} got1xx ${info.status} ${info.headers.get('link')}`),
      putIdleConn: (error) => log.push(`${at} putIdleConn${error === undefined ? '' : ` ${error.message}`}`),
    }
  }
}

/** Runs `run` on `make(new Transport(options))` under Node's global fetch and returns what the trace, the channels and stats() saw. */
async function observe(
  make: Make,
  options: TransportOptions,
  run: (init: RequestInit) => Promise<void>,
): Promise<{ trace: string[]; channels: string[]; stats: unknown; roundTrips: number }> {
  const trace: string[] = []
  const published: string[] = []
  const listeners = Object.entries(channels).map(([name, channel]) => {
    const listener = (message: unknown): void => {
      // `request`: the queued Request, which an undici dispatch on the direct path has not (see the channel's doc).
      const { key: _key, error, request: _request, ...rest } = message as { key: string; error?: { code?: string }; request?: unknown }
      published.push(`${name} ${JSON.stringify(rest)}${error === undefined ? '' : ` ${error.code}`}`)
    }
    subscribe(channel.name, listener)
    return () => unsubscribe(channel.name, listener)
  })
  const transport = new Transport(options)
  closing.push(transport)
  // The Request path goes through roundTrip, the direct path does not.
  let roundTrips = 0
  const roundTrip = transport.roundTrip.bind(transport)
  transport.roundTrip = (request) => (roundTrips++, roundTrip(request))
  try {
    await run({ dispatcher: toDispatcher(make(transport), { trace: tracer(trace) }) } as unknown as RequestInit)
  } finally {
    for (const off of listeners) off()
  }
  const { total } = transport.stats()
  return { trace, channels: published, stats: { ...total, holders: total.holders.length }, roundTrips }
}

describe('toDispatcher: trace hooks, channels and stats are the same on both paths', () => {
  it('calls options.trace’s hooks for every dispatch, from the dial to the conn going back to the pool', async () => {
    const server = await serve()
    const seen: string[][] = []
    const roundTrips: number[] = []
    for (const [, make] of PATHS) {
      // No dial raced against the wait for the reused conn (raceDial): its hooks would come in no fixed order.
      const observed = await observe(make, { raceDial: false }, async (init) => {
        for (const path of ['/a', '/b', '/info']) await (await fetch(`${server.origin}${path}`, init)).text()
      })
      seen.push(observed.trace)
      roundTrips.push(observed.roundTrips)
    }
    expect(roundTrips).toEqual([0, 3])
    const key = server.origin
    expect(seen[0]).toEqual([
      `/a getConn ${key}`,
      '/a connectStart tcp',
      '/a connectDone tcp',
      '/a gotConn reused=false wasIdle=false http/1.1 port=number',
      '/a wroteRequest',
      '/a gotFirstResponseByte',
      '/a putIdleConn',
      `/b getConn ${key}`,
      '/b gotConn reused=true wasIdle=true http/1.1 port=number',
      '/b wroteRequest',
      '/b gotFirstResponseByte',
      '/b putIdleConn',
      `/info getConn ${key}`,
      '/info gotConn reused=true wasIdle=true http/1.1 port=number',
      '/info wroteRequest',
      '/info gotFirstResponseByte',
      '/info got1xx 103 </style.css>; rel=preload',
      '/info putIdleConn',
    ])
    expect(seen[1]).toEqual(seen[0])
  })

  it('publishes the same channel messages and counts the same stats for queued dispatches and a closed conn', async () => {
    const server = await serve()
    const seen: Array<Awaited<ReturnType<typeof observe>>> = []
    for (const [, make] of PATHS) {
      seen.push(
        await observe(make, { maxConnsPerHost: 1 }, async (init) => {
          // The second waits in the queue for the first's conn; the third's `reset` closes the conn after it.
          await Promise.all(['/1', '/2'].map(async (path) => (await fetch(`${server.origin}${path}`, init)).text()))
          await (await fetch(`${server.origin}/3`, { ...init, headers: { connection: 'close' } })).text()
        }),
      )
    }
    const [direct, request] = seen
    expect([direct!.roundTrips, request!.roundTrips]).toEqual([0, 3])
    expect(direct!.channels).toContain('queued {"waiting":2}')
    expect(direct!.channels.filter((m) => m.startsWith('closed'))).toHaveLength(1)
    expect(direct!.stats).toMatchObject({ requests: 3, reusedRequests: 2, dials: 1, active: 0, idle: 0 })
    expect(request!.channels).toEqual(direct!.channels)
    expect(request!.stats).toEqual(direct!.stats)
    expect(request!.trace).toEqual(direct!.trace)
  })

  it('refuses a trace option that is not a function with RT_INVALID_ARGUMENT', () => {
    expect(() => toDispatcher(new Transport(), { trace: {} as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_ARGUMENT' }))
  })
})
