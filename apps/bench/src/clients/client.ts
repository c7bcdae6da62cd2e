/** Client is one HTTP client under test, as the harness drives it. */
export interface Client {
  /**
   * get fetches `url` with GET, reads its body to the end and resolves with
   * the number of body bytes read; it rejects on any error (a non-2xx status
   * is not one).
   */
  get(url: string): Promise<number>
  /** close releases the client's connections. */
  close(): Promise<void>
}

/**
 * ClientFactory makes a fresh {@link Client}: one per measured run, through
 * `proxy` (an HTTP proxy URL) when given and supported, trusting `ca` (a
 * PEM certificate) for a TLS case's server when given.
 */
export type ClientFactory = (proxy?: string, ca?: string) => Client
