// The data model of PRODUCT.md. Constraints live here so the database itself refuses orphans,
// cross-company links and duplicates, whatever the code above it does.
// The tables are in ./schema/, one file per area; this file is the one entry point (and drizzle.config.ts's).
export { companies, users, sessions, signInFailures } from './schema/companies-users.js'
export { marketplaceConnectors, marketplaceVersions } from './schema/marketplace.js'
export { connectors, connectorRevisions, instances, connectorDrafts } from './schema/connectors-instances.js'
export { processFlows, connectionShapes } from './schema/flows-shapes.js'
export { formSubmissions, auditEvents } from './schema/audit-submissions.js'
export { migrationBatches, migrationInstances, migrationShapes } from './schema/instance-moves.js'
export { updateBatches, updateBatchItems } from './schema/update-batches.js'
export { dataVersions, MARKETPLACE_SCOPE } from './schema/data-versions.js'
