// Step 5 of the connector builder: the draft published to the company's marketplace and installed.
import { randomBytes } from 'node:crypto'
import { and, eq } from 'drizzle-orm'
import { connectorDrafts, connectors, marketplaceConnectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import type { Actor } from './actor.js'
import { checkDefinition, isMissingFirst } from './definition.js'
import { Invalid } from './errors.js'
import { installEntry, installMarketplaceVersion } from './connector-install.js'
import { lockConnectorNames } from './locks.js'
import { versionLabel } from './versions.js'
import { runCommand } from './command.js'
import type { EditForm } from './edit-form.js'
import { BUILDER_STEPS, connectorNamed, lockDraft, nameTaken, stepProblems } from './builder.js'

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'connector'
  )
}

/**
 * Step 5: publishes the draft to this company's marketplace and installs it, in one transaction;
 * the draft is gone afterwards. The form shows what is completed: a draft changed since is refused
 * (EditConflict). A double-submitted form does this once.
 */
export async function completeDraft(db: Db, actor: Actor, { draftId: id, ...form }: { draftId: string } & EditForm) {
  return runCommand(db, actor, {
    permission: 'manageConnectors',
    submission: form.submission,
    replay: async (tx, earlier) => {
      if (!earlier.resultId) return null
      const [done] = await tx
        .select({ id: connectors.id, name: connectors.name })
        .from(connectors)
        .where(and(eq(connectors.id, earlier.resultId), eq(connectors.companyId, actor.companyId)))
      return { id: earlier.resultId, name: done?.name ?? '', repeated: true }
    },
    run: async (tx) => {
      const draft = await lockDraft(tx, actor, id, form)
      const data = draft.data
      const missing = BUILDER_STEPS.map((step) => stepProblems(data, step)[''] ?? '').filter(Boolean)
      const problems = checkDefinition(data.definition)
        .filter((p) => !isMissingFirst(p))
        .map((p) => `${p.path}: ${p.message}`)
      if (missing.length || problems.length) throw new Invalid({ '': [...missing, ...problems].join(' ') })
      // Taken since the basic details were saved: the builder names its connector, it does not number it.
      await lockConnectorNames(tx, actor)
      const taken = await connectorNamed(tx, actor, data.details.name)
      if (taken) throw new Invalid({ '': `${nameTaken(taken.name)} Change it in the basic details, then complete.` })
      const [entry] = await tx
        .insert(marketplaceConnectors)
        .values({
          key: `${slug(data.details.name)}-${randomBytes(3).toString('hex')}`,
          kind: 'custom',
          companyId: actor.companyId,
          name: data.details.name,
          description: data.details.description,
          systemType: data.details.systemType,
          colour: data.details.colour,
        })
        .returning({ id: marketplaceConnectors.id })
      const [version] = await tx
        .insert(marketplaceVersions)
        .values({
          marketplaceConnectorId: entry!.id,
          version: data.details.version,
          definition: data.definition,
          releaseNotes: `Built with the connector builder by ${actor.name}.`,
        })
        .returning({ id: marketplaceVersions.id })
      await tx
        .update(marketplaceConnectors)
        .set({ latestVersionId: version!.id })
        .where(eq(marketplaceConnectors.id, entry!.id))
      const connector = await installMarketplaceVersion(tx, actor, {
        marketplaceConnectorId: entry!.id,
        versionId: version!.id,
        definition: data.definition,
        name: data.details.name,
        summary: `installed ${versionLabel(data.details.version)} from the marketplace`,
      })
      await tx.delete(connectorDrafts).where(eq(connectorDrafts.id, id))
      return {
        result: { id: connector.id, name: connector.name, repeated: false },
        resultId: connector.id,
        audit: [
          installEntry(connector, { id: entry!.id, kind: 'custom', version: data.details.version }),
          {
            action: 'build',
            subjectType: 'marketplace connector',
            subjectId: entry!.id,
            summary: `built custom connector ${data.details.name} (${data.details.version}) and installed it`,
            details: { connectorId: connector.id },
          },
        ],
      }
    },
  })
}
