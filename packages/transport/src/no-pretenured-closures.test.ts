import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// V8's parser marks a function literal assigned to a property
// (`this.#onSignal = () => …`) to be allocated in the old generation, so
// that it can become a constant property. Made once per request, such a
// closure outlives its request there until the next full GC, and keeps its
// context alive meanwhile: every young GC then promoted the whole request
// (the Exchange, the Request, the response head), about 1 KB per request
// (issue 21). Closures made per request are returned by a function instead.

/** `x.y = () =>`, `x.#y = async (a, b): T =>`, `x[k] = function`, also in parentheses; not `==`. */
const ASSIGNED_FUNCTION = /(?:\.#?[\w$]+|\])\s*=(?![=>])\s*\(?\s*(?:async\s+)?(?:function\b|(?:\([^()]*\)|[\w$]+)\s*(?::[^=;{]+?)?=>)/g

/** assignedFunctionLiterals lists `file:line` of each function literal assigned to a property in `source` (comments skipped). */
function assignedFunctionLiterals(fileName: string, source: string): string[] {
  // Comments are blanked (newlines kept, for line numbers); `//` only after a space or at a line start, not in 'http://'.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|\s)\/\/.*$/gm, '$1')
  return [...code.matchAll(ASSIGNED_FUNCTION)].map((m) => `${fileName}:${code.slice(0, m.index).split('\n').length}`)
}

describe('closures made per request', () => {
  // Every package is checked here, in the package whose requests showed it:
  // a closure made per request anywhere on the path (a middleware's trace
  // hook, an adapter's abort listener) keeps the request alive the same way.
  it('are never function literals assigned to a property in any package (V8 allocates those in the old generation)', () => {
    const packages = fileURLToPath(new URL('../../', import.meta.url))
    const sources = readdirSync(packages)
      .filter((name) => existsSync(join(packages, name, 'src')))
      .flatMap((name) => (readdirSync(join(packages, name, 'src'), { recursive: true }) as string[]).map((file) => join(name, 'src', file)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    expect(sources).toContain(join('transport', 'src', 'exchange.ts'))
    expect(sources).toContain(join('middleware', 'src', 'logger', 'logger.ts'))
    const found = sources.flatMap((file) => assignedFunctionLiterals(file, readFileSync(join(packages, file), 'utf8')))
    expect(found).toEqual([])
  })

  it('finds the pattern, through parentheses and casts, and leaves other closures alone', () => {
    const source = [
      'class A {',
      '  #f = () => 1',
      '  constructor(s: AbortSignal) {',
      '    this.#g = () => s.reason',
      '    this.h = (function () {}) as () => void',
      '    obj["k"] = async () => {}',
      '    const local = () => this',
      '    s.addEventListener("abort", () => {})',
      '    this.i = make(() => 2)',
      '    if (this.j == (x)) return // this.k = () => 1',
      '    /* this.l = () => 1 */ fetch("http://x/")',
      '    this.m = (',
      '      a: number,',
      '      b: string,',
      '    ): void => {}',
      '  }',
      '}',
    ].join('\n')
    expect(assignedFunctionLiterals('a.ts', source)).toEqual(['a.ts:4', 'a.ts:5', 'a.ts:6', 'a.ts:12'])
  })
})
