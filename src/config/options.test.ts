import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { type RedkitOptions, resolveOptions } from './options.js'

const resolve = (options: RedkitOptions, environment: Record<string, string> = {}) =>
  resolveOptions({ environment, ...options })

describe('resolveOptions', () => {
  it('defaults to memory mode with no url and no REDIS_* variables', () => {
    const resolved = resolve({})
    expect(resolved.target).toEqual({ mode: 'memory' })
    expect(resolved.prefix).toBe('app:')
    expect(resolved.commandTimeoutMs).toBe(2000)
    expect(resolved.breaker).toEqual({ threshold: 5, cooldownMs: 30_000 })
  })

  it.each(['memory', 'disabled', 'MEMORY', ''])('url %j selects memory mode', (url) => {
    expect(resolve({ url }).target.mode).toBe('memory')
    expect(resolve({}, { REDIS_URL: url }).target.mode).toBe('memory')
  })

  it('parses a redis url with credentials and database', () => {
    const { target } = resolve({ url: 'redis://alice:s3cr%40t@cache.local:6380/3' })
    expect(target).toMatchObject({ mode: 'redis', host: 'cache.local', port: 6380, db: 3, username: 'alice' })
    expect(target.mode === 'redis' && target.password?.reveal()).toBe('s3cr@t')
  })

  it('rediss turns TLS on', () => {
    const { target } = resolve({ url: 'rediss://h:6390' })
    expect(target.mode === 'redis' && target.tls).toEqual({})
  })

  it('reads REDIS_HOST/PORT/PASSWORD/USERNAME/DB/TLS', () => {
    const { target } = resolve(
      {},
      {
        REDIS_HOST: '10.1.1.1',
        REDIS_PORT: '7000',
        REDIS_PASSWORD: 'pw',
        REDIS_USERNAME: 'u',
        REDIS_DB: '2',
        REDIS_TLS: 'true',
      },
    )
    expect(target).toMatchObject({
      mode: 'redis',
      host: '10.1.1.1',
      port: 7000,
      username: 'u',
      db: 2,
      tls: {},
    })
  })

  it('explicit options win over the environment', () => {
    const { target } = resolve({ url: 'redis://a:1000' }, { REDIS_URL: 'redis://b:2000' })
    expect(target).toMatchObject({ host: 'a', port: 1000 })
  })

  it('reads cluster nodes and sentinels from options and environment', () => {
    expect(resolve({ cluster: { nodes: ['a:7000', { host: 'b', port: 7001 }] } }).target).toMatchObject({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    })
    expect(resolve({}, { REDIS_CLUSTER_NODES: 'a:1, b:2' }).target.mode).toBe('cluster')
    const sentinel = resolve({}, { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'main' }).target
    expect(sentinel).toMatchObject({
      mode: 'sentinel',
      name: 'main',
      sentinels: [{ host: 's1', port: 26379 }],
    })
  })

  it('builds the prefix from app and env', () => {
    expect(resolve({ app: 'shop', env: 'prod' }).prefix).toBe('shop:prod:')
    expect(resolve({ app: 'shop', prefix: 'x:' }).prefix).toBe('x:')
  })

  it.each<[RedkitOptions, RegExp]>([
    [{ url: 'http://host:6379' }, /unknown scheme 'http:'.*redis:\/\//],
    [{ url: 'redis://host:70000' }, /port/],
    [{ url: 'not a url' }, /not a valid URL/],
    [{ host: 'h', port: 0 }, /port must be an integer between 1 and 65535/],
    [{ host: 'h', db: -1 }, /db must be a database index/],
    [{ commandTimeout: -5 }, /commandTimeout/],
    [{ commandTimeout: 0 }, /commandTimeout must be greater than 0/],
    [{ breaker: { cooldown: '-1s' } }, /breaker.cooldown/],
    [{ breaker: { threshold: 0 } }, /breaker.threshold/],
    [{ app: 'has space' }, /app must be/],
    [{ cluster: { nodes: ['nohost'] } }, /host:port/],
    [{ cluster: { nodes: [] } }, /at least one node/],
    [{ colour: 'red' } as RedkitOptions, /unknown option 'colour'/],
  ])('refuses %j at construction', (options, message) => {
    expect(() => resolve(options)).toThrow(InvalidOptionsError)
    expect(() => resolve(options)).toThrow(message)
  })

  it.each<[string, RedkitOptions, string]>([
    [
      'a breaker typo',
      { breaker: { treshold: 3 } as never },
      "createRedkit: unknown option 'breaker.treshold' (did you mean 'breaker.threshold'?). Known options of breaker: threshold, cooldown.",
    ],
    [
      'a tags typo',
      { tags: { trsut: '1s' } as never },
      "createRedkit: unknown option 'tags.trsut' (did you mean 'tags.trust'?)",
    ],
    [
      'an unknown cluster option',
      { cluster: { nodes: ['a:7000'], readFrom: 'replica' } as never },
      "createRedkit: unknown option 'cluster.readFrom'. Known options of cluster: nodes.",
    ],
    [
      'an unknown field of a cluster node',
      { cluster: { nodes: [{ host: 'a', port: 7000, tls: true } as never] } },
      "createRedkit: unknown option 'cluster.nodes[0].tls'. Known options of cluster.nodes[0]: host, port.",
    ],
    [
      'a sentinel typo',
      { sentinel: { sentinels: ['s:26379'], nmae: 'main' } as never },
      "createRedkit: unknown option 'sentinel.nmae' (did you mean 'sentinel.name'?)",
    ],
    [
      'an unknown field of a sentinel',
      { sentinel: { sentinels: [{ host: 's', port: 26379, pass: 'x' } as never] } },
      "createRedkit: unknown option 'sentinel.sentinels[0].pass'",
    ],
    ['a breaker that is not an object', { breaker: 5 as never }, 'createRedkit: breaker must be an object'],
    ['tags that are not an object', { tags: 'x' as never }, 'createRedkit: tags must be an object'],
    [
      'a cluster that is not an object',
      { cluster: ['a:1'] as never },
      'createRedkit: cluster must be an object',
    ],
  ])('refuses %s, naming the full path', (_label, options, message) => {
    expect(() => resolve(options)).toThrow(InvalidOptionsError)
    expect(() => resolve(options)).toThrow(message)
  })

  it('refuses a bad REDIS_TLS value', () => {
    expect(() => resolve({}, { REDIS_HOST: 'h', REDIS_TLS: 'maybe' })).toThrow(/REDIS_TLS/)
  })

  it('never shows a password in errors, descriptions, JSON or inspect output', () => {
    const password = 'hunter2-very-secret'
    const bad = () => resolve({ url: `ftp://user:${password}@host:6379` })
    expect(bad).toThrow(InvalidOptionsError)
    try {
      bad()
    } catch (error) {
      expect(String(error)).not.toContain(password)
    }
    try {
      resolve({ url: `redis://user:${password}@host:99999` })
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(password)
    }
    const resolved = resolve({ url: `redis://user:${password}@host:6379` })
    expect(resolved.describe).not.toContain(password)
    expect(inspect(resolved, { depth: 10 })).not.toContain(password)
    expect(JSON.stringify(resolved)).not.toContain(password)
    const fromEnv = resolve({}, { REDIS_HOST: 'h', REDIS_PASSWORD: password })
    expect(inspect(fromEnv, { depth: 10 })).not.toContain(password)
  })
})
