import { describe, expect, it } from 'vitest'
import { isRoundTripError } from './errors.js'
import { createBody } from './body.js'
import { RoundTripResponse, createResponse, isNullBodyStatus, withResponseInfo } from './response.js'

describe('createResponse', () => {
  it('builds a Response that is instanceof the global Response with url and redirected set', async () => {
    const response = createResponse('hello', { status: 201, statusText: 'Created', url: 'http://a.test/x', redirected: true })
    expect(response).toBeInstanceOf(Response)
    expect(response).toBeInstanceOf(RoundTripResponse)
    expect(response.status).toBe(201)
    expect(response.statusText).toBe('Created')
    expect(response.url).toBe('http://a.test/x')
    expect(response.redirected).toBe(true)
    expect(await response.text()).toBe('hello')
  })

  it('keeps url, redirected and the class through clone(), and both copies read the body', async () => {
    const response = createResponse('twice', { url: 'http://a.test/y', redirected: true })
    const copy = response.clone()
    expect(copy).toBeInstanceOf(Response)
    expect(copy).toBeInstanceOf(RoundTripResponse)
    expect(copy.url).toBe('http://a.test/y')
    expect(copy.redirected).toBe(true)
    expect(copy.clone().url).toBe('http://a.test/y')
    expect(await copy.text()).toBe('twice')
    expect(await response.text()).toBe('twice')
  })

  it('sets type when given and keeps it through clone()', () => {
    const response = createResponse('x', { type: 'basic' })
    expect(response.type).toBe('basic')
    expect(response.clone().type).toBe('basic')
    expect(createResponse(null, {}).type).toBe('default')
  })

  it('defaults url to empty and redirected to false, as a constructed Response has', () => {
    const response = createResponse(null, {})
    expect(response.url).toBe('')
    expect(response.redirected).toBe(false)
    expect(response.status).toBe(200)
  })

  it.each([0, 99, 101, 199, 600, 999, 200.5, Number.NaN])('rejects status %s with RT_INVALID_STATUS', (status) => {
    let error: unknown
    try {
      createResponse(null, { status, url: 'http://a.test/' })
    } catch (e) {
      error = e
    }
    expect(isRoundTripError(error, 'RT_INVALID_STATUS')).toBe(true)
    expect((error as Error).message).toContain('http://a.test/')
  })

  it('rejects a body on a null-body status with RT_INVALID_RESPONSE and accepts a null one', () => {
    expect(() => createResponse('x', { status: 204 })).toThrow(expect.objectContaining({ code: 'RT_INVALID_RESPONSE' }))
    expect(createResponse(null, { status: 304 }).body).toBeNull()
    expect(isNullBodyStatus(204)).toBe(true)
    expect(isNullBodyStatus(200)).toBe(false)
  })

  it('keeps headers, including several set-cookie values', () => {
    const headers = new Headers()
    headers.append('set-cookie', 'a=1')
    headers.append('set-cookie', 'b=2')
    const response = createResponse(null, { headers })
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
  })
})

describe('createResponse with rawHeaders', () => {
  const raw = ['Content-Type', 'application/json', 'set-cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-a', 'one', 'x-a', 'two']

  it('appends the pairs in order, after init.headers, when headers is first read, and once', () => {
    const response = createResponse(null, { headers: { 'x-first': '0' }, rawHeaders: raw })
    const headers = response.headers
    expect([...headers]).toEqual([
      ['content-type', 'application/json'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-a', 'one, two'],
      ['x-first', '0'],
    ])
    expect(response.headers).toBe(headers)
    expect(headers.getSetCookie()).toEqual(['a=1', 'b=2'])
  })

  it('leaves out a pair Headers refuses and keeps the others', () => {
    const response = createResponse(null, { rawHeaders: ['bad name', 'x', 'x-ok', 'yes', 'x-nul', 'a\0b'] })
    expect([...response.headers]).toEqual([['x-ok', 'yes']])
  })

  it('gives a tracked body clone() and blob() the pairs never read before', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, { rawHeaders: ['content-type', 'text/x-mine'] })
    sink.push(new TextEncoder().encode('hi'))
    sink.end()
    const copy = response.clone()
    expect(copy.headers.get('content-type')).toBe('text/x-mine')
    expect((await response.blob()).type).toBe('text/x-mine')
  })

  it('gives a null body clone(), blob() and formData() the pairs never read before', async () => {
    const response = createResponse(null, { status: 204, rawHeaders: ['content-type', 'text/x-mine', 'x-b', '1'] })
    expect(response.clone().headers.get('x-b')).toBe('1')
    expect((await createResponse(null, { rawHeaders: ['content-type', 'text/x-mine'] }).blob()).type).toBe('text/x-mine')
    const form = createResponse(null, { rawHeaders: ['content-type', 'application/x-www-form-urlencoded'] })
    expect([...(await form.formData()).keys()]).toEqual([])
  })

  it('puts the pairs in before a body of its own adds its content-type', async () => {
    const response = createResponse('text', { rawHeaders: ['content-type', 'application/json'] })
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(createResponse('text', { rawHeaders: ['x-a', '1'] }).headers.get('content-type')).toBe('text/plain;charset=UTF-8')
  })
})

