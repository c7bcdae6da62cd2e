import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { check } from '../src/app.js'
import { main } from '../src/cli.js'
import type { Report } from '../src/report.js'
import { DEMO_TIMEOUT, startSite, type EmbeddedSite } from '../src/site.js'

/** A stream that keeps what is written; `contains(part)` resolves once `part` has been written. */
function sink(): { stream: Writable; text: () => string; contains: (part: string) => Promise<void> } {
  let text = ''
  const waiting: Array<{ part: string; resolve: () => void }> = []
  const stream = new Writable({
    write: (chunk, _e, cb) => {
      text += String(chunk)
      for (let i = waiting.length - 1; i >= 0; i--) if (text.includes(waiting[i]!.part)) waiting.splice(i, 1)[0]!.resolve()
      cb()
    },
  })
  const contains = (part: string): Promise<void> =>
    text.includes(part) ? Promise.resolve() : new Promise((resolve) => waiting.push({ part, resolve }))
  return { stream, text: () => text, contains }
}

let site: EmbeddedSite | undefined
afterEach(async () => {
  await site?.close()
  site = undefined
})

describe('linkcheck on the embedded site', () => {
  it.each(['pooled', 'node-fetch'] as const)('finds exactly the broken links and redirects, leaks nothing (%s)', async (transport) => {
    site = await startSite()
    const { www, docs, cdn, refused } = site.origins
    const report = await check({ start: site.start, transport, depth: 3, maxPages: 50, concurrency: 8, connectionsPerHost: 4, timeout: DEMO_TIMEOUT })
    expect(report.broken.map((b) => [b.url, b.status ?? b.error, b.foundOn.sort()])).toEqual(
      [
        [`${cdn}/missing-asset`, 404, [`${www}/news`]],
        [`${refused}/`, 'RT_CONNECT_REFUSED', [`${www}/`]],
        [`${www}/blog/draft`, 404, [`${www}/blog/second`]],
        [`${www}/broken`, 500, [`${www}/`]],
        [`${www}/missing`, 404, [`${www}/`, `${www}/team`].sort()],
        [`${www}/slow`, 'TimeoutError', [`${www}/`]],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))).map((row) => (transport === 'pooled' || row[1] !== 'RT_CONNECT_REFUSED' ? row : [row[0], 'ECONNREFUSED', row[2]])),
    )
    expect(report.redirects.map((r) => [r.from, r.to, r.status]).sort()).toEqual(
      [
        [`${www}/old-about`, `${www}/about`, 301],
        [`${www}/to-docs`, `${docs}/guide`, 302],
        [`${docs}/guide/old`, `${docs}/guide`, 308],
      ].sort(),
    )
    expect(report.leaks).toEqual([])
    expect(report.pages).toBe(9)
    if (transport === 'pooled') {
      const wwwHost = report.hosts!.find((h) => h.host === www)!
      const docsHost = report.hosts!.find((h) => h.host === docs)!
      expect(wwwHost.requests).toBeGreaterThan(wwwHost.connections)
      expect(docsHost.requests).toBeGreaterThan(docsHost.connections)
      expect(wwwHost.connections).toBeLessThanOrEqual(4)
    } else {
      expect(report.hosts).toBeNull()
    }
  })

  it('writes the report as JSON with --json and exits 0 on the demo site', async () => {
    const out = sink()
    const err = sink()
    const code = await main(['--json'], out.stream, err.stream)
    expect(code).toBe(0)
    const report = JSON.parse(out.text()) as Report
    expect(report.broken).toHaveLength(6)
    expect(report.transport).toBe('pooled')
  })
})

