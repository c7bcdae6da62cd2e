import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type Origin } from '../../../test/loopback.js'
import { codeBlocks, errorConstants, importedPackages, installedPackages, isScript, relativeLinks, type CodeBlock } from '../src/readme.js'
import { run } from '../src/run.js'
import { root } from '../src/workspace.js'

// Every package README and the root one. Found when the file is collected,
// so a README added later (a new package) is checked without a change here.
const packageReadmes = readdirSync(join(root, 'packages'))
  .map((folder) => `packages/${folder}/README.md`)
  .filter((readme) => existsSync(join(root, readme)))
const readmes = ['README.md', ...packageReadmes]
const markdown = new Map(readmes.map((readme) => [readme, readFileSync(join(root, readme), 'utf8')]))
const blocks = new Map(readmes.map((readme) => [readme, codeBlocks(readme, markdown.get(readme)!)]))
const scripts = readmes.flatMap((readme) => blocks.get(readme)!.filter(isScript))
const checked = scripts.filter((block) => block.mode !== 'no-check' && block.problem === undefined)

describe.each(readmes)('%s', (readme) => {
  const text = markdown.get(readme)!
  const own = blocks.get(readme)!

  it('states ESM only, Node >= 20.19 and the TypeScript resolutions supported (and what moduleResolution node gives)', () => {
    const missing = ['ESM only', 'Node.js >= 20.19', '`nodenext`', '`bundler`', 'TS2307'].filter((words) => !text.includes(words))
    expect(missing).toEqual([])
  })

  it('names in its install commands every package its examples import', () => {
    const installed = new Set(installedPackages(own))
    const missing = [...new Set(own.filter((b) => isScript(b) && b.mode !== 'no-check').flatMap((b) => importedPackages(b.code)))].filter((name) => !installed.has(name))
    expect(missing).toEqual([])
  })

  it('links only to files inside the repository', () => {
    const from = dirname(join(root, readme))
    const outside = relativeLinks(text).filter((target) => {
      const path = resolve(from, decodeURI(target))
      return !path.startsWith(root) || !existsSync(path)
    })
    expect(outside).toEqual([])
  })

  it('marks each code block it does not run with a known flag and a reason', () => {
    expect(own.filter((b) => b.problem !== undefined).map((b) => `${readme}:${b.line - 1}: ${b.problem}`)).toEqual([])
  })

  it.runIf(readme.startsWith('packages/'))('names only ERR_* constants its package exports, with the codes they hold', async () => {
    const manifest = JSON.parse(readFileSync(join(root, dirname(readme), 'package.json'), 'utf8')) as { name: string }
    const exported = (await import(manifest.name)) as Record<string, unknown>
    const wrong = errorConstants(text)
      .filter(({ name, code }) => typeof exported[name] !== 'string' || (code !== undefined && exported[name] !== code))
      .map(({ name, code }) => `${name}${code === undefined ? '' : ` (${code})`}: exported as ${JSON.stringify(exported[name])}`)
    expect(wrong).toEqual([])
  })
})

// The examples, type-checked by one tsc over all of them and run with node,
// against a loopback server that stands in for every http(s) origin a
// README names.
const work = join(root, 'apps/package-check/.readme-blocks')
let server: Origin | undefined
const diagnostics = new Map<string, string[]>()
const outcomes = new Map<string, string>()
let runnerProblem: string | undefined

