// Configuration: read from the environment here and nowhere else.
import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'

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
  /**
   * Which peers may tell the client's address (X-Forwarded-For) and protocol: none (false), the
   * nearest N hops, or the listed addresses and CIDR ranges. See `fastifyTrustProxy`.
   */
  trustProxy: TrustProxy
  /** How many processes serve (node:cluster when above 1); only with a PostgreSQL server. */
  workers: number
  /** Connections each process keeps to the PostgreSQL server at most. */
  poolSize: number
  /** Seconds between SIGTERM (/readyz answers 503) and closing the listener, for load balancers to notice. */
  drainSeconds: number
}

export type TrustProxy = false | number | string[]

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

interface DevelopmentKeys {
  sessionSecret: string
  encryptionKey: string
}

/** Development keys live in DATA_DIR so restarts keep sessions and can read stored secrets. */
function developmentKeys(dataDir: string): DevelopmentKeys {
  const file = path.join(dataDir, 'development-keys.json')
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevelopmentKeys
  mkdirSync(dataDir, { recursive: true })
  const keys = {
    sessionSecret: randomBytes(32).toString('base64url'),
    encryptionKey: randomBytes(32).toString('base64'),
  }
  // Written whole, then linked into place: of processes starting together one wins, and all read its keys.
  const written = `${file}.${process.pid}`
  writeFileSync(written, JSON.stringify(keys, null, 2), { mode: 0o600 })
  try {
    linkSync(written, file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return JSON.parse(readFileSync(file, 'utf8')) as DevelopmentKeys
  } finally {
    unlinkSync(written)
  }
  return keys
}

function parseEncryptionKey(value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64')
  if (key.length !== 32)
    throw new ConfigError(
      'ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`).',
    )
  return key
}

/** proxy-addr's names for ranges, accepted in TRUST_PROXY like addresses. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  const version = isIP(address)
  if (!version || rest.length) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)
}

/** TRUST_PROXY: unset or "false" trusts nobody; a whole number trusts that many hops; otherwise a comma-separated list of addresses and ranges. */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = (value ?? '').trim()
  if (text === '' || text === 'false' || text === '0') return false
  if (text === 'true') {
    throw new ConfigError(
      'TRUST_PROXY=true would let any client choose its own address (X-Forwarded-For). Give the number of proxies in front of the app (e.g. 1) or their addresses (e.g. 10.0.0.5,10.1.0.0/16).',
    )
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text)
    if (hops > 10)
      throw new ConfigError(`TRUST_PROXY must be a number of proxies from 1 to 10, or their addresses; not "${text}".`)
    return hops
  }
  const entries = text.split(',').map((entry) => entry.trim())
  const invalid = entries.filter((entry) => !isAddressOrRange(entry))
  if (invalid.length) {
    throw new ConfigError(
      `TRUST_PROXY must be a number of proxies or a comma-separated list of IP addresses and CIDR ranges (or loopback, linklocal, uniquelocal); ${invalid.map((e) => `"${e}"`).join(', ')} ${invalid.length === 1 ? 'is' : 'are'} not.`,
    )
  }
  return entries
}

/**
 * Fastify's `trustProxy` for the configured setting. A hop count becomes a function: Fastify
 * reads a bare number as "trust nobody"; this trusts the nearest N peers, as Express does.
 */
export function fastifyTrustProxy(
  trustProxy: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy
  return trustProxy
}

/** A whole number from `min` to `max` read from `name`, or `fallback` when unset. */
function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim()
  if (!text) return fallback
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${env[name]}".`)
  return Number(text)
}

/** WORKERS: unset is 1; "auto" is one per core. */
function parseWorkers(env: Env): number {
  if (env.WORKERS?.trim() === 'auto') return availableParallelism()
  try {
    return wholeNumber(env, 'WORKERS', 1, 1, 256)
  } catch {
    throw new ConfigError(
      `WORKERS must be a number of processes (1 to 256) or "auto" (one per core), not "${env.WORKERS}".`,
    )
  }
}

export function readConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production'
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT must be a port number, not "${env.PORT}".`)
  const dataDir = path.resolve(env.DATA_DIR ?? './data')
  let sessionSecret = env.SESSION_SECRET
  let encryptionKey = env.ENCRYPTION_KEY
  if (production) {
    const missing = [!sessionSecret && 'SESSION_SECRET', !encryptionKey && 'ENCRYPTION_KEY'].filter(Boolean)
    if (missing.length)
      throw new ConfigError(
        `${missing.join(' and ')} must be set when NODE_ENV=production (see README, "Configuration").`,
      )
  } else if (!sessionSecret || !encryptionKey) {
    const keys = developmentKeys(dataDir)
    sessionSecret ??= keys.sessionSecret
    encryptionKey ??= keys.encryptionKey
  }
  if (sessionSecret!.length < 32) throw new ConfigError('SESSION_SECRET must be at least 32 characters long.')
  const databaseUrl = env.DATABASE_URL || undefined
  const workers = parseWorkers(env)
  if (workers > 1 && !databaseUrl) {
    throw new ConfigError(
      `WORKERS=${env.WORKERS} needs a PostgreSQL server (DATABASE_URL): the embedded database serves one process only. Unset WORKERS, or set DATABASE_URL (see README, "Running in production").`,
    )
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    production,
    databaseUrl,
    dataDir,
    sessionSecret: sessionSecret!,
    encryptionKey: parseEncryptionKey(encryptionKey!),
    logLevel: env.LOG_LEVEL ?? 'info',
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    workers,
    poolSize: wholeNumber(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    drainSeconds: wholeNumber(env, 'DRAIN_SECONDS', 0, 0, 600),
  }
}
