import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { ERR_RECORDING_INVALID, TestingError } from './errors.js'

/** A body as stored: UTF-8 text as is, other bytes in base64; `null` for a response without a body. */
export interface StoredBody {
  body: string | null
  /** Present only for bytes that are not UTF-8 text. */
  bodyEncoding?: 'base64'
}

/** One recorded request: its line, the chosen headers, its body. */
export interface StoredRequest extends StoredBody {
  method: string
  url: string
  headers: Record<string, string>
}

/** One recorded response. Headers are `[name, value]` pairs in `Headers` order (sorted; `set-cookie` once per cookie). */
export interface StoredResponse extends StoredBody {
  status: number
  statusText: string
  headers: Array<[string, string]>
  /** The response URL, only when it differs from the request's. */
  url?: string
}

/** One request and the response it got. */
export interface Exchange {
  request: StoredRequest
  response: StoredResponse
}

/** The file `record()` reads and writes. */
export interface RecordingFile {
  version: 1
  exchanges: Exchange[]
}

const fatal = new TextDecoder('utf-8', { fatal: true })

/** storeBody keeps text as text (readable in review) and anything else as base64. */
export function storeBody(bytes: Uint8Array | null): StoredBody {
  if (bytes === null) return { body: null }
  try {
    return { body: fatal.decode(bytes) }
  } catch {
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), bodyEncoding: 'base64' }
  }
}

/** loadBody gives the bytes back. */
export function loadBody(stored: StoredBody): Uint8Array | null {
  if (stored.body === null) return null
  return stored.bodyEncoding === 'base64' ? new Uint8Array(Buffer.from(stored.body, 'base64')) : new TextEncoder().encode(stored.body)
}

/** stableJson writes `value` with object keys sorted at every level, two-space indented, so files diff well. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort)
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      )
    }
    return v
  }
  return `${JSON.stringify(sort(value), null, 2)}\n`
}

/** readRecording loads `file`; a missing file is an empty recording. */
export function readRecording(file: string): RecordingFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, exchanges: [] }
    throw new TestingError(ERR_RECORDING_INVALID, `cannot read the recording ${file}: ${(error as Error).message}`, { cause: error })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new TestingError(ERR_RECORDING_INVALID, `the recording ${file} is not JSON: ${(error as Error).message}`, { cause: error })
  }
  const file1 = parsed as Partial<RecordingFile> | null
  if (typeof file1 !== 'object' || file1 === null || file1.version !== 1 || !Array.isArray(file1.exchanges)) {
    throw new TestingError(ERR_RECORDING_INVALID, `${file} is not a recording made by record() (expected { "version": 1, "exchanges": [...] })`)
  }
  return file1 as RecordingFile
}

/** writeRecording replaces `file` whole (through a temporary file, so a crash never leaves half a recording). */
export function writeRecording(file: string, recording: RecordingFile): void {
  mkdirSync(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, stableJson(recording))
  renameSync(temp, file)
}
