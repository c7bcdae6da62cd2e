import { Parser } from 'htmlparser2'

/**
 * extractLinks returns the absolute http(s) URLs an HTML page links to
 * (`<a href>`, `<link href>`, `<img src>`, `<script src>`), resolved against
 * `base` (and the page's `<base href>`), without fragments, each once.
 */
export function extractLinks(html: string, base: string): string[] {
  let baseUrl = base
  const found = new Set<string>()
  const add = (value: string | undefined): void => {
    if (value === undefined || value.trim() === '') return
    let url: URL
    try {
      url = new URL(value.trim(), baseUrl)
    } catch {
      return
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return
    url.hash = ''
    found.add(url.href)
  }
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'base' && attributes.href !== undefined) {
          try {
            baseUrl = new URL(attributes.href, base).href
          } catch {
            // an invalid <base> is ignored, as browsers do
          }
        } else if (name === 'a' || name === 'link') add(attributes.href)
        else if (name === 'img' || name === 'script') add(attributes.src)
      },
    },
    { decodeEntities: true },
  )
  parser.write(html)
  parser.end()
  return [...found]
}
