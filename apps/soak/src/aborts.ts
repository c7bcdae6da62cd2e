// Scenario 2, aborts: requests aborted at a random point — before the call,
// while waiting for a connection (before the dial), during the connect,
// while waiting for the response head, or part-way through the body — with
// bodies up to 1 MB, one in two gzip-encoded. Every rejection and every
// body error must be exactly `signal.reason`, no byte of a body still
// arriving may be delivered after the abort, and once the transports are
// closed nothing may be left open. A body that had wholly arrived before the
// abort (its connection back in the pool) keeps its buffered bytes at the
// RoundTripper layer, by design (the Transport lets go of the signal then);
// createFetch rejects those reads, as the fetch standard asks (tested in
// packages/fetch). They are counted apart.
import { withContext } from '@roundtrip/core'
import type { ClientTrace, Transport } from '@roundtrip/transport'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Size } from './args.js'
import { gzipText } from './bodies.js'
import { transportClient } from './clients.js'
import { collectGarbage, pause, runPool, settle } from './pace.js'
import { mib, tally, type Row } from './row.js'
import { respond, startScriptedServer } from './servers.js'
import { handleCounts, handlesLeft } from './handles.js'

const POINTS = ['before call', 'before dial', 'during connect', 'waiting for head', 'mid-body'] as const
// Where an abort planned before the head happens when the head came first
// (a connection was free, so there was no connect to abort; the server was quick).
const AFTER_HEAD = 'after head, body unread'
type Point = (typeof POINTS)[number] | typeof AFTER_HEAD

interface Tally {
  /** Rejections or body errors that were not `signal.reason`, by point. */
  notReason: Point[]
  /** Bytes a read returned after the abort, of bodies still arriving at the abort. */
  bytesAfter: number
  /** Bytes a read returned after the abort, of bodies that had wholly arrived before it. */
  arrivedBytesAfter: number
  /** Bodies that ended normally after the abort, with bytes still unread at the abort. */
  endedAfter: number
  /** Where the requests were aborted that delivered bytes after the abort, and their encoding. */
  late: string[]
  /** Where each request was actually aborted. */
  points: Point[]
}

/** aborts runs the abort scenario on the Transport (the comparison clients have no trace hooks to abort from). */
export async function aborts(size: Size): Promise<Row[]> {
  const sizes = [1024, 16 * 1024, 64 * 1024, 256 * 1024, size.abortMaxBody]
  const bodies = sizes.map((n) => gzipText(n))
  const timers = new Set<NodeJS.Timeout>()
  const server = await startScriptedServer((socket, request) => {
    const url = new URL(request.path, 'http://x')
    const body = bodies[Number(url.searchParams.get('body'))]!
    const gzip = url.searchParams.get('gzip') === '1'
    const send = (): void => {
      if (!socket.destroyed) respond(socket, gzip ? body.gzip : body.plain, gzip ? { 'content-encoding': 'gzip' } : {})
    }
    const delay = Number(url.searchParams.get('delay') ?? 0)
    if (delay === 0) return send()
    const timer = setTimeout(() => {
      timers.delete(timer)
      send()
    }, delay)
    timers.add(timer)
    socket.once('close', () => clearTimeout(timer))
  })
  collectGarbage()
  const rssBefore = process.memoryUsage().rss
  const handlesBefore = handleCounts()
  const pooled = transportClient()
  const fresh = transportClient({ disableKeepAlives: true }) // every request dials, so there is a connect to abort
  const t: Tally = { notReason: [], bytesAfter: 0, arrivedBytesAfter: 0, endedAfter: 0, late: [], points: [] }
  await runPool(size.aborts, 16, async (i) => {
    const point = POINTS[Math.floor(Math.random() * POINTS.length)]!
    const which = Math.floor(Math.random() * sizes.length)
    const gzip = Math.random() < 0.5
    const url = `${server.origin}/${i}?body=${which}&gzip=${gzip ? 1 : 0}${point === 'waiting for head' ? '&delay=5' : ''}`
    const transport = point === 'during connect' ? fresh.transport : pooled.transport
    await abortOne({ point, gzip, size: sizes[which]! }, transport, url, t)
  })
  let limit: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    Promise.all([pooled.close(), fresh.close()]).then(() => true),
    new Promise<boolean>((resolve) => (limit = setTimeout(resolve, 5_000, false))),
  ])
  clearTimeout(limit)
  for (let i = 0; i < 100 && server.open.size > 0; i++) await sleep(5)
  const serverSockets = server.open.size
  for (const timer of timers) clearTimeout(timer)
  await server.close()
  await settle()
  const left = handlesLeft(handlesBefore)
  collectGarbage()
  const rssAfter = process.memoryUsage().rss
  const n = size.aborts
  const points = tally(t.points)
  const row = (id: string, figures: string, expected: string, ok: boolean, item?: number): Row => ({
    scenario: 'aborts',
    id,
    client: 'transport',
    figures,
    expected,
    ok,
    ...(item === undefined ? {} : { item }),
  })
  return [
    row('rejection is signal.reason', `${n} aborted requests (${points}); not exactly signal.reason: ${t.notReason.length} (${tally(t.notReason)})`, '0', t.notReason.length === 0),
    row(
      'nothing after the abort',
      `bytes of bodies still arriving delivered after abort: ${t.bytesAfter} (in ${t.late.length} bodies: ${tally(t.late)}); such bodies that ended normally after abort: ${t.endedAfter}; bytes of bodies already wholly arrived, read after abort: ${t.arrivedBytesAfter} (allowed at this layer)`,
      '0 bytes, 0 bodies of bodies still arriving',
      t.bytesAfter === 0 && t.endedAfter === 0,
      2,
    ),
    row('nothing left open', `transports closed: ${closed ? 'yes' : 'no, after 5 s'}; server sockets left open: ${serverSockets}; handles left: ${left.length === 0 ? 'none' : left.join(', ')}`, 'closed, 0 sockets, no handles', closed && serverSockets === 0 && left.length === 0),
    { scenario: 'aborts', id: 'memory', client: 'transport', figures: `RSS before ${mib(rssBefore)}, after ${mib(rssAfter)} (after a full GC)` },
  ]
}

