import { describe, expect, it } from 'vitest'
import { resolveNode } from './node.js'

describe('resolveNode', () => {
  it('is the running Node when --node is not given', () => {
    expect(resolveNode(undefined)).toEqual({ execPath: process.execPath, version: process.version, undici: process.versions['undici'] })
  })

  it('takes a path to a node binary, and asks it its version', () => {
    expect(resolveNode(process.execPath)).toEqual({ execPath: process.execPath, version: process.version, undici: process.versions['undici'] })
  })

  it('says why when the path is not a Node that runs', () => {
    expect(() => resolveNode('/nonexistent/node')).toThrow('--node /nonexistent/node: /nonexistent/node does not run as Node.js (spawnSync /nonexistent/node ENOENT)')
    expect(() => resolveNode('/bin/false')).toThrow('--node /bin/false: /bin/false does not run as Node.js (exit 1)')
  })

  it('passes on why a version cannot be installed', () => {
    // A major CI does not pin fails before any download.
    expect(() => resolveNode('21')).toThrow('--node 21: could not install it: install-node: no pinned version for Node 21 (pinned majors: 22, 24)')
  })
})