// One process runs every runnable block, one after the other (importing the
// packages once is most of a block's cost). A block's failure, a rejection it
// leaves unhandled and a block that does not finish within 10 s are recorded
// against it; the process must then exit on its own: a block that leaves a
// socket or a timer behind keeps it alive and fails the last test below.
const runner = `
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
const [results, ...files] = process.argv.slice(2)
const outcome = {}
let current
const fail = (error) => { if (current !== undefined && outcome[current] === 'ran') outcome[current] = 'failed later: ' + (error?.stack ?? error) }
process.on('unhandledRejection', fail)
process.on('uncaughtException', fail)
const fetch = globalThis.fetch
for (const file of files) {
  current = file
  let timer
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('did not finish within 10 s')), 10_000) })
  try {
    await Promise.race([import(pathToFileURL(file).href), late])
    outcome[file] = 'ran'
  } catch (error) {
    outcome[file] = 'failed: ' + (error?.stack ?? error)
  } finally {
    clearTimeout(timer)
    globalThis.fetch = fetch // a block may replace it (the fetch README does)
  }
}
await new Promise((resolve) => setImmediate(resolve))
writeFileSync(results, JSON.stringify(outcome))
setTimeout(() => process.stderr.write('still running: ' + process.getActiveResourcesInfo().join(', ') + '\\n'), 5_000).unref()
`

function fileOf(block: CodeBlock): string {
  return `${block.readme.replace(/[/.]/g, '_')}_L${block.line}`
}

/** source is a block as a module of its own, with its URLs pointed at the loopback server; lines are kept. */
function source(block: CodeBlock, origin: string): string {
  const code = block.code.replace(/\bhttps?:\/\/[a-z0-9.-]+(?::\d+)?(?=[/'"`\s])/gi, origin)
  return /^\s*(import|export)\s/m.test(code) ? `${code}\n` : `${code}\nexport {}\n`
}

beforeAll(async () => {
  server = await listen((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' })
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ id: 1, name: 'Ada', path: req.url }))
  })
  const origin = server.url
  await rm(work, { recursive: true, force: true })
  await mkdir(work, { recursive: true })
  await writeFile(join(work, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
  const compilerOptions = {
    target: 'es2022',
    lib: ['es2023', 'esnext.disposable'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    skipLibCheck: true,
    types: ['node'],
    rootDir: '.',
    outDir: 'out',
  }
  await writeFile(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }))
  for (const block of checked) await writeFile(join(work, `${fileOf(block)}.ts`), source(block, origin))
  const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', work, '--pretty', 'false'], { cwd: work }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }),
  )
  for (const line of tsc.stdout.split('\n')) {
    const m = /^([^(]+)\.ts\((\d+),(\d+)\): (.*)$/.exec(line)
    if (m === null) continue
    const block = checked.find((b) => fileOf(b) === m[1])
    if (block === undefined) continue
    const list = diagnostics.get(m[1]!) ?? []
    list.push(`${block.readme}:${block.line + Number(m[2]) - 1}:${m[3]} ${m[4]}`)
    diagnostics.set(m[1]!, list)
  }
  const runnable = checked.filter((b) => b.mode === 'run')
  await writeFile(join(work, 'runner.mjs'), runner)
  const results = join(work, 'results.json')
  const ran = await run(process.execPath, [join(work, 'runner.mjs'), results, ...runnable.map((b) => join(work, 'out', `${fileOf(b)}.js`))], { cwd: work, timeout: 60_000 }).then(
    () => undefined,
    (error: { code?: unknown; signal?: unknown; stderr?: string }) => `the runner failed (exit ${String(error.code ?? error.signal)}): ${error.stderr ?? ''}`,
  )
  const recorded = JSON.parse(await readFile(results, 'utf8').catch(() => '{}')) as Record<string, string>
  for (const block of runnable) outcomes.set(fileOf(block), recorded[join(work, 'out', `${fileOf(block)}.js`)] ?? ran ?? 'not run')
  runnerProblem = ran
}, 180_000)

afterAll(async () => {
  await server?.close()
  await rm(work, { recursive: true, force: true })
})

describe('README examples', () => {
  it('are found', () => {
    expect(checked.length).toBeGreaterThan(10)
  })

  it.each(checked.map((block) => [`${block.readme}:${block.line - 1}`, block] as const))('%s type-checks and runs as written', (_, block) => {
    expect(diagnostics.get(fileOf(block)) ?? []).toEqual([])
    if (block.mode === 'run') expect(outcomes.get(fileOf(block))).toBe('ran')
  })

  it('leave nothing running once they are done (the runner exits on its own)', () => {
    expect(runnerProblem).toBeUndefined()
  })
})
