// A repository of one kind of entity over two caches: one entry per entity, one per list query of an
// owner (company, vendor...), with the owner tags that make a write invalidate exactly what it changed.

import { checkName, checkOptionKeys } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import type { KeyPart } from '../keys/key-builder.js'
import type { Redkit } from '../redkit.js'
import type { Cache } from './cache.js'
import type { CacheOptions } from './cache-options.js'

/** An entity or owner id, as it appears in keys and tags. */
export type EntityId = string | number

/** Options of a {@link CachedRepository}. */
export interface CachedRepositoryOptions<E, Q extends object, L> {
  /**
   * Names the entities (`orders`): the caches are `<name>` and `<name>-lists`, and tags read
   * `<name>:<id>` and `<owner>:<ownerId>:<name>`.
   * @example 'orders'
   */
  name: string
  /**
   * What owns the entities' lists, in tags: `company` gives `company:42` and `company:42:orders`.
   * @default 'owner'
   * @example 'company'
   */
  owner?: string
  /**
   * Loads one entity on a miss; `undefined` or `null` when there is none (not cached unless the detail
   * cache has `cacheNullish`).
   * @example loadById: (id) => db.order.findUnique({ where: { id } })
   */
  loadById: (id: EntityId) => Promise<E | undefined | null> | E | undefined | null
  /**
   * Loads one page of an owner's list on a miss. The query is part of the key (members sorted, so
   * `{ page, status }` and `{ status, page }` are one entry); keep it to plain data.
   * @default none: getList rejects without it
   * @example loadList: (companyId, q) => db.order.findMany({ where: { companyId, status: q.status } })
   */
  loadList?: (ownerId: EntityId, query: Q) => Promise<L> | L
  /**
   * More tags for a list entry, beside {@link CachedRepository.listTag} and the owner tag: finer ones, so
   * a write invalidates only the lists it can change (a new pending order changes the "all" and
   * "pending" lists, not the "shipped" one).
   * @default none
   * @example listTags: (companyId, q) => [`company:${companyId}:orders:${q.status ?? 'all'}`]
   */
  listTags?: (ownerId: EntityId, query: Q) => readonly string[]
  /**
   * Options of the entity cache (`kit.cache(name, ...)`).
   * @default { tier: 'detail' } (ttl 1 h, L1 for 1 min)
   */
  detail?: CacheOptions
  /**
   * Options of the list cache (`kit.cache(name + '-lists', ...)`).
   * @default { tier: 'list' } (ttl 5 min)
   */
  list?: CacheOptions
}

const KNOWN = new Set(['name', 'owner', 'loadById', 'loadList', 'listTags', 'detail', 'list'])

/**
 * The cached-repository pattern in a few lines: `getById` and `getList` read through two caches,
 * `invalidateEntity` after a write to one entity (or `setEntity` with the entity the write returned),
 * `invalidateOwner` after a bulk change. A write drops the entity's entry and, by tag, every cached
 * list of its owner, in every instance at once; lists of other owners stay cached.
 *
 * @example
 * const orders = new CachedRepository(kit, {
 *   name: 'orders',
 *   owner: 'company',
 *   loadById: (id) => db.orders.byId(id),
 *   loadList: (companyId, query: { page: number; status?: string }) => db.orders.list(companyId, query),
 * })
 * await orders.getById(id, companyId)
 * await orders.getList(companyId, { page: 1, status: 'open' })
 * await db.orders.update(id, patch)
 * await orders.invalidateEntity(id, companyId)
 */
export class CachedRepository<E, Q extends object = Record<string, unknown>, L = E[]> {
  /** The entities' name, as given. */
  readonly name: string
  /** The owner's name in tags. */
  readonly owner: string
  /** The cache of single entities (`<name>`). */
  readonly entities: Cache<E>
  /** The cache of list pages (`<name>-lists`). */
  readonly lists: Cache<L>
  readonly #kit: Redkit
  readonly #options: CachedRepositoryOptions<E, Q, L>

  /** @throws InvalidOptionsError for bad options, or caches of these names created with other options */
  constructor(kit: Redkit, options: CachedRepositoryOptions<E, Q, L>) {
    checkOptionKeys(options, KNOWN, 'CachedRepository')
    checkName(options.name, 'CachedRepository name')
    const owner = options.owner ?? 'owner'
    checkName(owner, `CachedRepository '${options.name}' owner`)
    for (const name of ['loadById', 'loadList', 'listTags'] as const) {
      const value = options[name]
      if ((name === 'loadById' || value !== undefined) && typeof value !== 'function') {
        throw new InvalidOptionsError(`CachedRepository '${options.name}': ${name} must be a function.`)
      }
    }
    this.#kit = kit
    this.#options = options
    this.name = options.name
    this.owner = owner
    this.entities = kit.cache<E>(options.name, options.detail ?? { tier: 'detail' })
    this.lists = kit.cache<L>(`${options.name}-lists`, options.list ?? { tier: 'list' })
  }

