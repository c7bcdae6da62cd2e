import { getRoundTripError } from '@roundtrip/fetch'
import { extractLinks } from './links.js'

/** CrawlOptions bound the crawl. */
export interface CrawlOptions {
  /** Link depth from the start page to crawl (the start page is depth 0). */
  depth: number
  /** Most same-origin pages to fetch and parse. */
  maxPages: number
  /** Requests in flight at once. */
  concurrency: number
  /** Stops the crawl; what was found so far is kept. */
  signal?: AbortSignal
  /** Called after each URL is checked. */
  onProgress?: (progress: { checked: number; queued: number; url: string }) => void
}

/** LinkResult is what checking one URL found. */
export interface LinkResult {
  url: string
  /** Final status, or undefined when no response came. */
  status: number | undefined
  /** The network error, when there was one. */
  error: string | undefined
  /** Pages the URL appears on. */
  foundOn: string[]
  /** Whether it was crawled as a page of the site (same origin, HTML) rather than just checked. */
  page: boolean
}

/** Redirect is one hop that was followed. */
export interface Redirect {
  from: string
  to: string
  status: number
}

/** CrawlResult is everything the crawl found. */
export interface CrawlResult {
  results: LinkResult[]
  redirects: Redirect[]
  interrupted: boolean
}

const MAX_HOPS = 10

/**
 * Crawler checks a site: it fetches same-origin HTML pages from the start URL
 * (breadth first, to `depth` and `maxPages`), and checks every other link
 * once with HEAD, falling back to GET when HEAD is refused. Redirects are
 * followed here (`redirect: 'manual'`), so that each hop is recorded. Every
 * response body is read or cancelled.
 */
export class Crawler {
  readonly #fetch: typeof globalThis.fetch
  readonly #options: CrawlOptions
  readonly #results = new Map<string, LinkResult>()
  readonly #redirects: Redirect[] = []
  #pages = 0

  constructor(fetch: typeof globalThis.fetch, options: CrawlOptions) {
    this.#fetch = fetch
    this.#options = options
  }

  /** Fetches `url` following redirects by hand; returns the final response (body unread) and URL. */
  async #get(url: string, method: 'GET' | 'HEAD'): Promise<{ response: Response; url: string }> {
    let current = url
    for (let hop = 0; ; hop++) {
      const init: RequestInit = { method, redirect: 'manual' }
      if (this.#options.signal !== undefined) init.signal = this.#options.signal
      const response = await this.#fetch(current, init)
      const location = response.headers.get('location')
      if (response.status < 300 || response.status > 399 || location === null || hop === MAX_HOPS) return { response, url: current }
      await response.body?.cancel()
      const next = new URL(location, current).href
      this.#redirects.push({ from: current, to: next, status: response.status })
      current = next
    }
  }

  async #check(url: string, asPage: boolean): Promise<{ links: string[] }> {
    const result = this.#results.get(url)!
    try {
      if (asPage) {
        const { response, url: final } = await this.#get(url, 'GET')
        result.status = response.status
        const type = response.headers.get('content-type') ?? ''
        if (response.ok && type.includes('text/html') && new URL(final).origin === new URL(url).origin) {
          result.page = true
          this.#pages++
          return { links: extractLinks(await response.text(), final) }
        }
        await response.body?.cancel()
        return { links: [] }
      }
      let { response } = await this.#get(url, 'HEAD')
      if (response.status === 405 || response.status === 501 || response.status === 403) {
        await response.body?.cancel()
        response = (await this.#get(url, 'GET')).response
      }
      result.status = response.status
      await response.body?.cancel()
    } catch (error) {
      if (this.#options.signal?.aborted) throw error
      const coded = getRoundTripError(error)
      const cause = (error as { cause?: { code?: unknown; name?: string; message?: string } }).cause
      // A deadline rejects with a DOMException (as Node's fetch under
      // AbortSignal.timeout), whose numeric code says less than its name (TimeoutError).
      result.error =
        error instanceof DOMException
          ? error.name
          : (coded?.code ?? (typeof cause?.code === 'string' ? cause.code : (cause?.message ?? String(error))))
    }
    return { links: [] }
  }

  /** crawl checks the site from `start`. */
  async crawl(start: string): Promise<CrawlResult> {
    const origin = new URL(start).origin
    type Job = { url: string; depth: number }
    const queue: Job[] = []
    const add = (url: string, foundOn: string | undefined, depth: number): void => {
      const known = this.#results.get(url)
      if (known !== undefined) {
        if (foundOn !== undefined && !known.foundOn.includes(foundOn)) known.foundOn.push(foundOn)
        return
      }
      this.#results.set(url, { url, status: undefined, error: undefined, foundOn: foundOn === undefined ? [] : [foundOn], page: false })
      queue.push({ url, depth })
    }
    add(start, undefined, 0)
    let checked = 0
    let interrupted = false
    const worker = async (): Promise<void> => {
      while (queue.length > 0 && !this.#options.signal?.aborted) {
        const job = queue.shift()!
        const sameOrigin = new URL(job.url).origin === origin
        const asPage = sameOrigin && job.depth <= this.#options.depth && this.#pages < this.#options.maxPages
        const { links } = await this.#check(job.url, asPage)
        for (const link of links) add(link, job.url, job.depth + 1)
        checked++
        this.#options.onProgress?.({ checked, queued: queue.length, url: job.url })
      }
    }
    try {
      // Workers that find the queue empty stop; start more as pages add links.
      const running = new Set<Promise<void>>()
      do {
        while (running.size < this.#options.concurrency && queue.length > running.size) {
          const p: Promise<void> = worker().finally(() => running.delete(p))
          running.add(p)
        }
        if (running.size > 0) await Promise.race(running)
      } while ((running.size > 0 || queue.length > 0) && !this.#options.signal?.aborted)
      await Promise.allSettled(running)
    } catch (error) {
      if (!this.#options.signal?.aborted) throw error
    }
    interrupted = this.#options.signal?.aborted === true
    return { results: [...this.#results.values()], redirects: this.#redirects, interrupted }
  }
}
