// The programs the fresh project runs, as a user of the packages writes them.

/** An ESM program: every package, over the real Transport, against a server it starts. */
export const esmProgram = `
import { once } from 'node:events'
import { createServer } from 'node:http'
import { compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker } from '@roundtrip/leak-tracker'
import { retry, timeout } from '@roundtrip/middleware'
import { MockTransport } from '@roundtrip/testing'
import { toDispatcher } from '@roundtrip/undici'

const server = createServer((req, res) => res.end(JSON.stringify({ path: req.url })))
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const origin = 'http://127.0.0.1:' + server.address().port
const transport = new Transport()
const tracker = leakTracker()
const fetch = createFetch(compose(transport, tracker, retry(), timeout(5000)))
const viaFetch = await (await fetch(origin + '/esm')).json()
const viaNode = await (await globalThis.fetch(origin + '/bridged', { dispatcher: toDispatcher(transport) })).json()
const mock = new MockTransport()
mock.intercept({ method: 'GET', url: 'http://mock.test/' }).reply(200, 'mocked')
const mocked = await (await createFetch(mock)('http://mock.test/')).text()
tracker.assertNoLeaks()
await transport.close()
server.close()
console.log(JSON.stringify({ viaFetch, viaNode, mocked, requests: transport.stats().total.requests }))
`

/** A CommonJS program: require() of the ESM-only packages (require(esm), Node >= 20.19). */
export const cjsProgram = `
const { once } = require('node:events')
const { createServer } = require('node:http')
const { compose } = require('@roundtrip/core')
const { Transport } = require('@roundtrip/transport')
const { createFetch } = require('@roundtrip/fetch')
const { leakTracker } = require('@roundtrip/leak-tracker')
const { retry } = require('@roundtrip/middleware')
const { MockTransport } = require('@roundtrip/testing')
const { fromDispatcher } = require('@roundtrip/undici')

async function main() {
  const server = createServer((req, res) => res.end(JSON.stringify({ path: req.url })))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const transport = new Transport()
  const fetch = createFetch(compose(transport, leakTracker(), retry()))
  const response = await fetch('http://127.0.0.1:' + server.address().port + '/cjs')
  const body = await response.json()
  await transport.close()
  server.close()
  console.log(JSON.stringify({ body, kinds: [typeof MockTransport, typeof fromDispatcher] }))
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`

/**
 * A TypeScript program type-checked under each supported resolution. The
 * @ts-expect-error lines fail the check if the types resolved to \`any\`.
 */
export const tsProgram = `
import { compose, type Middleware, type RoundTripper } from '@roundtrip/core'
import { Transport, type TransportOptions } from '@roundtrip/transport'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker, type Leak } from '@roundtrip/leak-tracker'
import { retry, timeout } from '@roundtrip/middleware'
import { MockTransport } from '@roundtrip/testing'
import { fromDispatcher, toDispatcher } from '@roundtrip/undici'

const options: TransportOptions = { maxConnsPerHost: 4 }
const transport = new Transport(options)
const layers: Middleware[] = [leakTracker({ onLeak: (leak: Leak) => console.log(leak.url) }), retry({ limit: 2 }), timeout(5_000)]
const client: RoundTripper = compose(transport, ...layers)
const fetch: typeof globalThis.fetch = createFetch(client)
export const pending: Promise<Response> = fetch('http://127.0.0.1:1/')
export const mocked: RoundTripper = new MockTransport()
export const bridged = [toDispatcher(client), fromDispatcher(toDispatcher(client))] as const
// @ts-expect-error an unknown option is a type error
new Transport({ maxConnPerHost: 4 })
// @ts-expect-error roundTrip takes a Request
void client.roundTrip('http://127.0.0.1:1/')
`

/** The TypeScript configurations the READMEs say are supported: nodenext and bundler. */
export function tsconfigs(typeRoots: string): Record<string, object> {
  const common = { target: 'es2022', lib: ['es2023', 'dom'], strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [typeRoots] }
  return {
    'tsconfig.nodenext.json': { compilerOptions: { ...common, module: 'nodenext', moduleResolution: 'nodenext' }, files: ['check.ts'] },
    'tsconfig.bundler.json': { compilerOptions: { ...common, module: 'preserve', moduleResolution: 'bundler' }, files: ['check.ts'] },
  }
}
