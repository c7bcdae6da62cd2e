import { builtinModules } from 'node:module'

/**
 * How a README code block is tested, from the words after its language on
 * the fence line (GitHub shows only the language):
 *
 *     ```ts                          type-checked and run
 *     ```ts check-only — <reason>    type-checked, not run (it runs inside vitest, fails on purpose…)
 *     ```ts no-check — <reason>      shown only (an outline of a signature, a fragment)
 *
 * A reason is required for the last two, so that a reader of the README
 * source sees why the block is not run.
 */
export type BlockMode = 'run' | 'check-only' | 'no-check'

/** CodeBlock is one fenced block of a README. */
export interface CodeBlock {
  /** The README, relative to the repository root. */
  readme: string
  /** The 1-based line of the block's first code line in the README. */
  line: number
  lang: string
  mode: BlockMode
  reason: string
  code: string
  /** What is wrong with the fence line itself (an unknown flag, a missing reason). */
  problem: string | undefined
}

const SCRIPT_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'mts'])
const MODES = new Set<string>(['check-only', 'no-check'])

/** isScript says whether a block holds TypeScript or JavaScript, the blocks that are checked. */
export function isScript(block: CodeBlock): boolean {
  return SCRIPT_LANGS.has(block.lang)
}

/** codeBlocks lists the fenced code blocks of a markdown text, in order. */
export function codeBlocks(readme: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i]!)
    if (open === null) continue
    const fence = open[1]!
    const [lang = '', flag = '', ...rest] = open[2]!.trim().split(/\s+/)
    const reason = rest.join(' ').replace(/^[—–:-]\s*/, '').trim()
    let problem: string | undefined
    let mode: BlockMode = 'run'
    if (flag !== '') {
      if (MODES.has(flag)) mode = flag as BlockMode
      else problem = `unknown flag "${flag}" after \`${lang}\` (known: check-only, no-check, each with a reason)`
      if (problem === undefined && reason === '') problem = `\`${lang} ${flag}\` needs a reason after it`
    }
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      if (close.test(lines[j]!)) break
      body.push(lines[j]!)
    }
    blocks.push({ readme, line: i + 2, lang: lang.toLowerCase(), mode, reason, code: body.join('\n'), problem })
    i = j
  }
  return blocks
}

/** importedPackages lists the npm packages a script imports or requires (not Node's own modules, not relative files). */
export function importedPackages(code: string): string[] {
  const specifiers = [
    ...code.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm),
    ...code.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!)
  const packages = new Set<string>()
  for (const specifier of specifiers) {
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) continue
    const parts = specifier.split('/')
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
    if (!builtinModules.includes(name)) packages.add(name)
  }
  return [...packages]
}

/** installedPackages lists the packages the README's install commands name (npm install/i/add, pnpm add, yarn add). */
export function installedPackages(blocks: CodeBlock[]): string[] {
  const names = new Set<string>()
  for (const block of blocks) {
    for (const m of block.code.matchAll(/\b(?:npm\s+(?:install|i|add)|pnpm\s+add|yarn\s+add)\b([^\n#]*)/g)) {
      for (const word of m[1]!.trim().split(/\s+/)) {
        if (word === '' || word.startsWith('-')) continue
        names.add(word.replace(/(.)@[^/]*$/, '$1')) // drop a version: pkg@^1, @scope/pkg@1
      }
    }
  }
  return [...names]
}

/**
 * errorConstants lists the `ERR_*` names a README mentions in backticks,
 * with the code it says each stands for when it writes `` `ERR_X` (`RT_Y`) ``.
 */
export function errorConstants(markdown: string): Array<{ name: string; code: string | undefined }> {
  const found = new Map<string, string | undefined>()
  for (const m of markdown.matchAll(/`(ERR_[A-Z0-9_]+)`(?:\s*\(`'?(RT_[A-Z0-9_]+)'?`\))?/g)) {
    if (!found.has(m[1]!) || m[2] !== undefined) found.set(m[1]!, m[2])
  }
  return [...found].map(([name, code]) => ({ name, code }))
}

/** relativeLinks lists the targets of a markdown text's relative links (`[text](target)`), without their #fragment. */
export function relativeLinks(markdown: string): string[] {
  const targets: string[] = []
  for (const m of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue
    targets.push(target.replace(/#.*$/, ''))
  }
  return targets
}
