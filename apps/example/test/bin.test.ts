import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, lstat, mkdir, mkdtemp, readlink, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { listen, type Origin } from '../../../test/loopback.js'
import { SPAWN_TEST_TIMEOUT } from '../../../test/run-node.js'

// The command as npm installs it for the workspace (`npx linkcheck` runs this link).
const linked = fileURLToPath(new URL('../../../node_modules/.bin/linkcheck', import.meta.url))
const source = fileURLToPath(new URL('../bin/linkcheck.js', import.meta.url))

interface Run {
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code once the process has exited (null if a signal ended it). */
  exit: Promise<number | null>
  /** Resolves once stderr contains `text`; rejects if the process exits first. */
  stderrContains: (text: string) => Promise<void>
  interrupt: () => void
}

function run(command: string, args: string[]): Run {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exit = once(child, 'close').then(() => child.exitCode)
  const stderrContains = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!stderr.includes(text)) return
        child.stderr.off('data', check)
        resolve()
      }
      // Listeners run in the order added: the one above has appended the chunk when this one looks.
      child.stderr.on('data', check)
      check()
      void exit.then(() => reject(new Error(`exited before stderr said ${JSON.stringify(text)}; stderr: ${stderr}`)))
    })
  return { stdout: () => stdout, stderr: () => stderr, exit, stderrContains, interrupt: () => child.kill('SIGINT') }
}

let server: Origin | undefined
let dir: string | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

/** A site whose handler is the test's; resolves with its origin. */
async function site(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = await listen(handler)
  return server.url
}

// Each test spawns the command (a Node that imports every package): on a loaded machine that takes seconds.
describe('the linkcheck command', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('is linked by npm to bin/linkcheck.js, which exists before any build, and runs through the link', async () => {
    expect((await lstat(linked)).isSymbolicLink()).toBe(true)
    expect(await readlink(linked)).toBe('../@roundtrip/example/bin/linkcheck.js')
    const help = run(linked, ['--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toMatch(/^linkcheck \[url\] \[options\]/)
    const bad = run(linked, ['--depth', 'abc'])
    expect(await bad.exit).toBe(2)
    expect(bad.stderr()).toBe('linkcheck: --depth must be a whole number of 0 or more, got "abc"\n')
    expect(bad.stdout()).toBe('')
  })

  it('says to build first when dist is missing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'linkcheck-'))
    await mkdir(join(dir, 'bin'))
    await copyFile(source, join(dir, 'bin', 'linkcheck.js'))
    const unbuilt = run(process.execPath, [join(dir, 'bin', 'linkcheck.js'), '--help'])
    expect(await unbuilt.exit).toBe(1)
    expect(unbuilt.stderr()).toMatch(/dist\/cli\.js is missing: build the workspace first \(npm run build at the repository root\)\n$/)
  })
})

describe('Ctrl-C exits 130', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('while the start page is being fetched', async () => {
    let interrupt = (): void => {}
    const origin = await site(() => interrupt()) // never answers
    const cli = run(linked, [`${origin}/`])
    interrupt = cli.interrupt
    expect(await cli.exit).toBe(130)
    expect(cli.stderr()).toBe('linkcheck: interrupted\n')
  })

  it('while crawling, with the partial report', async () => {
    let interrupt = (): void => {}
    const origin = await site((req, res) => {
      if (req.url === '/hang') return interrupt() // never answers
      res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="/hang">hang</a>')
    })
    const cli = run(linked, [`${origin}/`])
    interrupt = cli.interrupt
    expect(await cli.exit).toBe(130)
    expect(cli.stdout()).toContain('Interrupted: partial report')
  })

  it('while leaking on purpose (--leak), with the report', async () => {
    // A site without links (the demo site's slow page would hold the crawl for the whole --timeout),
    // so the default deadline can be one a loaded machine keeps (500 ms on the demo site was not, at load 30).
    const origin = await site((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(req.url === '/archive' ? 'x'.repeat(1 << 20) : '<p>no links</p>')
    })
    const cli = run(linked, [`${origin}/`, '--leak', '--connections', '1'])
    await cli.stderrContains('Leaking response bodies on purpose')
    cli.interrupt()
    expect(await cli.exit).toBe(130)
    expect(cli.stdout()).toContain('Interrupted: partial report')
  })
})