  /** The tag every cached entry of an owner carries (`company:42`). */
  ownerTag(ownerId: EntityId): string {
    return `${this.owner}:${ownerId}`
  }

  /** The tag every cached list of an owner carries (`company:42:orders`). */
  listTag(ownerId: EntityId): string {
    return `${this.owner}:${ownerId}:${this.name}`
  }

  /** The tag of one entity's entry (`orders:7`). */
  entityTag(id: EntityId): string {
    return `${this.name}:${id}`
  }

  /**
   * One entity: cached, or loaded with `loadById` and cached with its tag ({@link entityTag}) and, when
   * `ownerId` is given, its owner's ({@link ownerTag}), so {@link invalidateOwner} reaches it. Tags are
   * fixed before the load runs (an invalidation during a slow load must not be missed), hence the owner
   * comes from the caller, who usually has it from the route (`/companies/:cid/orders/:id`).
   */
  getById(id: EntityId, ownerId?: EntityId): Promise<E | undefined> {
    const tags = this.#entityTags(id, ownerId)
    const load = this.#options.loadById
    return this.entities.getOrSet<E | undefined>(['id', id], async () => (await load(id)) ?? undefined, {
      tags,
    })
  }

  /**
   * One page of an owner's list: cached under the owner and the query (members sorted), or loaded with
   * `loadList` and tagged with {@link listTag} and {@link ownerTag}.
   * @throws InvalidOptionsError when the repository has no `loadList`
   */
  getList(ownerId: EntityId, query: Q = {} as Q): Promise<L> {
    const load = this.#options.loadList
    if (load === undefined) {
      return Promise.reject(
        new InvalidOptionsError(`CachedRepository '${this.name}': getList needs the loadList option.`),
      )
    }
    // A declared query interface has no index signature, yet is plain data the key builder hashes.
    const queryPart = query as unknown as KeyPart
    const tags = [this.listTag(ownerId), this.ownerTag(ownerId)]
    const more = this.#options.listTags?.(ownerId, query)
    if (more) tags.push(...more)
    return this.lists.getOrSet(['owner', ownerId, queryPart], () => load(ownerId, query), { tags })
  }

  /**
   * After a write to one entity: drops its entry and, when the owner is given, every cached list of that
   * owner, in every instance.
   * @example await orders.invalidateEntity(order.id, order.companyId)
   */
  async invalidateEntity(id: EntityId, ownerId?: EntityId): Promise<void> {
    const tags = [this.entityTag(id)]
    if (ownerId !== undefined) tags.push(this.listTag(ownerId))
    await this.#kit.invalidateTags(tags)
  }

  /**
   * After a write that returned the whole entity (`UPDATE ... RETURNING`): drops what
   * {@link invalidateEntity} drops, then stores the fresh entity under its key and tags, so the next
   * read is a hit instead of a load. A load that read the old row before the write and finishes after
   * it stores an entry born stale (its tag versions predate the write), never the old value.
   * @param entity the entity as `loadById` would return it now
   * @example
   * const [row] = await db.query('update orders set status = $1 where id = $2 returning *', ['paid', id])
   * await orders.setEntity(row.id, row, row.companyId)
   */
  async setEntity(id: EntityId, entity: E, ownerId?: EntityId): Promise<void> {
    await this.invalidateEntity(id, ownerId)
    await this.entities.set(['id', id], entity, { tags: this.#entityTags(id, ownerId) })
  }

  #entityTags(id: EntityId, ownerId: EntityId | undefined): string[] {
    return ownerId === undefined ? [this.entityTag(id)] : [this.entityTag(id), this.ownerTag(ownerId)]
  }

  /** After a bulk change of an owner: drops its lists and the entries read with its `ownerId`. */
  invalidateOwner(ownerId: EntityId): Promise<void> {
    return this.#kit.invalidateTags([this.ownerTag(ownerId)])
  }

  /** Drops every list of an owner, keeping the entities' entries (a new entity, a changed order). */
  invalidateLists(ownerId: EntityId): Promise<void> {
    return this.#kit.invalidateTags([this.listTag(ownerId)])
  }
}
