-- The bytes one key and its value take in Redis, for the keyspace sample of the metrics route.
-- KEYS[1] the key; ARGV[1] how many nested values MEMORY USAGE looks at (its SAMPLES). Nil when missing.
return redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', ARGV[1])