describe('the headers of a fetched response (a type other than default)', () => {
  const tries = (headers: Headers): string[] =>
    [() => headers.set('x-b', '1'), () => headers.append('x-b', '1'), () => headers.delete('x-a')].map((attempt) => {
      try {
        attempt()
        return 'changed'
      } catch (error) {
        return `${(error as Error).constructor.name}: ${(error as Error).message}`
      }
    })
  const refused = ['TypeError: immutable', 'TypeError: immutable', 'TypeError: immutable']

  it('refuses set, append and delete as Node’s fetch does, and still reads as a Headers', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, { type: 'basic', headers: { 'x-first': '0' }, rawHeaders: ['x-a', '1', 'set-cookie', 'c=1'] })
    sink.push(new TextEncoder().encode('ok'))
    sink.end()
    expect(tries(response.headers)).toEqual(refused)
    expect(response.headers).toBeInstanceOf(Headers)
    expect([...response.headers]).toEqual([['set-cookie', 'c=1'], ['x-a', '1'], ['x-first', '0']])
    expect(response.headers.getSetCookie()).toEqual(['c=1'])
    expect(response.headers.get('x-a')).toBe('1')
    expect((await import('node:util')).inspect(response.headers)).toMatch(/^Headers \{/)
    expect(response.headers).toBe(response.headers)
    const copy = response.clone()
    expect(tries(copy.headers)).toEqual(refused)
    expect(copy.headers.get('x-a')).toBe('1')
    // A Response made from them has headers of its own, which it may change.
    const remade = new Response(null, { headers: response.headers })
    expect(tries(remade.headers)).toEqual(['changed', 'changed', 'changed'])
    expect(await copy.text()).toBe('ok')
    expect(await response.text()).toBe('ok')
  })

  it('has Headers as its constructor, as Node’s fetch: new headers.constructor(init) makes a Headers that can be changed', () => {
    const response = createResponse('text', { type: 'cors', rawHeaders: ['x-a', '1'] })
    const headers = response.headers
    expect(headers.constructor).toBe(Headers)
    const made = new (headers.constructor as typeof Headers)(headers)
    expect(tries(made)).toEqual(['changed', 'changed', 'changed'])
    expect(tries(headers)).toEqual(refused)
    expect(Object.keys(Object.getPrototypeOf(headers))).not.toContain('constructor')
  })

  it('refuses them on a response with a body of its own or none, and on its clone', () => {
    for (const body of ['text', null]) {
      const response = createResponse(body, { type: 'cors', rawHeaders: ['x-a', '1'] })
      expect(tries(response.headers)).toEqual(refused)
      expect(tries(response.clone().headers)).toEqual(refused)
    }
  })

  it('leaves the headers of a default response changeable, as new Response() does', () => {
    const response = createResponse(null, { rawHeaders: ['x-a', '1'] })
    expect(tries(response.headers)).toEqual(['changed', 'changed', 'changed'])
    expect(tries(createResponse(null, { type: 'default' }).headers)).toEqual(['changed', 'changed', 'changed'])
  })

  it('refuses them once withResponseInfo gives a foreign response a type', () => {
    const response = withResponseInfo(new Response('x', { headers: { 'x-a': '1' } }), { url: 'http://a.test/', type: 'basic' })
    expect(tries(response.headers)).toEqual(refused)
  })
})

