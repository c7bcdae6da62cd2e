import { describe, expect, it } from 'vitest'
import { NoProxy } from './no-proxy.js'

const bypass = (list: string, host: string, port = 443): boolean => new NoProxy(list).matches(host, port)

describe('NO_PROXY matching', () => {
  it('matches every host with *', () => {
    expect(bypass('*', 'anything.example')).toBe(true)
    expect(bypass('*', '10.1.2.3')).toBe(true)
  })

  it('matches nothing when empty or unset', () => {
    expect(new NoProxy(undefined).empty).toBe(true)
    expect(new NoProxy(' , ').empty).toBe(true)
    expect(bypass('', 'example.com')).toBe(false)
  })

  it('matches a name and its subdomains, with or without a leading dot or *.', () => {
    for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.com.']) {
      expect(bypass(entry, 'example.com'), entry).toBe(true)
      expect(bypass(entry, 'api.example.com'), entry).toBe(true)
      expect(bypass(entry, 'a.b.Example.COM'), entry).toBe(true)
      expect(bypass(entry, 'notexample.com'), entry).toBe(false)
      expect(bypass(entry, 'example.com.evil.test'), entry).toBe(false)
    }
  })

  it('reads a comma- or space-separated list', () => {
    const list = 'internal.test, localhost  10.0.0.0/8,[::1]'
    expect(bypass(list, 'localhost')).toBe(true)
    expect(bypass(list, 'svc.internal.test')).toBe(true)
    expect(bypass(list, '10.200.0.1')).toBe(true)
    expect(bypass(list, '::1')).toBe(true)
    expect(bypass(list, 'example.com')).toBe(false)
  })

  it('matches host:port on that port only', () => {
    expect(bypass('example.com:8080', 'example.com', 8080)).toBe(true)
    expect(bypass('example.com:8080', 'api.example.com', 8080)).toBe(true)
    expect(bypass('example.com:8080', 'example.com', 443)).toBe(false)
    expect(bypass('10.1.2.3:80', '10.1.2.3', 80)).toBe(true)
    expect(bypass('10.1.2.3:80', '10.1.2.3', 81)).toBe(false)
    expect(bypass('[fd00::1]:8443', 'fd00::1', 8443)).toBe(true)
    expect(bypass('[fd00::1]:8443', 'fd00::1', 443)).toBe(false)
  })

  it('matches IPv4 and IPv6 literals', () => {
    expect(bypass('192.168.1.10', '192.168.1.10')).toBe(true)
    expect(bypass('192.168.1.10', '192.168.1.11')).toBe(false)
    expect(bypass('::1', '::1')).toBe(true)
    expect(bypass('[::1]', '::1')).toBe(true)
    expect(bypass('2001:db8::1', '2001:db8:0:0:0:0:0:1')).toBe(true)
    expect(bypass('2001:db8::1', '2001:db8::2')).toBe(false)
  })

  it('matches IPv4 and IPv6 CIDR ranges', () => {
    expect(bypass('10.0.0.0/8', '10.255.1.2')).toBe(true)
    expect(bypass('10.0.0.0/8', '11.0.0.1')).toBe(false)
    expect(bypass('192.168.0.0/16', '192.168.44.1')).toBe(true)
    expect(bypass('fd00::/8', 'fd12:3456::1')).toBe(true)
    expect(bypass('fd00::/8', 'fe80::1')).toBe(false)
    expect(bypass('0.0.0.0/0', '203.0.113.9')).toBe(true)
  })

  it('does not match a name against an address entry, nor an address against a name entry', () => {
    expect(bypass('127.0.0.1', 'localhost')).toBe(false)
    expect(bypass('10.0.0.0/8', 'ten.example')).toBe(false)
    expect(bypass('localhost', '127.0.0.1')).toBe(false)
  })

  it('ignores entries it cannot read', () => {
    const list = '10.0.0.0/99, 300.1.1.1/8, [oops, example.com'
    expect(bypass(list, 'example.com')).toBe(true)
    expect(bypass(list, '10.0.0.1')).toBe(false)
  })
})
