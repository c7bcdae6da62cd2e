import type { RoundTripper } from '@roundtrip/core'

/** dropResponse makes a request and drops the response unread: the leak a tracker must report. */
export async function dropResponse(client: RoundTripper, url: string): Promise<void> {
  await client.roundTrip(new Request(url)) // <- the leaking line
}

/** dropFetched calls Node's global fetch and drops the response unread. */
export async function dropFetched(url: string): Promise<number> {
  const response = await fetch(url) // <- the leaking fetch
  return response.status
}
