// What a database needs before the app serves it: the vendor's catalogue published and, on an
// empty database, a demo company to sign in to.
import { randomBytes } from 'node:crypto'
import { count, eq } from 'drizzle-orm'
import { companies, marketplaceConnectors } from './schema.js'
import type { Db } from './client.js'
import { readCatalogue, type ConnectorManifest } from '../marketplace/manifest.js'
import { publishCatalogue } from '../domain/marketplace.js'
import { createCompany, createUser } from '../domain/users.js'
import { installConnector } from '../domain/connectors.js'
import type { Role } from './schema.js'

export const DEMO_EMAIL = 'admin@demo.example'
const DEMO_DEVELOPMENT_PASSWORD = 'connectors-demo'

/** Installed in the demo before their newest version is published, so an update is waiting. */
const DEMO_WITH_UPDATE = ['shopify', 'bigcommerce']
const DEMO_UP_TO_DATE = ['klaviyo', 'mintsoft']

export interface DemoSignIn { email: string; password: string }

const withoutNewest = (manifest: ConnectorManifest): ConnectorManifest =>
  ({ ...manifest, versions: manifest.versions.slice(0, Math.max(1, manifest.versions.length - 1)) })

/**
 * Publishes the catalogue; on a database with no company, first creates the demo company.
 * Returns how to sign in to the demo when it was just created.
 */
export async function prepareDatabase(db: Db, options: { production: boolean }): Promise<DemoSignIn | null> {
  const catalogue = await readCatalogue()
  const [companyCount] = await db.select({ n: count() }).from(companies)
  let demo: DemoSignIn | null = null
  if (companyCount!.n === 0) {
    // The vendor's older versions first, so the demo's connectors can be behind the newest.
    await publishCatalogue(db, catalogue.map(({ file, manifest }) => ({ file, manifest: withoutNewest(manifest) })))
    demo = await createDemoCompany(db, options.production ? randomBytes(12).toString('base64url') : DEMO_DEVELOPMENT_PASSWORD)
  }
  await publishCatalogue(db, catalogue)
  return demo
}

async function createDemoCompany(db: Db, password: string): Promise<DemoSignIn> {
  const company = await createCompany(db, 'Demo Company')
  const people: [string, string, Role][] = [
    ['Ana Diaz', DEMO_EMAIL, 'administrator'],
    ['Ben Okafor', 'manager@demo.example', 'manager'],
    ['Chloe Martin', 'user@demo.example', 'user'],
    ['Dev Patel', 'readonly@demo.example', 'read-only'],
  ]
  const [admin] = await Promise.all(people.map(([name, email, role]) => createUser(db, { companyId: company.id, name, email, role, password })))
  for (const key of [...DEMO_WITH_UPDATE, ...DEMO_UP_TO_DATE]) {
    const [entry] = await db.select({ id: marketplaceConnectors.id }).from(marketplaceConnectors).where(eq(marketplaceConnectors.key, key))
    if (entry) await installConnector(db, admin!, entry.id)
  }
  return { email: DEMO_EMAIL, password }
}
