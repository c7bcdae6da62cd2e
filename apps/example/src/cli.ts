// The command is bin/linkcheck.js, which calls main(); this module runs nothing when imported.
import { parseArgs } from 'node:util'
import { check, CheckError, parseStart, type CheckOptions } from './app.js'
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

/** A whole number in [min, Number.MAX_SAFE_INTEGER], written in decimal digits; anything else is a usage error. */
function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min) throw new CheckError(`--${name} must be a whole number of ${min} or more, got ${JSON.stringify(value)}`, 2)
  return n
}

/** Arguments is the command line, read and checked: nothing has started yet. */
export type Arguments =
  | { help: true }
  | {
      help: false
      /** The start URL, or undefined for the embedded demo site. */
      start: string | undefined
      json: boolean
      options: Omit<CheckOptions, 'start' | 'timeout' | 'signal' | 'onProgress' | 'onPhase'>
      /** The deadline per URL, or undefined for the default (which depends on the site). */
      timeout: number | undefined
    }

/**
 * parseArguments reads and checks every argument, so that a bad one is
 * reported (CheckError, exit code 2) before any server or connection starts.
 */
export function parseArguments(argv: string[]): Arguments {
  let parsed
  try {
    parsed = parseArgs({
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
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new CheckError(`${(error as Error).message}\n\n${usage}`, 2)
    throw error
  }
  const { values, positionals } = parsed
  if (values.help) return { help: true }
  const transport = values.transport ?? 'pooled'
  if (transport !== 'pooled' && transport !== 'node-fetch') throw new CheckError(`--transport must be pooled or node-fetch, got ${JSON.stringify(transport)}`, 2)
  if (positionals.length > 1) throw new CheckError(`one start URL at most, got ${positionals.length}: ${positionals.join(' ')}`, 2)
  const start = positionals[0]
  if (start !== undefined) parseStart(start)
  return {
    help: false,
    start,
    json: values.json === true,
    timeout: values.timeout === undefined ? undefined : wholeNumber('timeout', values.timeout, 0, 0),
    options: {
      transport,
      depth: wholeNumber('depth', values.depth, 3, 0),
      maxPages: wholeNumber('max-pages', values['max-pages'], 50, 1),
      concurrency: wholeNumber('concurrency', values.concurrency, 8, 1),
      connectionsPerHost: wholeNumber('connections', values.connections, 4, 1),
      leak: values.leak === true,
    },
  }
}

/**
 * main runs the CLI with `argv` and resolves with the exit code: 0 all good,
 * 1 broken links or an unusable start page, 2 bad arguments, 130 interrupted
 * (SIGINT, in whichever phase it arrives).
 */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let site: Awaited<ReturnType<typeof startSite>> | undefined
  const controller = new AbortController()
  const onSigint = (): void => controller.abort(new Error('interrupted'))
  // Listening from the first moment: a Ctrl-C while the demo site starts is
  // seen once it has started (and the site is closed again). A second Ctrl-C
  // finds no listener and ends the process at once (Node's default).
  process.once('SIGINT', onSigint)
  try {
    const args = parseArguments(argv)
    if (args.help) {
      out.write(`${usage}\n`)
      return 0
    }
    let start = args.start
    if (start === undefined) {
      site = await startSite()
      start = site.start
      if (controller.signal.aborted) throw new CheckError('interrupted', 130)
      if (!args.json) err.write(`Checking the embedded demo site at ${start} (origins ${Object.values(site.origins).join(', ')})\n`)
    }
    const tty = (err as { isTTY?: boolean }).isTTY === true && !args.json
    const report = await check({
      ...args.options,
      start,
      timeout: args.timeout ?? (site === undefined ? 10_000 : DEMO_TIMEOUT),
      signal: controller.signal,
      onProgress: ({ checked, queued, url }) => {
        if (args.json) return
        if (tty) err.write(`\r\x1b[K[${checked} checked, ${queued} queued] ${url.slice(0, 80)}`)
        else err.write(`checked ${url}\n`)
      },
      onPhase: (phase) => {
        if (phase === 'leak' && !args.json) err.write(`${tty ? '\r\x1b[K' : ''}Leaking response bodies on purpose (--leak)…\n`)
      },
    })
    if (tty) err.write('\r\x1b[K')
    out.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
    if (report.interrupted) return 130
    // On the embedded site the broken links are the demo; on a real site they fail the run.
    return report.broken.length > 0 && site === undefined ? 1 : 0
  } catch (error) {
    if (error instanceof CheckError) {
      err.write(`linkcheck: ${error.message}\n`)
      return error.exitCode
    }
    throw error
  } finally {
    process.off('SIGINT', onSigint)
    await site?.close()
  }
}
