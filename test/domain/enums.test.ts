// The lists of roles, system types and rate-limit units are written once (src/domain/enums.ts): the
// database's CHECK constraints, built from them, allow exactly those values.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { RATE_LIMIT_UNITS, ROLES, SYSTEM_TYPES } from '../../src/domain/enums.js'
import { testDatabase } from '../helpers.js'

t.test('the migrated database checks each column against its list, no value more or less', async (t) => {
  const { db } = await testDatabase(t)
  const rows = await db
    .select({ name: sql<string>`conname`, definition: sql<string>`pg_get_constraintdef(oid)` })
    .from(sql`pg_constraint`)
    .where(
      sql`conname in ('users_role_check', 'marketplace_connectors_system_type_check', 'instances_rate_limit_check')`,
    )
  const allowed = (name: string) => {
    const definition = rows.find((r) => r.name === name)?.definition ?? ''
    return [...definition.matchAll(/'([^']*)'::text/g)].map((m) => m[1])
  }
  t.same(allowed('users_role_check'), ROLES, 'roles')
  t.same(allowed('marketplace_connectors_system_type_check'), SYSTEM_TYPES, 'system types')
  t.same(allowed('instances_rate_limit_check'), RATE_LIMIT_UNITS, 'rate-limit units')
})
