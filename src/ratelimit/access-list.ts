// Allow/deny lists changed at runtime: IPs, CIDR ranges (v4 and v6) and user ids or keys, kept in one
// bounded Redis hash per list, read once, kept in process and synced over the bus; checks cost no round trip.

import { BlockList, isIP } from 'node:net'
import type { Bus } from '../bus/bus.js'
import { checkOptionKeys } from '../config/validate.js'
import { errorMessage, InvalidOptionsError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { ScriptDefinition, Store } from '../store/store.js'

/** What an access list says about a client: let it through unlimited, or refuse it. */
export type AccessRule = 'allow' | 'deny'

/** Options of `kit.accessList(name, options)`. */
export interface AccessListOptions {
  /**
   * Most entries the list holds (every instance reads the whole list at startup): `allow`/`deny` of a
   * new entry beyond it throws.
   * @default 10000
   * @example 50000
   */
  maxEntries?: number
}

/** One entry of an access list, as {@link AccessList.entries} lists it. */
export interface AccessListEntry {
  /** As stored: `203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`, `user:42`... */
  entry: string
  rule: AccessRule
}

/** What an access list uses of the feature context. */
export type AccessListContext = Pick<FeatureContext, 'store' | 'keys' | 'logger' | 'onClose'> &
  Partial<Pick<FeatureContext, 'bus'>>

/** HSET unless the hash is full (an entry already there may always change its rule). */
const PUT_SCRIPT: ScriptDefinition = {
  name: 'accesslist.put',
  lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
`,
  memory(context, keys, args) {
    const fields = context.hgetall(keys[0]!)
    if (Object.hasOwn(fields, args[0]!) || Object.keys(fields).length < Number(args[2])) {
      context.hset(keys[0]!, { [args[0]!]: args[1]! })
      return 1
    }
    return 0
  },
}

const OPTIONS = new Set(['maxEntries'])

interface Parsed {
  /** The entry as stored. */
  entry: string
  /** Set for an address or a range. */
  net?: { address: string; prefix: number; family: 'ipv4' | 'ipv6' }
}

/**
 * An entry in its stored form: an IP address, a CIDR range (`10.0.0.0/8`, `2001:db8::/32`; an `ip:`
 * prefix as `ipKey` writes it is accepted), or any other text, matched exactly against the user key
 * (`user:<id>`) or the rate-limit key of a request.
 * @throws InvalidOptionsError for an empty entry or a range with a bad prefix length
 */
export function parseAccessEntry(entry: string): Parsed {
  if (typeof entry !== 'string' || entry.trim() === '') {
    throw new InvalidOptionsError(
      "An access list entry is a non-empty string: '203.0.113.7', '10.0.0.0/8' or 'user:42'.",
    )
  }
  let text = entry.trim()
  const bare = text.startsWith('ip:') ? text.slice(3) : text
  const slash = bare.lastIndexOf('/')
  const address = mappedIPv4(slash === -1 ? bare : bare.slice(0, slash))
  const family = isIP(address)
  if (family === 0) return { entry: text }
  const max = family === 4 ? 32 : 128
  const prefix = slash === -1 ? max : Number(bare.slice(slash + 1))
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new InvalidOptionsError(
      `Access list entry '${entry}': the prefix length must be 0 to ${max}, e.g. '${address}/${max === 32 ? 24 : 64}'.`,
    )
  }
  text = prefix === max ? address.toLowerCase() : `${address.toLowerCase()}/${prefix}`
  return { entry: text, net: { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' } }
}

/** `::ffff:203.0.113.7` as `203.0.113.7`, so a v4 rule matches a dual-stack socket's address. */
function mappedIPv4(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return match ? match[1]! : address
}

/**
 * A named allow/deny list shared by every instance: `allow(entry)`, `deny(entry)`, `remove(entry)`
 * write it to Redis and push the change over the bus; `check(ip, userId)` answers in process (after one
 * read of the whole list, on first use and again after a bus reconnect). A deny entry wins over an
 * allow entry. The `rateLimit` middleware takes it as `accessList`, checked before any limiter: denied
 * requests never reach Redis.
 *
 * @example
 * const blocked = kit.accessList('api')
 * await blocked.deny('203.0.113.0/24')
 * await blocked.allow('10.0.0.0/8')
 * await blocked.check('203.0.113.9') // 'deny'
 */
export class AccessList {
  /** The name given to `kit.accessList`; part of its key and bus channel. */
  readonly name: string
  readonly #store: Store
  readonly #bus: Bus | undefined
  readonly #logger: AccessListContext['logger']
  readonly #key: string
  readonly #max: number
  readonly #rules = new Map<string, AccessRule>()
  #allowNets = new BlockList()
  #denyNets = new BlockList()
  #loaded = false
  #loading: Promise<void> | undefined
  #generation = 0
  #subscription: Promise<(() => Promise<void>) | undefined> | undefined

  /** @internal use `kit.accessList(name, options)` @throws InvalidOptionsError */
  constructor(context: AccessListContext, name: string, options: AccessListOptions = {}) {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidOptionsError("An access list needs a non-empty name, e.g. kit.accessList('api').")
    }
    checkOptionKeys(options, OPTIONS, `accessList '${name}'`, { example: '{ maxEntries: 10000 }' })
    const max = options.maxEntries ?? 10_000
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new InvalidOptionsError(`accessList '${name}': maxEntries must be a whole number >= 1.`)
    }
    this.name = name
    this.#max = max
    this.#store = context.store
    this.#bus = context.bus
    this.#logger = context.logger
    this.#key = context.keys.build('accesslist', name)
    this.#store.defineScript(PUT_SCRIPT)
    this.#subscription = this.#bus
      ?.subscribe<{ entry?: unknown; rule?: unknown }>(this.#channel, (payload) => {
        if (typeof payload?.entry !== 'string') return
        const rule = payload.rule === 'allow' || payload.rule === 'deny' ? payload.rule : undefined
        this.#apply(payload.entry, rule)
      })
      .catch((error: unknown) => {
        this.#logger.warn(
          { accessList: name, error: errorMessage(error) },
          `redkit: access list '${name}' could not subscribe to changes`,
        )
        return undefined
      })
    // Changes sent while the subscriber was down were missed: read the list again.
    const stop = this.#bus?.onReconnect(() => {
      if (this.#loaded) void this.#load()
    })
    context.onClose(async () => {
      stop?.()
      const subscription = this.#subscription
      this.#subscription = undefined
      const unsubscribe = await subscription
      await unsubscribe?.().catch(() => {})
    })
  }

  /**
   * Lets `entry` through without any limit: an IP, a CIDR range or a user key (`user:42`).
   * @throws InvalidOptionsError for a bad entry, or a full list
   * @example await list.allow('10.0.0.0/8')
   */
  allow(entry: string): Promise<void> {
    return this.#put(entry, 'allow')
  }

  /**
   * Refuses `entry` (403 in the middleware), before any limiter: an IP, a CIDR range or a user key.
   * @throws InvalidOptionsError for a bad entry, or a full list
   * @example await list.deny('2001:db8:bad::/48')
   */
  deny(entry: string): Promise<void> {
    return this.#put(entry, 'deny')
  }

  /**
   * Removes `entry` (in the form it was added; `10.0.0.0/8` removes that range, not an address in it).
   * @example await list.remove('203.0.113.7')
   */
  async remove(entry: string): Promise<void> {
    const parsed = parseAccessEntry(entry)
    await this.#store.hdel(this.#key, [parsed.entry])
    this.#apply(parsed.entry, undefined)
    await this.#announce(parsed.entry, undefined)
  }

  /**
   * What the list says about a client: `'deny'` when a deny entry matches its IP or user, else
   * `'allow'` when an allow entry does, else `undefined`. In process; the first call reads the list.
   * @param ip the client address (IPv4-mapped IPv6 counts as IPv4)
   * @param userId matched against entries `user:<id>` (and `key`, e.g. the request's rate-limit key)
   * @example if ((await list.check(req.ip, req.user?.id)) === 'deny') return res.sendStatus(403)
   */
  async check(
    ip: string | undefined,
    userId?: string | number,
    key?: string,
  ): Promise<AccessRule | undefined> {
    if (!this.#loaded) await this.ready()
    return this.match(ip, userId, key)
  }

  /** As {@link check}, from what is in process now (the configured entries before the first read). */
  match(ip: string | undefined, userId?: string | number, key?: string): AccessRule | undefined {
    let allowed = false
    if (ip !== undefined && ip !== '') {
      const address = mappedIPv4(ip.trim())
      const family = isIP(address)
      if (family !== 0) {
        const type = family === 4 ? 'ipv4' : 'ipv6'
        if (this.#denyNets.check(address, type)) return 'deny'
        allowed = this.#allowNets.check(address, type)
      } else {
        const rule = this.#rules.get(address)
        if (rule === 'deny') return 'deny'
        allowed = rule === 'allow'
      }
    }
    for (const candidate of [userId === undefined || userId === '' ? undefined : `user:${userId}`, key]) {
      if (candidate === undefined) continue
      const rule = this.#rules.get(candidate)
      if (rule === 'deny') return 'deny'
      if (rule === 'allow') allowed = true
    }
    return allowed ? 'allow' : undefined
  }

  /** Every entry, from Redis. */
  async entries(): Promise<AccessListEntry[]> {
    const fields = await this.#store.hgetall(this.#key)
    return Object.entries(fields)
      .filter(([, rule]) => rule === 'allow' || rule === 'deny')
      .map(([entry, rule]) => ({ entry, rule: rule as AccessRule }))
  }

  /** Resolves once the list has been read (a failed read is logged; the list is then empty until the next try). */
  ready(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined
    })
    return this.#loading
  }

  async #load(): Promise<void> {
    try {
      await this.#subscription
      for (let attempt = 0; attempt < 3; attempt++) {
        const generation = this.#generation
        const fields = await this.#store.hgetall(this.#key)
        if (generation !== this.#generation) continue
        this.#rules.clear()
        for (const [entry, rule] of Object.entries(fields)) {
          if (rule === 'allow' || rule === 'deny') this.#rules.set(entry, rule)
        }
        this.#rebuild()
        break
      }
    } catch (error) {
      this.#logger.warn(
        { accessList: this.name, error: errorMessage(error) },
        `redkit: access list '${this.name}' could not be read; it is tried again on the next check`,
      )
      return
    }
    this.#loaded = true
  }

  async #put(entry: string, rule: AccessRule): Promise<void> {
    const parsed = parseAccessEntry(entry)
    const stored = await this.#store.runScript(PUT_SCRIPT.name, [this.#key], [parsed.entry, rule, this.#max])
    if (stored !== 1) {
      throw new InvalidOptionsError(
        `access list '${this.name}' holds ${this.#max} entries already; remove some, use a range, or raise maxEntries.`,
      )
    }
    this.#apply(parsed.entry, rule)
    await this.#announce(parsed.entry, rule)
  }

  #apply(entry: string, rule: AccessRule | undefined): void {
    this.#generation++
    if (rule === undefined) this.#rules.delete(entry)
    else this.#rules.set(entry, rule)
    this.#rebuild()
  }

  /** BlockList has no removal: the two lists are built again (the list is small, changes are rare). */
  #rebuild(): void {
    const allow = new BlockList()
    const deny = new BlockList()
    for (const [entry, rule] of this.#rules) {
      let net: Parsed['net']
      try {
        net = parseAccessEntry(entry).net
      } catch {
        continue
      }
      if (!net) continue
      const list = rule === 'allow' ? allow : deny
      list.addSubnet(net.address, net.prefix, net.family)
    }
    this.#allowNets = allow
    this.#denyNets = deny
  }

  async #announce(entry: string, rule: AccessRule | undefined): Promise<void> {
    try {
      await this.#bus?.publish(this.#channel, { entry, rule: rule ?? null })
    } catch (error) {
      this.#logger.warn(
        { accessList: this.name, error: errorMessage(error) },
        `redkit: access list '${this.name}' could not tell other instances about a change`,
      )
    }
  }

  get #channel(): string {
    return `accesslist:${this.name}`
  }
}
