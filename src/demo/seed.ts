// What a database needs before the app serves it: the vendor's catalogue published and, on an
// empty database outside production, a demo company to sign in to. Made through the domain's
// commands like any company's data, so it lives beside them, not in db/.
import { count, eq } from 'drizzle-orm'
import { companies, marketplaceConnectors } from '../db/schema.js'
import type { Db } from '../db/client.js'
import { readCatalogue, type ConnectorManifest } from '../marketplace/manifest.js'
import { publishCatalogue } from '../marketplace/publishing.js'
import { createCompany, createUser } from '../domain/users.js'
import { getConnector } from '../domain/connectors.js'
import { installConnector } from '../domain/connector-install.js'
import { saveDefinition } from '../domain/revisions.js'
import type { Actor } from '../domain/actor.js'
import type { EndpointSpec } from '../domain/definition.js'
import type { Role } from '../domain/enums.js'

export const DEMO_EMAIL = 'admin@demo.example'
const DEMO_DEVELOPMENT_PASSWORD = 'connectors-demo'

/** Installed in the demo before their newest version is published, so an update is waiting. */
const DEMO_WITH_UPDATE = ['shopify', 'bigcommerce']
/** Modified by the demo administrator after install, so the update waiting for it asks: overwrite or install alongside? */
const DEMO_MODIFIED = 'bigcommerce'
const GET_REFUNDS: EndpointSpec = {
  key: 'get_refunds',
  name: 'Get refunds',
  entity: 'Refunds',
  direction: 'receive',
  method: 'GET',
  url: '/v3/orders/payment_actions/refunds?created:min={{created_since}}&limit=250',
  variables: [{ key: 'created_since', label: 'Created since', secret: false, required: false }],
}
const DEMO_UP_TO_DATE = ['klaviyo', 'mintsoft']

export interface DemoSignIn {
  email: string
  password: string
}

/** What the start log says about accounts: how to sign in to a demo just created, or how to create the first administrator. */
export type Accounts = { kind: 'demo created'; signIn: DemoSignIn } | { kind: 'no company' } | { kind: 'ready' }

/** The command that creates a production deployment's first administrator. */
export const CREATE_ADMINISTRATOR = 'npm run admin:create -- --company "Your company" --email you@example.com'

const withoutNewest = (manifest: ConnectorManifest): ConnectorManifest => ({
  ...manifest,
  versions: manifest.versions.slice(0, Math.max(1, manifest.versions.length - 1)),
})

/**
 * Publishes the catalogue. On a database with no company, outside production, first creates the
 * demo company; production never creates demo data (its first administrator comes from
 * `npm run admin:create`).
 */
export async function prepareDatabase(db: Db, options: { production: boolean }): Promise<Accounts> {
  const catalogue = await readCatalogue()
  const [companyCount] = await db.select({ n: count() }).from(companies)
  const empty = companyCount!.n === 0
  if (!empty || options.production) {
    await publishCatalogue(db, catalogue)
    return empty ? { kind: 'no company' } : { kind: 'ready' }
  }
  // The vendor's older versions first, so the demo's connectors can be behind the newest.
  await publishCatalogue(
    db,
    catalogue.map(({ file, manifest }) => ({ file, manifest: withoutNewest(manifest) })),
  )
  const demo = await createDemoCompany(db, DEMO_DEVELOPMENT_PASSWORD)
  await publishCatalogue(db, catalogue)
  // Installed from the newest versions: these show no "update available".
  await installDemoConnectors(db, demo.admin, DEMO_UP_TO_DATE)
  return { kind: 'demo created', signIn: demo.signIn }
}

async function createDemoCompany(db: Db, password: string): Promise<{ signIn: DemoSignIn; admin: Actor }> {
  const company = await createCompany(db, 'Demo Company')
  const people: [string, string, Role][] = [
    ['Ana Diaz', DEMO_EMAIL, 'administrator'],
    ['Ben Okafor', 'manager@demo.example', 'manager'],
    ['Chloe Martin', 'user@demo.example', 'user'],
    ['Dev Patel', 'readonly@demo.example', 'read-only'],
  ]
  const [admin] = await Promise.all(
    people.map(([name, email, role]) => createUser(db, { companyId: company.id, name, email, role, password })),
  )
  await installDemoConnectors(db, admin!, DEMO_WITH_UPDATE)
  return { signIn: { email: DEMO_EMAIL, password }, admin: admin! }
}

async function installDemoConnectors(db: Db, admin: Actor, keys: string[]) {
  for (const key of keys) {
    const [entry] = await db
      .select({ id: marketplaceConnectors.id })
      .from(marketplaceConnectors)
      .where(eq(marketplaceConnectors.key, key))
    if (!entry) continue
    const installed = await installConnector(db, admin, { marketplaceConnectorId: entry.id })
    if (key === DEMO_MODIFIED) await addEndpoint(db, admin, installed.id, GET_REFUNDS)
  }
}

async function addEndpoint(db: Db, actor: Actor, connectorId: string, endpoint: EndpointSpec) {
  const connector = await getConnector(db, actor, connectorId)
  await saveDefinition(db, actor, {
    connectorId,
    revision: connector.revision,
    definition: { ...connector.definition, endpoints: [...connector.definition.endpoints, endpoint] },
  })
}
