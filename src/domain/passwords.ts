// Password hashing with scrypt from Node's crypto: no native dependency to build.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const scrypt = (password: string, salt: Buffer, length: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  )

const N = 16384
const r = 8
const p = 1
const LENGTH = 32

export const PASSWORD_MIN_LENGTH = 12
const PASSWORD_MAX_LENGTH = 1000

/** Why a new password would be too weak (or too long to hash), or null when it will do. */
export function passwordProblem(password: string): string | null {
  if ([...password].length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`
  if (password.length > PASSWORD_MAX_LENGTH) return 'Use at most 1,000 characters.'
  // "aaaaaaaaaaaa", "121212121212": long enough, guessed first.
  if (new Set(password.toLowerCase()).size < 5) return 'Use at least 5 different characters.'
  return null
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password.normalize('NFKC'), salt, LENGTH, { N, r, p })
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, rr, pp, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(rr),
    p: Number(pp),
  })
  return timingSafeEqual(key, expected)
}

/** A hash no password matches: compared against when the email is unknown, so timing tells nothing. */
export const UNUSABLE_HASH = `scrypt$${N}$${r}$${p}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(LENGTH).toString('base64')}`
