// Empty databases on the PostgreSQL server (DATABASE_URL) for tests that start processes on them.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

export const serverUrl = process.env.DATABASE_URL

/** A fresh, empty database on the server, dropped when the test ends; its URL. */
export async function emptyDatabase(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const name = `test_${Date.now()}_${randomBytes(4).toString('hex')}`
  const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  const url = new URL(serverUrl!)
  url.pathname = `/${name}`
  return url.toString()
}