interface Plan {
  point: Point
  gzip: boolean
  /** Decoded body size. */
  size: number
}

async function abortOne(plan: Plan, transport: Transport, url: string, t: Tally): Promise<void> {
  const point = plan.point
  const controller = new AbortController()
  const reason = new Error(`soak abort ${point}`)
  let aborted = false
  const abort = (): void => {
    aborted = true
    controller.abort(reason)
  }
  if (point === 'before call') abort()
  // 'waiting for head': the server holds the head 5 ms; the abort comes 0–3 ms after the request was written.
  // putIdleConn: the exchange is over (the whole body arrived, or it failed).
  let arrived = false
  const onArrived = { putIdleConn: () => void (arrived = true) }
  const trace: ClientTrace =
    point === 'before dial'
      ? { getConn: abort, ...onArrived }
      : point === 'during connect'
        ? { connectStart: abort, ...onArrived }
        : point === 'waiting for head'
          ? { wroteRequest: () => void pause(3).then(abort), ...onArrived }
          : onArrived
  let response: Response
  try {
    response = await transport.roundTrip(withContext(new Request(url, { signal: controller.signal }), { trace }))
  } catch (error) {
    t.points.push(point)
    if (error !== reason) t.notReason.push(point)
    return
  }
  const body: Body = { reader: response.body!.getReader(), reason, arrived: () => arrived, ...plan }
  // Mid-body: abort once a random part of the body has been read.
  if (point === 'mid-body') {
    t.points.push(point)
    return readBody(body, Math.floor(Math.random() * plan.size), abort, t)
  }
  // The head came before the abort: abort now, then read.
  if (!aborted) {
    body.point = AFTER_HEAD
    abort()
  }
  t.points.push(body.point)
  return readBody(body, 0, abort, t)
}

interface Body extends Plan {
  reader: ReadableStreamDefaultReader<Uint8Array>
  reason: Error
  /** Whether the whole body had arrived (the exchange was over). */
  arrived(): boolean
}

/** readBody reads to the end, calling `abort` once `abortAt` bytes were read (at once for 0), and tallies what came after. */
async function readBody(body: Body, abortAt: number, abort: () => void, t: Tally): Promise<void> {
  let read = 0
  let readAtAbort = -1
  let late = false
  let arrivedAtAbort = false
  const maybeAbort = (): void => {
    if (readAtAbort < 0 && read >= abortAt) {
      readAtAbort = read
      arrivedAtAbort = body.arrived()
      abort()
    }
  }
  maybeAbort()
  for (;;) {
    let chunk: Awaited<ReturnType<typeof body.reader.read>>
    try {
      chunk = await body.reader.read()
    } catch (error) {
      if (error !== body.reason) t.notReason.push(body.point)
      return
    }
    if (chunk.done) {
      if (readAtAbort >= 0 && readAtAbort < body.size && !arrivedAtAbort) t.endedAfter++
      return
    }
    if (readAtAbort >= 0 && arrivedAtAbort) t.arrivedBytesAfter += chunk.value.byteLength
    else if (readAtAbort >= 0) {
      if (!late) t.late.push(`${body.point}${body.gzip ? ' gzip' : ''}`)
      late = true
      t.bytesAfter += chunk.value.byteLength
    }
    read += chunk.value.byteLength
    maybeAbort()
  }
}
