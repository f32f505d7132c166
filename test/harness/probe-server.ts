// One-shot raw RESP probe used to decide that a started server is ready and is the one we spawned.
// A raw socket is cheaper than a redis-cli per poll, and INFO's process_id exposes a port collision.

import { readFileSync } from 'node:fs'
import { connect as connectTcp, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import type { TlsFiles } from './make-tls-files.js'

/** Where and how to reach a server. */
export interface ProbeTarget {
  port: number
  password?: string
  tls?: TlsFiles
}

/**
 * Connects, authenticates if needed, sends `INFO server` and resolves with the `process_id`
 * it reports. Rejects on any error reply (NOAUTH, LOADING...), a closed socket or `timeoutMs`.
 */
export function probeProcessId(target: ProbeTarget, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket: Socket = target.tls
      ? connectTls({ host: '127.0.0.1', port: target.port, ca: readFileSync(target.tls.ca) })
      : connectTcp({ host: '127.0.0.1', port: target.port })
    const finish = (error: Error | undefined, pid?: number): void => {
      socket.destroy()
      if (error) reject(error)
      else resolve(pid as number)
    }
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)))
    socket.once('error', (error) => finish(error))
    socket.once('close', () => finish(new Error('connection closed before the reply')))
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      const commands = target.password
        ? [
            ['AUTH', target.password],
            ['INFO', 'server'],
          ]
        : [['INFO', 'server']]
      socket.write(commands.map(encodeCommand).join(''))
    })
    let buffer = Buffer.alloc(0)
    let pendingReplies = target.password ? 2 : 1
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        const parsed = parseReply(buffer)
        if (!parsed) return
        buffer = buffer.subarray(parsed.length)
        if (parsed.error) return finish(new Error(parsed.error))
        pendingReplies--
        if (pendingReplies > 0) continue
        const match = /^process_id:(\d+)/m.exec(parsed.text)
        if (!match) return finish(new Error('INFO server has no process_id'))
        return finish(undefined, Number(match[1]))
      }
    })
  })
}

function encodeCommand(parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`
}

// Only the reply kinds AUTH and INFO produce: simple strings, errors and bulk strings.
function parseReply(buffer: Buffer): { length: number; text: string; error?: string } | undefined {
  const lineEnd = buffer.indexOf('\r\n')
  if (lineEnd === -1) return undefined
  const line = buffer.subarray(1, lineEnd).toString()
  switch (buffer[0]) {
    case 0x2b: // '+'
      return { length: lineEnd + 2, text: line }
    case 0x2d: // '-'
      return { length: lineEnd + 2, text: '', error: line }
    case 0x24: {
      // '$'
      const size = Number(line)
      const end = lineEnd + 2 + size
      if (buffer.length < end + 2) return undefined
      return { length: end + 2, text: buffer.subarray(lineEnd + 2, end).toString() }
    }
    default:
      return { length: buffer.length, text: '', error: `unexpected reply: ${buffer.toString().slice(0, 80)}` }
  }
}
