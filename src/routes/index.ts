// Every screen's routes, one file per screen or resource.
import type { FastifyInstance } from 'fastify'
import home from './home.js'
import login from './login.js'
import connectors from './connectors.js'
import marketplace from './marketplace.js'
import instances from './instances.js'
import processFlows from './process-flows.js'
import users from './users.js'
import account from './account.js'
import auditLog from './audit-log.js'
import help from './help.js'
import builder from './builder.js'
import connectorSettings from './connector-settings.js'
import connectorRevisions from './connector-revisions.js'
import updates from './updates.js'
import migrations from './migrations.js'
import fleetUpdates from './fleet-updates.js'

export default async function routes(app: FastifyInstance) {
  await app.register(home)
  await app.register(login)
  await app.register(connectors)
  await app.register(marketplace)
  await app.register(instances)
  await app.register(processFlows)
  await app.register(users)
  await app.register(account)
  await app.register(auditLog)
  await app.register(help)
  await app.register(builder)
  await app.register(connectorSettings)
  await app.register(connectorRevisions)
  await app.register(updates)
  await app.register(migrations)
  await app.register(fleetUpdates)
}
