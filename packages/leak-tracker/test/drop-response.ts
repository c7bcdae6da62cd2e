import type { RoundTripper } from '@roundtrip/core'

/**
 * dropResponse makes a request and drops the response unread: the leak the
 * tracker must report, with a stack naming this file and the line marked
 * below.
 */
export async function dropResponse(client: RoundTripper, url: string): Promise<void> {
  await client.roundTrip(new Request(url)) // <- the leaking line
}

/** readResponse makes a request and reads the body to the end: no leak. */
export async function readResponse(client: RoundTripper, url: string): Promise<string> {
  const response = await client.roundTrip(new Request(url))
  return response.text()
}

/** dropFetched fetches through a fetch function and drops the response unread. */
export async function dropFetched(fetch: typeof globalThis.fetch, url: string): Promise<void> {
  await fetch(url) // <- the leaking fetch
}

/**
 * ApiClient keeps its last response, and is itself dropped: the response is
 * reachable only through an object the requesting frame ran on. A tracker
 * that kept that frame (an unformatted stack keeps its receiver) would keep
 * the response alive and never see it collected.
 */
export class ApiClient {
  last: Response | undefined
  constructor(readonly client: RoundTripper) {}

  async check(url: string): Promise<boolean> {
    this.last = await this.client.roundTrip(new Request(url))
    return this.last.ok
  }
}
