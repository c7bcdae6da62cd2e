import type { IncomingMessage, ServerResponse } from 'node:http'
import { listen } from '../../../test/loopback.js'

/** One request as the fake saw it. */
export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/** A loopback server playing the APIs the clients talk to. */
export interface Fakes {
  url: string
  seen: Seen[]
  close(): Promise<void>
}

type Route = (req: Seen, res: ServerResponse) => void

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value))
}

/**
 * The routes of one fake server, by `METHOD /path`: small fakes of the
 * OpenAI, GitHub and GraphQL APIs plus a plain JSON API. Each server has its
 * own state (the flaky route's count), so that no server sees another's.
 */
function makeRoutes(): Record<string, Route> {
  let flaky = 0
  return {
    'POST /v1/chat/completions': (req, res) => {
      const body = JSON.parse(req.body) as { model: string; stream?: boolean }
      if (req.headers.authorization !== 'Bearer sk-test') return json(res, 401, { error: { message: 'bad key', type: 'invalid_request_error' } })
      if (body.stream !== true) {
        return json(res, 200, {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }],
        })
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const piece of ['po', 'ng']) {
        const chunk = { id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }
        res.write(`data: ${JSON.stringify(chunk)}\n\n`)
      }
      res.end('data: [DONE]\n\n')
    },
    'GET /repos/octo/hello': (req, res) => json(res, 200, { full_name: 'octo/hello', ua: req.headers['user-agent'] }, { 'x-ratelimit-remaining': '59' }),
    'GET /repos/octo/missing': (_req, res) => json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }),
    'POST /graphql': (req, res) => {
      const { query, variables } = JSON.parse(req.body) as { query: string; variables?: { name?: string } }
      if (query.includes('broken')) return json(res, 200, { data: null, errors: [{ message: 'Cannot query field "broken"' }] })
      json(res, 200, { data: { hello: `hello ${variables?.name ?? 'world'}` } })
    },
    'GET /api/items': (req, res) => json(res, 200, { items: [1, 2, 3], query: new URL(req.url, 'http://x').search }),
    'POST /api/echo': (req, res) => json(res, 201, { got: JSON.parse(req.body) as unknown, type: req.headers['content-type'] }),
    'GET /api/flaky': (_req, res) => (++flaky % 2 === 1 ? json(res, 503, { error: 'busy' }, { 'retry-after': '0' }) : json(res, 200, { ok: true })),
    'GET /api/missing': (_req, res) => json(res, 404, { error: 'nope' }),
  }
}

export async function startFakes(): Promise<Fakes> {
  const seen: Seen[] = []
  const routes = makeRoutes()
  const origin = await listen((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const request: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() }
      seen.push(request)
      const route = routes[`${req.method} ${req.url!.split('?')[0]}`]
      if (route === undefined) json(res, 404, { error: `no fake for ${req.method} ${req.url}` })
      else route(request, res)
    })
  })
  return { url: origin.url, seen, close: origin.close }
  }
