// Compression of large cache payloads with node:zlib, off the event loop (zlib's thread pool),
// so a big value costs a little CPU elsewhere instead of blocking every request.

import { promisify } from 'node:util'
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib'

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)
const brotliAsync = promisify(brotliCompress)
const unbrotliAsync = promisify(brotliDecompress)

/** Which algorithm compresses payloads above the threshold. */
export type CompressionAlgorithm = 'gzip' | 'brotli'

// Brotli's default quality (11) is tuned for static assets and far too slow for a cache write.
const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }

/** Compresses bytes. */
export function compress(data: Buffer, algorithm: CompressionAlgorithm): Promise<Buffer> {
  return algorithm === 'gzip' ? gzipAsync(data) : brotliAsync(data, BROTLI_OPTIONS)
}

/** Decompresses bytes; rejects on corrupt input. */
export function decompress(data: Buffer, algorithm: CompressionAlgorithm): Promise<Buffer> {
  return algorithm === 'gzip' ? gunzipAsync(data) : unbrotliAsync(data)
}
