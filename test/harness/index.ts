// Test harness for redkit suites: real redis-server, cluster and sentinel processes on loopback.
// Test-only code (never shipped); every process it starts dies with the test process.

export { freePort } from './free-port.js'
export { listenOn } from './listen.js'
export { makeTlsFiles, type TlsFiles } from './make-tls-files.js'
export { collectingLogger, leaks, renderings, serializeError } from './secret-scan.js'
export { type ClusterOptions, type RedisCluster, startCluster } from './start-cluster.js'
export { type RedisServer, type RedisServerOptions, startRedis, stopAllServers } from './start-redis.js'
export { type SentinelOptions, type SentinelSetup, startSentinel } from './start-sentinel.js'
export { timed } from './timed.js'
export { type WaitForOptions, waitFor } from './wait-for.js'
