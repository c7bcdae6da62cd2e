import { errorCode, errorText, type ClientFactory, type SoakClient } from '../clients.js'
import type { Row } from '../row.js'

/** Outcome is what one request came to: a status and a body, or an error and where it came. */
export interface Outcome {
  status?: number
  body?: Buffer
  error?: unknown
  code?: string
  /** `head` when the call rejected, `body` when reading the body did. */
  phase?: 'head' | 'body'
}

/** HANG is the code of an outcome that did not come within the attempt's limit. */
export const HANG = 'NO_OUTCOME'

/**
 * attempt sends one request and reads its body to the end. A client that
 * neither answers nor fails within `limitMs` is aborted and the outcome
 * coded {@link HANG} (Node's fetch hangs on some faults).
 */
export async function attempt(client: SoakClient, url: string, init: RequestInit = {}, limitMs = 3_000): Promise<Outcome> {
  const controller = new AbortController()
  const hang = new Error(`no outcome within ${limitMs} ms`)
  const timer = setTimeout(() => controller.abort(hang), limitMs)
  const signal = init.signal == null ? controller.signal : AbortSignal.any([init.signal, controller.signal])
  const failed = (error: unknown, phase: 'head' | 'body', status?: number): Outcome => ({
    error,
    code: error === hang ? HANG : errorCode(error),
    phase,
    ...(status === undefined ? {} : { status }),
  })
  try {
    let response: Response
    try {
      response = await client.fetch(url, { ...init, signal })
    } catch (error) {
      return failed(error, 'head')
    }
    try {
      return { status: response.status, body: Buffer.from(await response.arrayBuffer()) }
    } catch (error) {
      return failed(error, 'body', response.status)
    }
  } finally {
    clearTimeout(timer)
  }
}

/** describeOutcome prints an outcome: `200, 2 bytes "ok"` or `rejected RT_PROTOCOL_ERROR (body): …`. */
export function describeOutcome(outcome: Outcome): string {
  if (outcome.error === undefined) {
    const body = outcome.body!
    const shown = body.length <= 24 ? ` ${JSON.stringify(body.toString('latin1'))}` : ''
    return `${outcome.status}, ${body.length.toLocaleString('en')} bytes${shown}`
  }
  const where = outcome.phase === 'body' ? `the body of a ${outcome.status} rejected` : 'rejected'
  return `${where} ${outcome.code}: ${errorText(outcome.error).slice(0, 140)}`
}

/** faultRow builds a row of the fault table; a verdict is given only on the client under test. */
export function faultRow(client: SoakClient, item: number | undefined, id: string, figures: string, expected: string, ok: boolean): Row {
  const row: Row = { scenario: 'faults', id, client: client.name, figures }
  if (item !== undefined) row.item = item
  if (client.name === 'transport' || client.name === 'create-fetch') {
    row.expected = expected
    row.ok = ok
  }
  return row
}

/** eachClient runs `run` with a fresh client from each factory, closing it after, and collects the rows. */
export async function eachClient(clients: readonly ClientFactory[], run: (client: SoakClient) => Promise<Row | Row[]>): Promise<Row[]> {
  const rows: Row[] = []
  for (const factory of clients) {
    const client = factory()
    try {
      rows.push(...[await run(client)].flat())
    } finally {
      await client.close()
    }
  }
  return rows
}

/** Hang is thrown by {@link readWithin} when a read does not settle in time. */
export class Hang extends Error {
  constructor(ms: number) {
    super(`a read did not settle within ${ms} ms`)
  }
}

/** readWithin reads once, or throws {@link Hang} when the read has not settled after `ms` (Node's fetch can leave one pending forever). */
export async function readWithin<T>(reader: ReadableStreamDefaultReader<T>, ms: number): Promise<Awaited<ReturnType<ReadableStreamDefaultReader<T>['read']>>> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([reader.read(), new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Hang(ms)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}