describe('a frozen RoundTripResponse', () => {
  const enc = new TextEncoder()
  function tracked(text: string, rawHeaders: string[]) {
    const { body, sink } = createBody({})
    const response = createResponse(body, { rawHeaders })
    sink.push(enc.encode(text))
    sink.end()
    return response
  }

  it('reads headers and the body with text(), as a frozen native Response does', async () => {
    const native = Object.freeze(new Response('hi', { headers: { 'x-a': '1' } }))
    expect(native.headers.get('x-a')).toBe('1')
    expect(await native.text()).toBe('hi')

    const response = Object.freeze(tracked('hi', ['x-a', '1']))
    expect(response.headers.get('x-a')).toBe('1')
    expect([...response.headers]).toEqual([['x-a', '1']])
    expect(response.bodyUsed).toBe(false)
    expect(await response.text()).toBe('hi')
    expect(response.bodyUsed).toBe(true)
    await expect(response.text()).rejects.toThrow(TypeError)
  })

  it('gives its body stream, the same one each time, and counts it used once read', async () => {
    const response = Object.freeze(tracked('streamed', ['x-a', '1']))
    const stream = response.body!
    expect(response.body).toBe(stream)
    expect(response.bodyUsed).toBe(false)
    expect(await new Response(stream).text()).toBe('streamed')
    expect(response.bodyUsed).toBe(true)
    await expect(response.text()).rejects.toThrow(TypeError)
  })

  it('clones: both read the body and see the raw headers', async () => {
    const response = Object.freeze(tracked('twice', ['x-a', '1']))
    const copy = response.clone()
    expect(copy.headers.get('x-a')).toBe('1')
    expect(response.headers.get('x-a')).toBe('1')
    expect(await copy.text()).toBe('twice')
    expect(response.bodyUsed).toBe(false)
    expect(await response.text()).toBe('twice')
    expect(response.bodyUsed).toBe(true)
    expect(() => response.clone()).toThrow(TypeError)
  })

  it('works with a body of its own or none, and when frozen after its headers and body were used', async () => {
    const empty = Object.freeze(createResponse(null, { status: 204, rawHeaders: ['x-b', '2'] }))
    expect(empty.clone().headers.get('x-b')).toBe('2')
    expect(empty.headers.get('x-b')).toBe('2')

    const read = tracked('later', ['x-a', '1'])
    expect(read.headers.get('x-a')).toBe('1')
    const stream = read.body!
    Object.freeze(read)
    expect(read.headers.get('x-a')).toBe('1')
    expect(read.body).toBe(stream)
    expect(await read.text()).toBe('later')
    expect(read.bodyUsed).toBe(true)
  })
})

describe('withResponseInfo', () => {
  it('updates a RoundTripResponse in place and leaves earlier clones alone', async () => {
    const response = createResponse('body', { url: 'http://a.test/1' })
    const before = response.clone()
    const same = withResponseInfo(response, { url: 'http://b.test/2', redirected: true })
    expect(same).toBe(response)
    expect([same.url, same.redirected]).toEqual(['http://b.test/2', true])
    expect([before.url, before.redirected]).toEqual(['http://a.test/1', false])
    expect(await same.text()).toBe('body')
    await before.body?.cancel()
  })

  it('re-wraps a foreign response over the same body, keeping status and headers', async () => {
    const original = new Response('foreign', { status: 202, headers: { 'x-a': '1' } })
    const wrapped = withResponseInfo(original, { url: 'http://c.test/', redirected: true })
    expect(wrapped).toBeInstanceOf(RoundTripResponse)
    expect([wrapped.status, wrapped.headers.get('x-a'), wrapped.url, wrapped.redirected]).toEqual([202, '1', 'http://c.test/', true])
    expect(await wrapped.text()).toBe('foreign')
  })
})