describe('linkcheck on bad input', () => {
  async function run(args: string[]): Promise<{ code: number; err: string }> {
    const out = sink()
    const err = sink()
    const code = await main(args, out.stream, err.stream)
    return { code, err: err.text() }
  }

  it('rejects an invalid URL with exit code 2', async () => {
    expect(await run(['not a url'])).toEqual({ code: 2, err: 'linkcheck: not a valid URL: not a url\n' })
  })

  it.each([
    [['--transport', 'carrier-pigeon'], '--transport must be pooled or node-fetch, got "carrier-pigeon"'],
    [['--depth', 'abc'], '--depth must be a whole number of 0 or more, got "abc"'],
    [['--depth', '-1'], "Option '--depth' argument is ambiguous."],
    [['--depth=-1'], '--depth must be a whole number of 0 or more, got "-1"'],
    [['--depth', '1.5'], '--depth must be a whole number of 0 or more, got "1.5"'],
    [['--depth', ''], '--depth must be a whole number of 0 or more, got ""'],
    [['--concurrency', '0'], '--concurrency must be a whole number of 1 or more, got "0"'],
    [['--connections', '0'], '--connections must be a whole number of 1 or more, got "0"'],
    [['--max-pages', '0'], '--max-pages must be a whole number of 1 or more, got "0"'],
    [['--timeout', '1e3'], '--timeout must be a whole number of 0 or more, got "1e3"'],
    [['--depth', '99999999999999999999'], '--depth must be a whole number of 0 or more, got "99999999999999999999"'],
    [['http://a.test/', 'http://b.test/'], 'one start URL at most, got 2: http://a.test/ http://b.test/'],
    [['ftp://a.test/'], 'only http and https URLs can be checked: ftp://a.test/'],
    [['--colour'], 'Unknown option \'--colour\''],
  ])('rejects %j with exit code 2 before anything starts', async (args, message) => {
    const { code, err } = await run(args)
    expect(code).toBe(2)
    // Had the demo site started, its "Checking the embedded demo site" line would come first.
    expect(err.startsWith(`linkcheck: ${message}`)).toBe(true)
  })

  it('reports an unreachable host with exit code 1', async () => {
    site = await startSite()
    const result = await run([`${site.origins.refused}/`])
    expect(result.code).toBe(1)
    expect(result.err).toMatch(/^linkcheck: cannot reach http:\/\/127\.0\.0\.1:\d+\/: connect refused/)
  })

  it('reports a start page that is not HTML with exit code 1', async () => {
    site = await startSite()
    const result = await run([`${site.origins.cdn}/logo.png`])
    expect(result).toEqual({ code: 1, err: `linkcheck: the start page ${site.origins.cdn}/logo.png is not HTML (content-type: image/png)\n` })
  })

  it('exits 1 when a real site has broken links', async () => {
    site = await startSite()
    expect((await run([`${site.origins.www}/team`, '--depth', '0'])).code).toBe(1)
  })
})

describe('linkcheck interrupted', () => {
  it('stops on SIGINT and prints the partial report', async () => {
    site = await startSite()
    const out = sink()
    const err = sink()
    // Interrupt as soon as the slow page is being fetched.
    const running = main([site.start, '--concurrency', '1'], out.stream, err.stream)
    await err.contains('checked')
    process.emit('SIGINT', 'SIGINT')
    expect(await running).toBe(130)
    expect(out.text()).toContain('Interrupted: partial report')
  })

  it('exits 130 when interrupted while the demo site starts, and closes the site', async () => {
    const out = sink()
    const err = sink()
    const running = main([], out.stream, err.stream)
    process.emit('SIGINT', 'SIGINT')
    expect(await running).toBe(130)
    expect(err.text()).toBe('linkcheck: interrupted\n')
    expect(out.text()).toBe('')
  })
})

describe('linkcheck --leak', () => {
  it('reports one leak of each kind: a body that held only memory, and one that held a connection a request waited for', async () => {
    site = await startSite()
    const report = await check({ start: site.start, transport: 'pooled', depth: 1, maxPages: 5, concurrency: 4, connectionsPerHost: 2, timeout: DEMO_TIMEOUT, leak: true })
    const { www } = site.origins
    const memory = report.leaks.filter((l) => l.held === 'memory')
    expect(memory).toMatchObject([{ kind: 'open', url: `${www}/about`, requestedAt: expect.stringMatching(/leak-on-purpose\.ts:\d+:\d+$/) }])
    expect(memory[0]!.message).toContain('it held only memory')
    const blocking = report.leaks.filter((l) => l.kind === 'blocking')
    expect(blocking).toMatchObject([{ held: 'connection', url: `${www}/archive`, requestedAt: expect.stringMatching(/leak-on-purpose\.ts:\d+:\d+$/) }])
    expect(blocking[0]!.message).toMatch(/it held a connection to .* for \d+ ms; 1 request waited/)
    // The other page still holding a connection when the run ended.
    expect(report.leaks.filter((l) => l.kind === 'open' && l.held === 'connection')).toHaveLength(1)
  })
})
