import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ROUND_TRIP_ERROR, RoundTripError, internalError, isRoundTripError, systemCause } from './errors.js'

const dir = mkdtempSync(join(tmpdir(), 'roundtrip-errors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('RoundTripError', () => {
  it('has a name, a stable code, a message and a cause', () => {
    const cause = new Error('boom')
    const error = new RoundTripError('RT_TEST', 'something failed', { cause })
    expect(error.name).toBe('RoundTripError')
    expect(error.code).toBe('RT_TEST')
    expect(error.message).toBe('something failed')
    expect(error.cause).toBe(cause)
    expect(error).toBeInstanceOf(Error)
    expect(isRoundTripError(error)).toBe(true)
    expect(isRoundTripError(error, 'RT_TEST')).toBe(true)
    expect(isRoundTripError(error, 'RT_OTHER')).toBe(false)
  })

  it('is recognised across two copies of the package', async () => {
    // A second copy of the module, as when two versions are installed.
    const copy = join(dir, 'errors-copy.ts')
    copyFileSync(fileURLToPath(new URL('./errors.ts', import.meta.url)), copy)
    const other = (await import(copy)) as typeof import('./errors.js')
    expect(other.RoundTripError).not.toBe(RoundTripError)
    const foreign = new other.RoundTripError('RT_FOREIGN', 'from the other copy')
    expect(foreign instanceof RoundTripError).toBe(true)
    expect(isRoundTripError(foreign, 'RT_FOREIGN')).toBe(true)
    expect(other.isRoundTripError(new RoundTripError('RT_LOCAL', 'x'))).toBe(true)
  })

  it('is not confused with plain errors or look-alikes', () => {
    expect(isRoundTripError(new Error('x'))).toBe(false)
    expect(isRoundTripError({ code: 'RT_X', name: 'RoundTripError' })).toBe(false)
    expect(isRoundTripError(null)).toBe(false)
    expect(new Error('x') instanceof RoundTripError).toBe(false)
  })

  it('keeps ordinary instanceof for subclasses', () => {
    class DialError extends RoundTripError {}
    const dial = new DialError('RT_DIAL', 'dial failed')
    expect(dial instanceof DialError).toBe(true)
    expect(dial instanceof RoundTripError).toBe(true)
    expect(new RoundTripError('RT_X', 'x') instanceof DialError).toBe(false)
  })

  it('internalError says it is an internal error', () => {
    expect(internalError('queue out of order').message).toBe('internal error: queue out of order')
  })
})

describe('systemCause', () => {
  it('returns the system error under a coded one, carrying the coded one as roundTripError', () => {
    const system = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const coded = new RoundTripError('RT_CONNECT_REFUSED', 'connect refused (GET http://127.0.0.1:1/)', { cause: new Error('wrapped', { cause: system }) })
    const found = systemCause(coded)
    expect(found).toBe(system)
    expect((found as unknown as Record<string, unknown>)[ROUND_TRIP_ERROR]).toBe(coded)
  })

  it('returns a coded error with no coded error under it, and anything else, as it is', () => {
    const coded = new RoundTripError('RT_OWN', 'own', { cause: new Error('no code') })
    expect(systemCause(coded)).toBe(coded)
    const reason = new DOMException('aborted', 'AbortError')
    expect(systemCause(reason)).toBe(reason)
  })

  it("returns undici's parser error under a coded one though it has no code (a body cut short)", () => {
    const parser = new Error('Response does not match the HTTP/1.1 protocol (Invalid EOF state)')
    Object.defineProperty(parser, Symbol.for('undici.error.UND_ERR_HTTP_PARSER'), { get: () => true })
    const coded = new RoundTripError('RT_PROTOCOL_ERROR', 'invalid HTTP response', { cause: parser })
    expect(systemCause(coded)).toBe(parser)
  })

  it('never takes one of our own codes (RT_*) for a system error, branded or not', () => {
    const internal = Object.assign(new Error('connect timeout'), { code: 'RT_DIAL_TIMEOUT' })
    const coded = new RoundTripError('RT_CONNECT_TIMEOUT', 'connect timed out', { cause: internal })
    expect(systemCause(coded)).toBe(coded)
    const system = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })
    const deeper = new RoundTripError('RT_CONNECT_TIMEOUT', 'connect timed out', { cause: Object.assign(new Error('inner', { cause: system }), { code: 'RT_X' }) })
    expect(systemCause(deeper)).toBe(system)
  })

  it("returns undici's HTTPParserError, which has no code for a response that is not HTTP", () => {
    const parser = Object.assign(new Error('Expected HTTP/'), { name: 'HTTPParserError', code: undefined, data: 'garbage' })
    const coded = new RoundTripError('RT_PROTOCOL_ERROR', 'invalid HTTP response', { cause: parser })
    expect(systemCause(coded)).toBe(parser)
    const branded = Object.defineProperty(new Error('Invalid status code'), Symbol.for('undici.error.UND_ERR_HTTP_PARSER'), { get: () => true })
    expect(systemCause(new RoundTripError('RT_PROTOCOL_ERROR', 'invalid HTTP response', { cause: branded }))).toBe(branded)
  })

  it("returns the caller's own error under RT_REQUEST_BODY_ERROR (the request body failed), as undici reports it", () => {
    const own = new Error('the source broke')
    const coded = new RoundTripError('RT_REQUEST_BODY_ERROR', 'the request body failed: the source broke (PUT http://h/)', { cause: own })
    expect(systemCause(coded)).toBe(own)
    expect((own as unknown as Record<string, unknown>)[ROUND_TRIP_ERROR]).toBe(coded)
    const nested = new RoundTripError('RT_REQUEST_BODY_ERROR', 'the request body failed', { cause: new RoundTripError('RT_OWN', 'own') })
    expect(systemCause(nested)).toBe(nested)
    // A primitive reason is handed on as it is; no reason at all leaves the coded error.
    expect(systemCause(new RoundTripError('RT_REQUEST_BODY_ERROR', 'the request body failed', { cause: 'broken' }))).toBe('broken')
    const bare = new RoundTripError('RT_REQUEST_BODY_ERROR', 'the request body failed')
    expect(systemCause(bare)).toBe(bare)
  })

  it('returns a frozen system error as it is, without throwing', () => {
    const system = Object.freeze(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
    const coded = new RoundTripError('RT_SOCKET_CLOSED', 'socket closed', { cause: system })
    expect(systemCause(coded)).toBe(system)
    expect(Object.hasOwn(system, ROUND_TRIP_ERROR)).toBe(false)
  })

  it('keeps on a system error shared by several requests the coded error of the first', () => {
    const shared = Object.assign(new Error('session error'), { code: 'ERR_HTTP2_SESSION_ERROR' })
    const first = new RoundTripError('RT_PROTOCOL_ERROR', 'first request', { cause: shared })
    const second = new RoundTripError('RT_PROTOCOL_ERROR', 'second request', { cause: shared })
    expect(systemCause(first)).toBe(shared)
    expect(systemCause(second)).toBe(shared)
    expect((shared as unknown as Record<string, unknown>)[ROUND_TRIP_ERROR]).toBe(first)
  })
})
