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
