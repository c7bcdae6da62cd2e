import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
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

// The same holds for a function literal that is a member of an object
// literal built inside a function (`return { pull() {…}, cancel: () => … }`,
// `attachHooks(request, { onRetry() {…} })`): one closure per member per
// call, each keeping the call's context. Per-call state goes in an instance
// of a class whose methods are the members (core's BodyListener, call-hooks
// objects and the WHATWG underlying sources take one). Object literals built
// once (per Transport, per middleware, per server) are listed below, by file,
// enclosing function and member, with the reason they may stay.

/** `file function member` of object literals built once per setup, not per request. */
const BUILT_ONCE = new Set([
  'core/src/compose.ts compose roundTrip', // once per compose()
  'core/src/compose.ts forwardLifecycle closeIdleConnections', // once per compose() or wrapper
  'fetch/src/from-fetch.ts fromFetch roundTrip', // once per fromFetch()
  'leak-tracker/src/leak-tracker.ts leakTracker outstanding', // once per leakTracker()
  'leak-tracker/src/leak-tracker.ts leakTracker summary',
  'leak-tracker/src/leak-tracker.ts leakTracker assertNoLeaks',
  'testing/src/fault-server.ts createFaultServer url', // once per test server
  'testing/src/fault-server.ts createFaultServer script',
  'testing/src/fault-server.ts createFaultServer connections',
  'testing/src/fault-server.ts createFaultServer remaining',
  'testing/src/matchers.ts compileUrl test', // once per intercept()
  'transport/src/conn.ts (anonymous) connect', // once per connection
  'transport/src/transport.ts (anonymous) closed', // the PoolHost, once per Transport
  'transport/src/transport.ts (anonymous) now', // the TurnOwner, once per Transport
  'transport/src/transport.ts (anonymous) sendOn', // the TurnOwner
  'transport/src/transport.ts (anonymous) resend', // the TurnOwner
  'transport/src/transport.ts (anonymous) forgetIfEmpty',
  'transport/src/transport.ts (anonymous) checkDrained',
  'transport/src/h2-conn.ts (anonymous) createConnection', // once per connection
  'transport/src/tunnel.ts connectTunnel connect', // once per tunnel
  'transport/src/proxy.ts proxyChoice select', // once per Transport
  'undici/src/from-dispatcher.ts fromDispatcher roundTrip', // once per fromDispatcher()
])

/**
 * Per request (or per response, per dispatch), in files of other packages:
 * reported to their owners, not rewritten yet. A new one fails the test; one
 * that is rewritten must leave this list (a stale entry fails it too).
 */
const KNOWN_PER_REQUEST = new Set([
  'fetch/src/extract-body.ts resume pull', // per request with an async-iterable body
  'fetch/src/extract-body.ts resume cancel',
  'testing/src/interceptor.ts take answer', // per intercepted reply
  'testing/src/reply-body.ts streamBody pull', // per mocked streamed body
  'testing/src/reply-body.ts streamBody cancel',
  'transport/src/decode.ts createDecoder transform', // per content-encoded response
  'transport/src/decode.ts createDecoder flush',
  'transport/src/decode.ts createDecoder construct',
  'transport/src/errors-map.ts tagBodyErrors [Symbol.asyncIterator]', // per streamed request body
  'undici/src/dispatch-handler.ts modern start', // per bridged dispatch
  'undici/src/dispatch-handler.ts modern head',
  'undici/src/dispatch-handler.ts modern data',
  'undici/src/dispatch-handler.ts modern end',
  'undici/src/dispatch-handler.ts modern error',
  'undici/src/dispatch-handler.ts legacy start',
  'undici/src/dispatch-handler.ts legacy head',
  'undici/src/dispatch-handler.ts legacy data',
  'undici/src/dispatch-handler.ts legacy end',
  'undici/src/dispatch-handler.ts legacy error',
  'undici/src/from-dispatcher.ts onHeaders cancel', // per response
])

