// How many failed sign-ins are allowed, counted in PostgreSQL so every process shares the count.
//
// Three counters, each a fixed window that starts at its first failure:
// - one account from one address: tight, the limit a guesser meets first;
// - one account from anywhere: looser, so one attacker from one address cannot lock the account
//   out for everybody, yet guessing from many addresses is still bounded;
// - one address, whatever the account: against trying one password on many accounts.
// Fixed windows cost one row per key and one upsert per attempt, and make "how long to wait"
// exact (the window's end). Their known cost is a burst of up to twice the limit across a window
// boundary, which still bounds guessing; a sliding window would need a row per attempt.
//
// An attempt reserves a failure on all three counters before the password is checked (so parallel
// guesses cannot all slip under the limit) and gives it back when it was refused or succeeded:
// in the end only failures count.
import { and, eq, inArray, lt, sql } from 'drizzle-orm'
import { signInFailures } from '../db/schema.js'
import type { Db } from '../db/client.js'
import type { SignInEmail } from './users.js'

export type LimitName = 'account and address' | 'account' | 'address'

interface Limit {
  name: LimitName
  max: number
  windowSeconds: number
}

const MINUTES = 60
export const SIGN_IN_LIMITS: Record<LimitName, Limit> = {
  'account and address': { name: 'account and address', max: 5, windowSeconds: 15 * MINUTES },
  account: { name: 'account', max: 50, windowSeconds: 15 * MINUTES },
  address: { name: 'address', max: 30, windowSeconds: 15 * MINUTES },
}

/** Expired rows removed per attempt: enough to keep up with the rows attempts create (at most three each). */
const CLEANUP_BATCH = 100

interface Counter {
  key: string
  limit: Limit
}

function countersFor(email: SignInEmail, address: string): Counter[] {
  const counters = [
    // The address first: it cannot contain "|", so the pair key is unambiguous.
    { key: `account and address:${address}|${email}`, limit: SIGN_IN_LIMITS['account and address'] },
    { key: `account:${email}`, limit: SIGN_IN_LIMITS.account },
    { key: `address:${address}`, limit: SIGN_IN_LIMITS.address },
  ]
  // One order for every attempt, so two attempts never wait for each other's rows in a cycle.
  return counters.sort((a, b) => (a.key < b.key ? -1 : 1))
}

/** A failure counted before the password is checked; taken back if the sign-in succeeds. */
export interface Reservation {
  counters: { key: string; windowEndsAt: Date }[]
  pairKey: string
}

export type AttemptOutcome =
  { allowed: true; reservation: Reservation } | { allowed: false; limit: LimitName; retryAfterSeconds: number }

/**
 * Counts an attempt against the account, the address and both. Refused (and not counted) when
 * any of them has reached its limit, with the seconds until that window ends.
 */
export async function reserveSignInAttempt(db: Db, email: SignInEmail, address: string): Promise<AttemptOutcome> {
  const counters = countersFor(email, address)
  const rows = await db
    .insert(signInFailures)
    .values(
      counters.map(({ key, limit }) => ({
        key,
        failures: 1,
        windowEndsAt: sql`date_trunc('second', now()) + make_interval(secs => ${limit.windowSeconds})`,
      })),
    )
    .onConflictDoUpdate({
      target: signInFailures.key,
      set: {
        failures: sql`case when ${signInFailures.windowEndsAt} <= now() then 1 else ${signInFailures.failures} + 1 end`,
        windowEndsAt: sql`case when ${signInFailures.windowEndsAt} <= now() then excluded.window_ends_at else ${signInFailures.windowEndsAt} end`,
      },
    })
    .returning({
      key: signInFailures.key,
      failures: signInFailures.failures,
      windowEndsAt: signInFailures.windowEndsAt,
      secondsLeft: sql<number>`greatest(1, ceil(extract(epoch from ${signInFailures.windowEndsAt} - now())))::integer`,
    })
  await removeExpired(db)
  const reservation: Reservation = {
    counters: rows.map(({ key, windowEndsAt }) => ({ key, windowEndsAt })),
    pairKey: counters.find((c) => c.limit.name === 'account and address')!.key,
  }
  const over = rows
    .map((row) => ({ ...row, limit: counters.find((c) => c.key === row.key)!.limit }))
    .filter((row) => row.failures > row.limit.max)
    .sort((a, b) => b.secondsLeft - a.secondsLeft)[0]
  if (!over) return { allowed: true, reservation }
  await giveBack(db, reservation.counters)
  return { allowed: false, limit: over.limit.name, retryAfterSeconds: over.secondsLeft }
}

/**
 * The password was right: the reserved failure is given back, and this account's failures from
 * this address are forgotten. The address's count across accounts is not reset, or signing in to
 * an account of one's own would wipe out failures at guessing other people's.
 */
export async function recordSuccessfulSignIn(db: Db, reservation: Reservation): Promise<void> {
  await db.delete(signInFailures).where(eq(signInFailures.key, reservation.pairKey))
  await giveBack(
    db,
    reservation.counters.filter((c) => c.key !== reservation.pairKey),
  )
}

async function giveBack(db: Db, counters: Reservation['counters']): Promise<void> {
  // One row per statement: holding no lock while waiting for another, it cannot deadlock with an
  // attempt locking its rows in key order. Only within the window the failure was counted in.
  for (const { key, windowEndsAt } of counters) {
    await db
      .update(signInFailures)
      .set({ failures: sql`greatest(${signInFailures.failures} - 1, 0)` })
      .where(and(eq(signInFailures.key, key), eq(signInFailures.windowEndsAt, windowEndsAt)))
  }
}

/** Deletes a bounded batch of expired rows; rows another attempt holds are left for next time. */
async function removeExpired(db: Db): Promise<void> {
  const expired = db
    .select({ key: signInFailures.key })
    .from(signInFailures)
    .where(lt(signInFailures.windowEndsAt, sql`now()`))
    .limit(CLEANUP_BATCH)
    .for('update', { skipLocked: true })
  await db.delete(signInFailures).where(inArray(signInFailures.key, expired))
}

/** "1 minute", "14 minutes": how long a refused person waits, rounded up. */
export function minutesInWords(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60))
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}
