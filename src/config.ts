// Configuration: read from the environment here and nowhere else.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'

export interface Config {
  port: number
  host: string
  production: boolean
  databaseUrl: string | undefined
  dataDir: string
  sessionSecret: string
  /** 32 bytes for AES-256-GCM. */
  encryptionKey: Buffer
  logLevel: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

interface DevelopmentKeys { sessionSecret: string; encryptionKey: string }

/** Development keys live in DATA_DIR so restarts keep sessions and can read stored secrets. */
function developmentKeys(dataDir: string): DevelopmentKeys {
  const file = path.join(dataDir, 'development-keys.json')
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevelopmentKeys
  mkdirSync(dataDir, { recursive: true })
  const keys = { sessionSecret: randomBytes(32).toString('base64url'), encryptionKey: randomBytes(32).toString('base64') }
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 })
  return keys
}

function parseEncryptionKey(value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64')
  if (key.length !== 32) throw new ConfigError('ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`).')
  return key
}

export function readConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production'
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be a port number, not "${env.PORT}".`)
  const dataDir = path.resolve(env.DATA_DIR ?? './data')
  let sessionSecret = env.SESSION_SECRET
  let encryptionKey = env.ENCRYPTION_KEY
  if (production) {
    const missing = [!sessionSecret && 'SESSION_SECRET', !encryptionKey && 'ENCRYPTION_KEY'].filter(Boolean)
    if (missing.length) throw new ConfigError(`${missing.join(' and ')} must be set when NODE_ENV=production (see README, "Configuration").`)
  } else if (!sessionSecret || !encryptionKey) {
    const keys = developmentKeys(dataDir)
    sessionSecret ??= keys.sessionSecret
    encryptionKey ??= keys.encryptionKey
  }
  if (sessionSecret!.length < 32) throw new ConfigError('SESSION_SECRET must be at least 32 characters long.')
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    production,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    sessionSecret: sessionSecret!,
    encryptionKey: parseEncryptionKey(encryptionKey!),
    logLevel: env.LOG_LEVEL ?? (production ? 'info' : 'info'),
  }
}
