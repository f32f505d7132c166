// Creates a throwaway CA and a server certificate for 127.0.0.1/localhost with the openssl CLI.
// TLS tests verify the server against this CA, so the SAN must name the loopback address.

import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeTempDir } from './process-registry.js'

const run = promisify(execFile)

/** Paths of the files `makeTlsFiles` wrote. */
export interface TlsFiles {
  /** The temp dir holding them (removed when the test process ends). */
  dir: string
  /** CA certificate (PEM) that signed `cert`; give it to clients as the trust root. */
  ca: string
  /** Server certificate (PEM), SAN `IP:127.0.0.1, DNS:localhost`. */
  cert: string
  /** Unencrypted server private key (PEM). */
  key: string
}

/** A self-signed CA plus a server certificate signed by it, in a fresh temp dir. */
export async function makeTlsFiles(): Promise<TlsFiles> {
  const dir = makeTempDir('tls')
  const files: TlsFiles = {
    dir,
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
  }
  const caKey = join(dir, 'ca.key')
  const csr = join(dir, 'server.csr')
  const extensions = join(dir, 'server.ext')
  // EC keys: generated in milliseconds, where RSA would cost a noticeable part of a test.
  const newEcKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await openssl(
    ['req', '-x509', '-new', ...newEcKey, '-keyout', caKey, '-out', files.ca, '-days', '30'],
    ['-subj', '/CN=redkit test CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
    ['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  )
  await openssl(['req', '-new', ...newEcKey, '-keyout', files.key, '-out', csr, '-subj', '/CN=localhost'])
  await writeFile(
    extensions,
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth,clientAuth',
      '',
    ].join('\n'),
  )
  await openssl(
    ['x509', '-req', '-in', csr, '-CA', files.ca, '-CAkey', caKey, '-CAcreateserial'],
    ['-out', files.cert, '-days', '30', '-extfile', extensions],
  )
  return files
}

async function openssl(...argGroups: string[][]): Promise<void> {
  const args = argGroups.flat()
  try {
    await run('openssl', args, { timeout: 30_000 })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim()
    throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`, { cause: error })
  }
}
