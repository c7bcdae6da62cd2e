import { Octokit } from '@octokit/core'
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker } from '@roundtrip/leak-tracker'
import { Transport } from '@roundtrip/transport'
import axios from 'axios'
import { GraphQLClient, gql } from 'graphql-request'
import ky from 'ky'
import { ofetch } from 'ofetch'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFakes, type Fakes } from './fakes.js'

// Every client gets our fetch over a Transport under a leak tracker: each
// test checks the answer, what the fake received, and that the client left
// no body unread.
let fakes: Fakes
const transport = new Transport()
const tracker = leakTracker({ captureStack: false })
const fetch = createFetch(compose(transport, tracker))

beforeAll(async () => {
  fakes = await startFakes()
})
afterEach(() => {
  tracker.assertNoLeaks()
  expect(tracker.summary().open).toBe(0)
  expect(transport.stats().total.active).toBe(0)
})
afterAll(async () => {
  tracker.dispose()
  await transport.close()
  await fakes.close()
})

function last(): Fakes['seen'][number] {
  return fakes.seen.at(-1)!
}

describe('works with openai', () => {
  const client = (): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: `${fakes.url}/v1`, fetch, maxRetries: 0 })

  it('creates a chat completion', async () => {
    const completion = await client().chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping' }] })
    expect(completion.choices[0]?.message.content).toBe('pong')
    expect(JSON.parse(last().body)).toMatchObject({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping' }] })
  })

  it('streams a chat completion (server-sent events)', async () => {
    const stream = await client().chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping' }], stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('pong')
  })

  it('turns a 401 into its AuthenticationError', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${fakes.url}/v1`, fetch, maxRetries: 0 })
    await expect(bad.chat.completions.create({ model: 'm', messages: [] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
  })
})

describe('works with Octokit', () => {
  const octokit = (): Octokit => new Octokit({ baseUrl: fakes.url, request: { fetch } })

  it('makes a REST call, with its headers', async () => {
    const { data, headers, status } = await octokit().request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'hello' })
    expect(status).toBe(200)
    expect(data).toMatchObject({ full_name: 'octo/hello' })
    expect(headers['x-ratelimit-remaining']).toBe('59')
    expect(last().headers['user-agent']).toMatch(/^octokit-core\.js\//)
  })

  it('turns a 404 into a RequestError with the status', async () => {
    await expect(octokit().request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'missing' })).rejects.toMatchObject({ name: 'HttpError', status: 404 })
  })
})

describe('works with ky', () => {
  const api = (): typeof ky => ky.create({ prefixUrl: `${fakes.url}/api`, fetch, retry: { limit: 2, backoffLimit: 1 } })

  it('sends JSON and reads JSON', async () => {
    expect(await api().post('echo', { json: { a: 1 } }).json()).toEqual({ got: { a: 1 }, type: 'application/json' })
  })

  it('retries a 503 with its own retry', async () => {
    const before = fakes.seen.length
    expect(await api().get('flaky').json()).toEqual({ ok: true })
    expect(fakes.seen.length - before).toBe(2)
  })

  it('throws its HTTPError for a 404', async () => {
    await expect(api().get('missing').json()).rejects.toMatchObject({ name: 'HTTPError', response: { status: 404 } })
  })
})

describe('works with ofetch', () => {
  const $fetch = (): typeof ofetch => ofetch.create({ baseURL: `${fakes.url}/api` }, { fetch })

  it('reads JSON with query parameters and posts an object', async () => {
    expect(await $fetch()('/items', { query: { page: 2 } })).toEqual({ items: [1, 2, 3], query: '?page=2' })
    expect(await $fetch()('/echo', { method: 'POST', body: { b: 2 } })).toEqual({ got: { b: 2 }, type: 'application/json' })
  })

  it('throws its FetchError for a 404, with the parsed body', async () => {
    await expect($fetch()('/missing', { retry: 0 })).rejects.toMatchObject({ name: 'FetchError', status: 404, data: { error: 'nope' } })
  })
})

describe('works with graphql-request', () => {
  const client = (): GraphQLClient => new GraphQLClient(`${fakes.url}/graphql`, { fetch })

  it('runs a query with variables', async () => {
    const data = await client().request<{ hello: string }>(gql`query Hello($name: String) { hello(name: $name) }`, { name: 'roundtrip' })
    expect(data).toEqual({ hello: 'hello roundtrip' })
    expect(last().headers['content-type']).toMatch(/^application\/json/)
  })

  it('throws its ClientError for GraphQL errors', async () => {
    await expect(client().request(gql`{ broken }`)).rejects.toMatchObject({ response: { errors: [{ message: 'Cannot query field "broken"' }] } })
  })
})

describe('works with axios (fetch adapter)', () => {
  const api = (): ReturnType<typeof axios.create> => axios.create({ baseURL: `${fakes.url}/api`, adapter: 'fetch', env: { fetch } })

  it('reads JSON and rejects a 404 with an AxiosError', async () => {
    const before = transport.stats().total.requests
    expect((await api().get('/items')).data).toMatchObject({ items: [1, 2, 3] })
    await expect(api().get('/missing')).rejects.toMatchObject({ name: 'AxiosError', response: { status: 404 } })
    // The requests went through our Transport, not axios's own http adapter.
    expect(transport.stats().total.requests - before).toBe(2)
  })
})

describe('all of them', () => {
  it('shared the pool: every request after the first reused a connection', () => {
    const total = transport.stats().total
    expect(total.requests).toBe(fakes.seen.length)
    expect(total.dials).toBeLessThan(total.requests / 4)
  })
})

describe('the fakes', () => {
  it('keep their state per server: each answers its first /api/flaky with a 503', async () => {
    const servers = [await startFakes(), await startFakes()]
    try {
      const statuses: number[] = []
      for (const server of servers) {
        const response = await fetch(`${server.url}/api/flaky`)
        await response.text()
        statuses.push(response.status)
      }
      expect(statuses).toEqual([503, 503])
    } finally {
      for (const server of servers) await server.close()
    }
  })
})
