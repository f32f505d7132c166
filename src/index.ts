// redkit's main entry point: createRedkit and the public types, nothing else.
// Features (cache, limiter, sessions...) hang from the instance it returns.

import { type RedkitOptions, resolveOptions } from './config/options.js'
import { Redkit } from './redkit.js'

/**
 * Creates a redkit instance. Options are validated here (bad ones throw `InvalidOptionsError`);
 * connections open lazily on first use.
 *
 * @example
 * import { createRedkit } from 'redkit'
 * const kit = createRedkit({ url: process.env.REDIS_URL, app: 'shop', env: 'prod' })
 * await kit.ready() // optional
 * kit.mode // 'redis' | 'cluster' | 'sentinel' | 'memory'
 */
export function createRedkit(options: RedkitOptions = {}): Redkit {
  return new Redkit(resolveOptions(options))
}

export type { BusListener, BusMessageMeta, BusSubscribeOptions } from './bus/bus.js'
export { Bus } from './bus/bus.js'
export type {
  CacheEntry,
  CacheEvents,
  CacheFactory,
  CacheKey,
  CacheLookup,
  WarmEntry,
  WarmOptions,
  WarmProgress,
} from './cache/cache.js'
export { Cache } from './cache/cache.js'
export type { CacheMetricsSnapshot } from './cache/cache-metrics.js'
export type {
  CacheOptions,
  CacheSetOptions,
  FactoryContext,
  GetOrSetOptions,
  L1Options,
  LockOptions,
} from './cache/cache-options.js'
export type { CachedRepositoryOptions, EntityId } from './cache/cached-repository.js'
export { CachedRepository } from './cache/cached-repository.js'
export type { CompressionAlgorithm } from './cache/compression.js'
export type {
  InvalidateOnMetrics,
  InvalidateOnOptions,
  InvalidationTags,
} from './cache/http/http-invalidation.js'
export type { CacheStatus, HttpCacheOptions } from './cache/http/http-response-cache.js'
export type { CacheSerializer } from './cache/json-serializer.js'
export { JsonSerializer } from './cache/json-serializer.js'
export type { CacheTierRow } from './cache/tier-row.js'
export type { CacheTier, CacheTierName, CacheTiers } from './cache/tiers.js'
export { cacheTiers, tierTable } from './cache/tiers.js'
export type { Duration } from './config/duration.js'
export { parseDuration } from './config/duration.js'
export type { ExistingRedisClient, NodeAddress, RedkitOptions } from './config/options.js'
export type { BreakerState, BreakerStateChange } from './connection/circuit-breaker.js'
export type { ConnectionRole } from './connection/connection-manager.js'
export type { HealthReport, RoleHealth, ServerHealth } from './connection/health.js'
export type { QueueConnection, QueueConnectionOptions } from './connection/queue-connection.js'
export {
  CacheFactoryTimeoutError,
  CacheSerializationError,
  CacheValueTooLargeError,
  CommandTimeoutError,
  ExpressSessionMissingError,
  InvalidOptionsError,
  RedisAuthError,
  RedisDatabaseError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
  RedkitClosedError,
  RedkitError,
  ScriptError,
  SessionDataError,
  StoreCommandError,
} from './errors.js'
export type { KeyPart } from './keys/key-builder.js'
export { escapeGlob, KeyBuilder } from './keys/key-builder.js'
export type { Logger } from './logger.js'
export type {
  BreakerChannelMessage,
  CacheInvalidateTraceContext,
  CacheOutcome,
  CacheTraceContext,
  RateLimitTraceContext,
  SessionTraceContext,
  TraceContextBase,
  TracingChannelName,
} from './metrics/tracing-channels.js'
export { tracingChannels } from './metrics/tracing-channels.js'
export type { AccessListEntry, AccessListOptions, AccessRule } from './ratelimit/access-list.js'
export { AccessList } from './ratelimit/access-list.js'
export type { RateLimiterRedkitOptions } from './ratelimit/adapters/rate-limiter-redkit.js'
export { RateLimiterRedkit } from './ratelimit/adapters/rate-limiter-redkit.js'
export type { RateLimiterResJson } from './ratelimit/adapters/rate-limiter-res.js'
export { RateLimiterRes } from './ratelimit/adapters/rate-limiter-res.js'
export type { AdapterStoreErrorPolicy } from './ratelimit/adapters/window-counter.js'
export type { RateLimitAlgorithm } from './ratelimit/algorithms/algorithm.js'
export type {
  CompoundLimitOptions,
  CompoundLimitPart,
  CompoundLimitResult,
  CompoundPart,
} from './ratelimit/compound-limiter.js'
export { CompoundLimiter } from './ratelimit/compound-limiter.js'
export { ipKey } from './ratelimit/http/client-key.js'
export type { HttpRateLimitOptions } from './ratelimit/http/http-rate-limit.js'
export type { RateLimitedBody } from './ratelimit/http/rate-limit-headers.js'
export type { LimitTarget, RateLimiterMetrics, RateLimitResult } from './ratelimit/limiter.js'
export { RateLimiter } from './ratelimit/limiter.js'
export type {
  BlockPolicy,
  RateLimiterOptions,
  RateLimitPolicy,
  ResolvedLimiterOptions,
  StoreErrorPolicy,
} from './ratelimit/limiter-options.js'
export type { RateLimitTierName } from './ratelimit/tiers.js'
export { rateLimitTiers } from './ratelimit/tiers.js'
export type { RedkitEvents, RedkitMetrics } from './redkit.js'
export { Redkit } from './redkit.js'
export type { TokenClaims, TokenTime } from './revocation/revocation-list.js'
export { RevocationList } from './revocation/revocation-list.js'
export type { RevocationListOptions } from './revocation/revocation-options.js'
export type { SessionKeyMaterial } from './session/session-cipher.js'
export type {
  SessionCookieData,
  SessionData,
  SessionLike,
  SessionSerializer,
  SessionStoreOptions,
} from './session/session-options.js'
export type {
  DestroyByUserIdOptions,
  ListByUserIdOptions,
  SessionInfo,
} from './session/session-store.js'
export { SessionStore } from './session/session-store.js'
export type {
  MemoryScriptContext,
  MessageListener,
  ScanOptions,
  ScriptDefinition,
  ScriptReply,
  SetEntry,
  SetOptions,
  Store,
  StoreMode,
  StoreValue,
} from './store/store.js'