/** objectLiteralFunctionMembers lists `file function member` of each function-valued member of an object literal built inside a function. */
function objectLiteralFunctionMembers(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node, enclosing: string | undefined): void => {
    if (enclosing !== undefined && ts.isObjectLiteralExpression(node)) {
      for (const member of node.properties) {
        const value = ts.isPropertyAssignment(member) ? skipParentheses(member.initializer) : undefined
        const isFunction =
          ts.isMethodDeclaration(member) ||
          ts.isGetAccessorDeclaration(member) ||
          ts.isSetAccessorDeclaration(member) ||
          (value !== undefined && (ts.isArrowFunction(value) || ts.isFunctionExpression(value)))
        if (isFunction) found.push(`${fileName} ${enclosing} ${member.name!.getText(file)}`)
      }
    }
    const inner = ts.isFunctionLike(node) && !ts.isClassLike(node) && !ts.isConstructorTypeNode(node) && !ts.isFunctionTypeNode(node) ? functionName(node, enclosing) : enclosing
    ts.forEachChild(node, (child) => visit(child, inner))
  }
  visit(file, undefined)
  return found
}

function skipParentheses(node: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) node = node.expression
  return node
}

/** The name of the outermost named function a literal is built in (an anonymous one inside takes its parent's name). */
function functionName(node: ts.SignatureDeclaration, enclosing: string | undefined): string {
  if (enclosing !== undefined) return enclosing
  const name = node.name ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name : undefined)
  return name === undefined ? '(anonymous)' : name.getText()
}

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url))

/** Every package's source files (tests left out), as `name/src/…` paths under PACKAGES. */
function packageSources(): string[] {
  return readdirSync(PACKAGES)
    .filter((name) => existsSync(join(PACKAGES, name, 'src')))
    .flatMap((name) => (readdirSync(join(PACKAGES, name, 'src'), { recursive: true }) as string[]).map((file) => join(name, 'src', file)))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
}

describe('closures made per request', () => {
  // Every package is checked here, in the package whose requests showed it:
  // a closure made per request anywhere on the path (a middleware's trace
  // hook, an adapter's abort listener) keeps the request alive the same way.
  it('are never function literals assigned to a property in any package (V8 allocates those in the old generation)', () => {
    const sources = packageSources()
    expect(sources).toContain(join('transport', 'src', 'exchange.ts'))
    expect(sources).toContain(join('middleware', 'src', 'logger', 'logger.ts'))
    const found = sources.flatMap((file) => assignedFunctionLiterals(file, readFileSync(join(PACKAGES, file), 'utf8')))
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

describe('function members of object literals built per request', () => {
  it('are in no package, but for the ones built once and the known ones of other packages (listed above)', () => {
    const sources = packageSources()
    const found = sources.flatMap((file) => objectLiteralFunctionMembers(file.split('\\').join('/'), readFileSync(join(PACKAGES, file), 'utf8')))
    expect(found.filter((site) => !BUILT_ONCE.has(site) && !KNOWN_PER_REQUEST.has(site))).toEqual([])
    // A listed site that is gone must leave its list.
    expect([...BUILT_ONCE, ...KNOWN_PER_REQUEST].filter((site) => !found.includes(site))).toEqual([])
  })

  it('finds methods, accessors and function-valued members of literals built in functions, not of module-level ones', () => {
    const source = [
      'const once = { a() {}, b: () => 1 }',
      'export function make(x: number) {',
      '  const state = { n: x, c() { return x }, get d() { return x }, e: (() => x) as () => number, f: function () {} }',
      '  return new ReadableStream({ pull: () => {} }, { highWaterMark: 0 })',
      '}',
      'const arrow = () => ({ g() {} })',
      'class K { m() { return { h: () => 1, i: this } } }',
    ].join('\n')
    expect(objectLiteralFunctionMembers('a.ts', source)).toEqual([
      'a.ts make c',
      'a.ts make d',
      'a.ts make e',
      'a.ts make f',
      'a.ts make pull',
      'a.ts arrow g',
      'a.ts m h',
    ])
  })
})
