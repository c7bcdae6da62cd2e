#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { check, CheckError, type CheckOptions } from './app.js'
import { formatReport } from './report.js'
import { DEMO_TIMEOUT, startSite } from './site.js'

const usage = `linkcheck [url] [options]

Checks the links of a site. Without a URL, checks the embedded demo site
(three origins on 127.0.0.1, started and stopped by the app).

Options:
  --transport pooled|node-fetch  what runs under createFetch (default pooled: the roundtrip Transport)
  --depth N                      link depth to crawl from the start page (default 3)
  --max-pages N                  most pages to crawl (default 50)
  --concurrency N                requests in flight (default 8)
  --connections N                connections per host for the pooled transport (default 4)
  --timeout MS                   deadline per URL, retries included (default 10000; 3000 on the demo site)
  --leak                         after the crawl, leak response bodies on purpose (one that holds
                                 only memory, some that hold connections) to show the leak reports
  --json                         write the report as JSON
  -h, --help                     this text`

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new CheckError(`--${name} must be a whole number, got ${value}`, 2)
  return n
}

/** main runs the CLI with `argv` and resolves with the exit code. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let site: Awaited<ReturnType<typeof startSite>> | undefined
  const controller = new AbortController()
  const onSigint = (): void => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSigint)
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        transport: { type: 'string' },
        depth: { type: 'string' },
        'max-pages': { type: 'string' },
        concurrency: { type: 'string' },
        connections: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        leak: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
    if (values.help) {
      out.write(`${usage}\n`)
      return 0
    }
    const transport = values.transport ?? 'pooled'
    if (transport !== 'pooled' && transport !== 'node-fetch') throw new CheckError(`--transport must be pooled or node-fetch, got ${transport}`, 2)
    let start = positionals[0]
    if (start === undefined) {
      site = await startSite()
      start = site.start
      if (!values.json) err.write(`Checking the embedded demo site at ${start} (origins ${Object.values(site.origins).join(', ')})\n`)
    }
    const tty = (err as { isTTY?: boolean }).isTTY === true && !values.json
    const options: CheckOptions = {
      start,
      transport,
      depth: positive('depth', values.depth, 3),
      maxPages: positive('max-pages', values['max-pages'], 50),
      concurrency: Math.max(1, positive('concurrency', values.concurrency, 8)),
      connectionsPerHost: Math.max(1, positive('connections', values.connections, 4)),
      timeout: positive('timeout', values.timeout, site === undefined ? 10_000 : DEMO_TIMEOUT),
      signal: controller.signal,
      leak: values.leak === true,
      onProgress: ({ checked, queued, url }) => {
        if (values.json) return
        if (tty) err.write(`\r\x1b[K[${checked} checked, ${queued} queued] ${url.slice(0, 80)}`)
        else err.write(`checked ${url}\n`)
      },
    }
    const report = await check(options)
    if (tty) err.write('\r\x1b[K')
    out.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
    if (report.interrupted) return 130
    // On the embedded site the broken links are the demo; on a real site they fail the run.
    return report.broken.length > 0 && site === undefined ? 1 : 0
  } catch (error) {
    if (error instanceof CheckError) {
      err.write(`linkcheck: ${error.message}\n`)
      return error.exitCode
    }
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`linkcheck: ${(error as Error).message}\n\n${usage}\n`)
      return 2
    }
    throw error
  } finally {
    process.off('SIGINT', onSigint)
    await site?.close()
  }
}

if (process.argv[1]?.endsWith('cli.js')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`linkcheck: ${String((error as Error)?.stack ?? error)}\n`)
      process.exitCode = 1
    },
  )
}
