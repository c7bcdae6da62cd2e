import ky, { HTTPError, type KyInstance } from 'ky'

/**
 * Application code that calls an API through ky, as a user of the tracker
 * would. The lines marked below are the ones a leak report must name.
 */

/** apiClient is ky over a fetch function (createFetch over the tracker, in the tests). */
export function apiClient(fetch: typeof globalThis.fetch): KyInstance {
  return ky.create({ fetch, retry: { limit: 1, statusCodes: [503], methods: ['get'], delay: () => 0 }, timeout: false })
}

/** statusOf fetches `url` and looks at the status only: the body is never read. */
export async function statusOf(api: KyInstance, url: string): Promise<number> {
  const response = await api.get(url) // <- the leaking ky call
  return response.status
}

/** readText fetches `url` and reads the body to the end. */
export async function readText(api: KyInstance, url: string): Promise<string> {
  return api.get(url).text()
}

/** errorStatus returns the status of an HTTPError, leaving its body unread, as most code does. */
export async function errorStatus(api: KyInstance, url: string): Promise<number> {
  try {
    await api.get(url)
    return 200
  } catch (error) {
    if (error instanceof HTTPError) return error.response.status
    throw error
  }
}
