import type { RoundTripper } from '@roundtrip/core'

/** Makes a request and drops the response without reading or cancelling its body (the bug). */
export async function dropUnread(client: RoundTripper, url: string): Promise<void> {
  await client.roundTrip(new Request(url)) // line 5: the leak
}

/** Makes a request and reads the body, as it should be. */
export async function readProperly(client: RoundTripper, url: string): Promise<void> {
  const response = await client.roundTrip(new Request(url))
  await response.text()
}
