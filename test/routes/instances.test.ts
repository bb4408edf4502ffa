import t from 'tap'
import { eq, isNull } from 'drizzle-orm'
import {
  auditEvents,
  connectionShapes,
  connectors,
  instances,
  marketplaceConnectors,
  processFlows,
} from '../../src/db/schema.js'
import { installConnector } from '../../src/domain/connector-install.js'
import { createFlow } from '../../src/domain/flows.js'
import { addShape } from '../../src/domain/connection-shapes.js'
import { createInstance, removeInstance } from '../../src/domain/instances.js'
import { SecretBox } from '../../src/domain/secrets.js'
import { hiddenFields, setup, signedIn, testConfig, textOf } from '../helpers.js'

const logLines: string[] = []
const ctx = await setup(t, { logger: { level: 'info', stream: { write: (line: string) => logLines.push(line) } } })
const admin = ctx.company.users.administrator
const box = new SecretBox(testConfig().encryptionKey)
const [shopifyEntry] = await ctx.db.select().from(marketplaceConnectors).where(eq(marketplaceConnectors.key, 'shopify'))
const shopify = await installConnector(ctx.db, admin, { marketplaceConnectorId: shopifyEntry!.id })
const client = await signedIn(ctx.app, ctx.company.users.user)
const SECRET = 'shpat_super-secret-token-1234'

const [shopifyRow] = await ctx.db.select().from(connectors).where(eq(connectors.id, shopify.id))
const shopifyDefinition = shopifyRow!.definition
const endpointKey = shopifyDefinition.endpoints[0]!.key
/** Valid values for every field of the first authentication method and every variable. */
const validInput = (name: string) => {
  const method = shopifyDefinition.authMethods[0]!
  const values = Object.fromEntries([
    ...method.fields.map((f) => [`auth.${f.key}`, 'x']),
    ...shopifyDefinition.variables.map((v) => [`var.${v.key}`, 'x']),
  ])
  return {
    name,
    timeZone: 'UTC',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '1',
    rateLimitUnit: 'second',
    authMethod: method.key,
    values,
  }
}

t.test('add new instance: name → settings → authentication method → credentials → save', async (t) => {
  const list = await client.get('/connectors')
  t.match(list.body, `href="/connectors/${shopify.id}/instances/new">add new instance`)
  const step1 = await client.get(`/connectors/${shopify.id}/instances/new`)
  t.equal(step1.statusCode, 200)
  t.match(textOf(step1.body), 'Step 1 of 4 Name Instance name')

  const empty = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'name',
    name: '  ',
    action: 'next',
  })
  t.equal(empty.statusCode, 422)
  t.match(empty.body, /id="field-name-error">Enter a name for this instance/)

  const step2 = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'name',
    name: 'Shopify - UK',
    action: 'next',
  })
  t.equal(step2.statusCode, 200)
  t.match(textOf(step2.body), 'Step 2 of 4 Time zone, date format and rate limit')
  t.match(step2.body, '<input type="hidden" name="name" value="Shopify - UK">')

  const badRate = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'settings',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: 'lots',
    rateLimitUnit: 'minute',
    action: 'next',
  })
  t.equal(badRate.statusCode, 422)
  t.match(badRate.body, 'value="lots"', 'the typed value is kept')
  t.match(badRate.body, /id="field-rateLimitAmount-error">Enter a whole number/)

  const step3 = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'settings',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '40',
    rateLimitUnit: 'minute',
    action: 'next',
  })
  t.match(textOf(step3.body), 'Step 3 of 4 Authentication method')
  const methods = [...step3.body.matchAll(/name="authMethod" value="([^"]+)"/g)].map((m) => m[1]!)
  t.ok(methods.length >= 1)
  const tokenMethod = methods[0]!

  const unknown = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'authentication',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '40',
    rateLimitUnit: 'minute',
    authMethod: 'carrier-pigeon',
    action: 'next',
  })
  t.equal(unknown.statusCode, 422, 'an unknown authentication method is refused')

  const step4 = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'authentication',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '40',
    rateLimitUnit: 'minute',
    authMethod: tokenMethod,
    action: 'next',
  })
  t.match(textOf(step4.body), 'Step 4 of 4')
  const fields = [...step4.body.matchAll(/<input id="[^"]+" name="((?:auth|var)\.[^"]+)" type="([^"]+)"/g)].map(
    (m) => ({ name: m[1]!, type: m[2]! }),
  )
  t.ok(
    fields.some((f) => f.type === 'password'),
    'secret fields are password inputs',
  )

  const missing = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'credentials',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '40',
    rateLimitUnit: 'minute',
    authMethod: tokenMethod,
    action: 'save',
  })
  t.equal(missing.statusCode, 422, 'required credentials are enforced')
  t.equal((await ctx.db.select().from(instances)).length, 0, 'a wizard left half way keeps nothing')

  const values = Object.fromEntries(
    fields.map((f) => [f.name, f.type === 'password' ? SECRET : 'uk-store.myshopify.com']),
  )
  const saved = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'credentials',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '40',
    rateLimitUnit: 'minute',
    authMethod: tokenMethod,
    action: 'save',
    ...values,
  })
  t.equal(saved.statusCode, 303)
  const [row] = await ctx.db.select().from(instances)
  t.equal(row!.name, 'Shopify - UK')
  t.equal(row!.timeZone, 'Europe/London')
  t.equal(row!.rateLimitAmount, 40)
  t.notMatch(row!.secrets ?? '', SECRET, 'the secret is stored encrypted')
  t.notMatch(JSON.stringify(row!.settings), SECRET)
  t.match(Object.values(box.open(row!.secrets)), [SECRET], 'and decrypts with the key')

  const page = await client.get(saved.headers.location as string)
  t.match(textOf(page.body), 'Instance Shopify - UK of Shopify was added.')
  t.match(page.body, `aria-label="settings for instance Shopify - UK"`)
  t.match(textOf(page.body), 'used by 0 process flows')

  const duplicate = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'credentials',
    name: 'Shopify - UK',
    timeZone: 'Europe/London',
    dateFormat: 'Y-m-d',
    rateLimitAmount: '40',
    rateLimitUnit: 'minute',
    authMethod: tokenMethod,
    action: 'save',
    ...values,
  })
  t.equal(duplicate.statusCode, 422)
  t.match(textOf(duplicate.body), 'Shopify already has an instance called "Shopify - UK"')
  t.match(textOf(duplicate.body), 'Step 1 of 4', 'back at the step that asks for the name')

  const events = await ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'add instance'))
  t.equal(events.length, 1, 'recorded in the audit log')
  t.equal(events[0]!.actorId, ctx.company.users.user.id)
})

t.test('instance settings change every field; secrets are never shown back', async (t) => {
  const [row] = await ctx.db.select().from(instances).where(eq(instances.name, 'Shopify - UK'))
  const page = await client.get(`/instances/${row!.id}/settings`)
  t.equal(page.statusCode, 200)
  t.notMatch(page.body, SECRET)
  t.match(textOf(page.body), 'A value is stored. Leave blank to keep it.')
  const details = await client.post(`/instances/${row!.id}/settings`, {
    ...hiddenFields(page.body, `/instances/${row!.id}/settings`),
    name: 'Shopify - United Kingdom',
    timeZone: 'UTC',
    dateFormat: 'd/m/Y',
    rateLimitAmount: '10',
    rateLimitUnit: 'second',
  })
  t.equal(details.statusCode, 303)
  const bad = await client.post(`/instances/${row!.id}/settings`, {
    lockVersion: '2',
    name: '',
    timeZone: 'Mars/Olympus',
    dateFormat: 'd/m/Y',
    rateLimitAmount: '10',
    rateLimitUnit: 'second',
  })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /id="field-timeZone-error">Choose a time zone/)

  // Blank secret keeps the stored one; the non-secret values change.
  const current = await client.get(`/instances/${row!.id}/settings`)
  const fieldNames = [...current.body.matchAll(/<input id="[^"]+" name="((?:auth|var)\.[^"]+)" type="([^"]+)"/g)].map(
    (m) => ({ name: m[1]!, type: m[2]! }),
  )
  const form = Object.fromEntries(
    fieldNames.map((f) => [f.name, f.type === 'password' ? '' : 'new-store.myshopify.com']),
  )
  const auth = await client.post(`/instances/${row!.id}/authentication`, {
    ...hiddenFields(current.body, `/instances/${row!.id}/authentication`),
    ...form,
  })
  t.equal(auth.statusCode, 303)
  const [after] = await ctx.db.select().from(instances).where(eq(instances.id, row!.id))
  t.equal(after!.name, 'Shopify - United Kingdom')
  t.equal(after!.rateLimitUnit, 'second')
  t.match(Object.values(box.open(after!.secrets)), [SECRET], 'the blank secret kept the stored value')
  t.ok(Object.values(after!.settings).includes('new-store.myshopify.com'))
})

t.test(
  'time zones: canonical IANA names, UTC first and preselected; a stored retired name shows and saves as its current one',
  async (t) => {
    const step2 = await client.post(`/connectors/${shopify.id}/instances/new`, {
      step: 'name',
      name: 'Shopify - India',
      action: 'next',
    })
    const options = [...step2.body.matchAll(/<option value="([^"]*)"( selected)?>/g)].filter(
      (m) => m[1]!.includes('/') || m[1] === 'UTC',
    )
    t.equal(options[0]![1], 'UTC', 'UTC comes first')
    t.same(
      options.filter((m) => m[2]).map((m) => m[1]),
      ['UTC'],
      'and is the one selected',
    )
    const zones = options.map((m) => m[1]!)
    t.ok(zones.includes('Asia/Kolkata') && zones.includes('Europe/Kyiv'), 'current names are offered')
    t.notOk(zones.includes('Asia/Calcutta') || zones.includes('Europe/Kiev'), 'retired names are not')

    const created = await createInstance(ctx.db, admin, box, {
      connectorId: shopify.id,
      ...validInput('Shopify - Mumbai'),
    })
    await ctx.db.update(instances).set({ timeZone: 'Asia/Calcutta' }).where(eq(instances.id, created.id))
    const settings = await client.get(`/instances/${created.id}/settings`)
    t.match(
      settings.body,
      '<option value="Asia/Kolkata" selected>',
      'a stored retired name is shown by its current name',
    )
    const details = { name: 'Shopify - Mumbai', dateFormat: 'Y-m-d', rateLimitAmount: '1', rateLimitUnit: 'second' }
    const lockVersion = async () =>
      String(
        (await ctx.db.select({ version: instances.version }).from(instances).where(eq(instances.id, created.id)))[0]!
          .version,
      )
    t.equal(
      (
        await client.post(`/instances/${created.id}/settings`, {
          ...details,
          lockVersion: await lockVersion(),
          timeZone: 'Asia/Kolkata',
        })
      ).statusCode,
      303,
      'and saves as it is shown',
    )
    t.equal((await ctx.db.select().from(instances).where(eq(instances.id, created.id)))[0]!.timeZone, 'Asia/Kolkata')
    t.equal(
      (
        await client.post(`/instances/${created.id}/settings`, {
          ...details,
          lockVersion: await lockVersion(),
          timeZone: 'Europe/Kiev',
        })
      ).statusCode,
      303,
      'a retired name sent by an old form is accepted',
    )
    t.equal(
      (await ctx.db.select().from(instances).where(eq(instances.id, created.id)))[0]!.timeZone,
      'Europe/Kyiv',
      'and stored by its current name',
    )
    await ctx.db.delete(instances).where(eq(instances.id, created.id))
  },
)

t.test('secrets never appear in any log line', async (t) => {
  t.ok(logLines.length > 10, 'requests were logged')
  t.notOk(
    logLines.some((line) => line.includes(SECRET)),
    'no log line holds the secret',
  )
})

t.test('removing an instance: trash → type confirm; blocked while a connection shape uses it', async (t) => {
  const [row] = await ctx.db.select().from(instances).where(eq(instances.companyId, ctx.company.id))
  const settings = await client.get(`/instances/${row!.id}/settings`)
  t.match(settings.body, `href="/instances/${row!.id}/delete" aria-label="remove instance"`)
  const prompt = await client.get(`/instances/${row!.id}/delete`, {
    'hx-request': 'true',
    'hx-request-type': 'partial',
  })
  t.match(prompt.body, /^<section class="removal" id="confirm-removal"/, 'htmx gets the fragment')
  t.match(textOf(prompt.body), 'Type confirm to confirm that you wish to proceed')

  t.match(
    textOf(prompt.body),
    `What uses it No process flow uses ${row!.name}: nothing else is removed with it.`,
    'what it touches, before anything is typed',
  )

  const flow = await createFlow(ctx.db, ctx.company.users.user, { name: 'Orders to ERP' })
  await addShape(ctx.db, ctx.company.users.user, { flowId: flow.id, instanceId: row!.id, endpointKey, version: 1 })
  const usedPrompt = await client.get(`/instances/${row!.id}/delete`)
  const usedText = textOf(usedPrompt.body)
  t.match(
    usedText,
    new RegExp(
      `What uses it ${row!.name} is used by 1 connection shape in 1 process flow ?: Orders to ERP \\(disabled\\) — connection shape 1, endpoint ${endpointKey}`,
    ),
    'the prompt says up front which flows use it',
  )
  t.match(usedPrompt.body, `href="/process-flows/${flow.id}#shape-`)
  t.match(
    usedText,
    `While connection shapes use ${row!.name}, the delete operation is cancelled: reconfigure or remove these shapes first.`,
  )
  t.ok(usedText.indexOf('What uses it') < usedText.indexOf('Type confirm to confirm'), 'before the field to type in')
  const wrong = await client.post(`/instances/${row!.id}/delete`, {
    ...hiddenFields(prompt.body, `/instances/${row!.id}/delete`),
    confirm: 'yes',
  })
  t.equal(wrong.statusCode, 422)
  t.match(wrong.body, /id="confirm-text-error">Type the word confirm/)
  const blocked = await client.post(`/instances/${row!.id}/delete`, {
    ...hiddenFields(prompt.body, `/instances/${row!.id}/delete`),
    confirm: ' Confirm ',
  })
  t.equal(blocked.statusCode, 409)
  t.match(textOf(blocked.body), 'The delete operation is cancelled')
  t.match(blocked.body, `href="/process-flows/${flow.id}#shape-`)
  t.match(textOf(blocked.body), 'Orders to ERP (disabled)')
  t.equal((await ctx.db.select().from(instances).where(eq(instances.id, row!.id))).length, 1, 'still there')

  const flowPrompt = await client.get(`/process-flows/${flow.id}/delete`)
  t.equal(
    (
      await client.post(`/process-flows/${flow.id}/delete`, {
        ...hiddenFields(flowPrompt.body, `/process-flows/${flow.id}/delete`),
        confirm: 'confirm',
      })
    ).statusCode,
    303,
  )
  const again = await client.get(`/instances/${row!.id}/delete`)
  const removed = await client.post(`/instances/${row!.id}/delete`, {
    ...hiddenFields(again.body, `/instances/${row!.id}/delete`),
    confirm: 'confirm',
  })
  t.equal(removed.statusCode, 303)
  t.equal(removed.headers.location, '/connectors')
  t.match(textOf((await client.get('/connectors')).body), 'The instance Shopify - United Kingdom was removed.')
  t.equal((await ctx.db.select().from(instances).where(eq(instances.id, row!.id))).length, 0)
})

t.test('a shape added at the same moment either blocks the delete or is refused: never an orphan', async (t) => {
  const user = ctx.company.users.user
  const flow = await createFlow(ctx.db, user, { name: 'Race flow' })
  let blocked = 0
  let removed = 0
  for (let round = 0; round < 20; round++) {
    const instance = await createInstance(ctx.db, user, box, {
      connectorId: shopify.id,
      ...validInput(`Racer ${round}`),
    })
    const [{ version }] = (await ctx.db
      .select({ version: processFlows.version })
      .from(processFlows)
      .where(eq(processFlows.id, flow.id))) as [{ version: number }]
    const [removal, shape] = await Promise.allSettled([
      removeInstance(ctx.db, user, instance.id, { version: 1 }),
      addShape(ctx.db, user, { flowId: flow.id, instanceId: instance.id, endpointKey, version }),
    ])
    const gone = removal.status === 'fulfilled' && removal.value.removed
    if (gone) {
      removed++
      t.equal(shape.status, 'rejected', `round ${round}: the shape was refused`)
    } else {
      blocked++
      t.equal(shape.status, 'fulfilled', `round ${round}: the delete was blocked by the shape`)
    }
  }
  const orphans = await ctx.db
    .select({ id: connectionShapes.id })
    .from(connectionShapes)
    .leftJoin(instances, eq(instances.id, connectionShapes.instanceId))
    .where(isNull(instances.id))
  t.equal(orphans.length, 0, 'no connection shape without its instance')
  t.equal(blocked + removed, 20)
})

t.test("another company's instance answers 404 like a missing one, for read and write", async (t) => {
  const row = await createInstance(ctx.db, admin, box, { connectorId: shopify.id, ...validInput('Kept for tenancy') })
  const outsider = await signedIn(ctx.app, ctx.other.users.administrator)
  for (const [method, url] of [
    ['GET', `/instances/${row!.id}/settings`],
    ['GET', `/instances/${row!.id}/delete`],
    ['POST', `/instances/${row!.id}/delete`],
    ['POST', `/instances/${row!.id}/settings`],
    ['GET', `/connectors/${shopify.id}/instances/new`],
  ] as const) {
    const response =
      method === 'GET'
        ? await outsider.get(url)
        : await outsider.post(url, { confirm: 'confirm', name: 'x', lockVersion: '1' })
    t.equal(response.statusCode, 404, `${method} ${url}`)
  }
  t.equal((await ctx.db.select().from(instances).where(eq(instances.id, row!.id))).length, 1)
})

t.test('a read-only user cannot add, change or remove instances', async (t) => {
  const reader = await signedIn(ctx.app, ctx.company.users['read-only'])
  const row = await createInstance(ctx.db, admin, box, { connectorId: shopify.id, ...validInput('Kept for roles') })
  t.notMatch((await reader.get('/connectors')).body, 'add new instance')
  t.equal((await reader.get(`/connectors/${shopify.id}/instances/new`)).statusCode, 403)
  t.equal((await reader.post(`/instances/${row!.id}/delete`, { confirm: 'confirm' })).statusCode, 403)
  t.notMatch((await reader.get(`/instances/${row!.id}/settings`)).body, 'remove instance')
})

// Lost updates: every settings form carries the version of the instance it was read at.
const detailsOf = (name: string, timeZone: string, rateLimitAmount: string) => ({
  name,
  timeZone,
  dateFormat: 'Y-m-d',
  rateLimitAmount,
  rateLimitUnit: 'second',
})
const HTMX = { 'hx-request': 'true', 'hx-request-type': 'partial' }

t.test(
  'two people save the same instance details: the first change stays, the second gets 409 with both shown',
  async (t) => {
    const instance = await createInstance(ctx.db, admin, box, {
      connectorId: shopify.id,
      ...validInput('Shopify - EU'),
    })
    const url = `/instances/${instance.id}/settings`
    const colleague = await signedIn(ctx.app, admin)
    const [mine, theirs] = await Promise.all([client.get(url), colleague.get(url)])
    const first = await colleague.post(url, {
      ...hiddenFields(theirs.body, url),
      ...detailsOf('Shopify - Europe', 'Europe/Paris', '1'),
    })
    t.equal(first.statusCode, 303)
    const late = await client.post(url, {
      ...hiddenFields(mine.body, url),
      ...detailsOf('Shopify - EU', 'Europe/Berlin', '5'),
    })
    t.equal(late.statusCode, 409, 'a stale save is refused')
    const text = textOf(late.body)
    t.match(text, `${admin.name} saved a change to this instance meanwhile. Your details were not saved.`)
    t.match(
      late.body,
      /id="field-timeZone"[^>]*>[\s\S]*?<option value="Europe\/Berlin" selected>/,
      'what the user chose is kept',
    )
    t.match(
      late.body,
      'id="field-rateLimitAmount" name="rateLimitAmount" type="number" value="5"',
      'what the user typed is kept',
    )
    t.match(
      late.body,
      /<p class="hint" id="field-timeZone-hint">Saved now: Europe\/Paris<\/p>/,
      'what is saved now, beside the field',
    )
    t.match(late.body, /<p class="hint" id="field-rateLimitAmount-hint">Saved now: 1<\/p>/)
    t.match(late.body, /<p class="hint" id="field-name-hint">Saved now: Shopify - Europe<\/p>/)
    t.notMatch(late.body, 'id="field-dateFormat-hint"', 'nothing beside a field that is the same')
    t.match(late.body, /aria-describedby="field-timeZone-hint"/, 'tied to its field')
    t.match(late.body, '<input type="hidden" name="lockVersion" value="2">', 'the form is now based on their change')
    const [row] = await ctx.db.select().from(instances).where(eq(instances.id, instance.id))
    t.same(
      [row!.name, row!.timeZone, row!.rateLimitAmount, row!.version],
      ['Shopify - Europe', 'Europe/Paris', 1, 2],
      'their change is kept, nothing overwritten',
    )

    const fragment = await client.post(
      url,
      { ...hiddenFields(mine.body, url), ...detailsOf('Shopify - EU', 'Europe/Berlin', '5') },
      HTMX,
    )
    t.equal(fragment.statusCode, 409, 'with htmx too')
    t.match(fragment.body, /^<section id="instance-details"/, 'htmx gets the form alone, to swap in place')
    t.match(textOf(fragment.body), 'saved a change to this instance meanwhile')

    const again = await client.post(url, {
      ...hiddenFields(late.body, url),
      ...detailsOf('Shopify - EU', 'Europe/Berlin', '5'),
    })
    t.equal(again.statusCode, 303, 'saving again from the refreshed form works')
  },
)

t.test('two saves of one instance at once: exactly one is saved, the other gets 409', async (t) => {
  const instance = await createInstance(ctx.db, admin, box, { connectorId: shopify.id, ...validInput('Shopify - DE') })
  const url = `/instances/${instance.id}/settings`
  const colleague = await signedIn(ctx.app, ctx.company.users.manager)
  for (let round = 0; round < 5; round++) {
    const [mine, theirs] = await Promise.all([client.get(url), colleague.get(url)])
    const responses = await Promise.all([
      client.post(url, { ...hiddenFields(mine.body, url), ...detailsOf(`Mine ${round}`, 'UTC', '2') }),
      colleague.post(url, { ...hiddenFields(theirs.body, url), ...detailsOf(`Theirs ${round}`, 'UTC', '3') }),
    ])
    t.same(responses.map((r) => r.statusCode).sort(), [303, 409], `round ${round}: one saved, one refused`)
    const winner = responses[0]!.statusCode === 303 ? `Mine ${round}` : `Theirs ${round}`
    const [row] = await ctx.db.select().from(instances).where(eq(instances.id, instance.id))
    t.equal(row!.name, winner, `round ${round}: the saved change is the one answered 303`)
    t.equal(row!.version, round + 2, `round ${round}: one new version`)
  }
})

t.test('a stale authentication save is refused too; secrets are still never shown back', async (t) => {
  const instance = await createInstance(ctx.db, admin, box, { connectorId: shopify.id, ...validInput('Shopify - FR') })
  const url = `/instances/${instance.id}/settings`
  const action = `/instances/${instance.id}/authentication`
  const colleague = await signedIn(ctx.app, admin)
  const [mine, theirs] = await Promise.all([client.get(url), colleague.get(url)])
  const fields = [...mine.body.matchAll(/<input id="[^"]+" name="((?:auth|var)\.[^"]+)" type="([^"]+)"/g)].map((m) => ({
    name: m[1]!,
    type: m[2]!,
  }))
  const plain = fields.find((f) => f.type === 'text')!
  const form = (value: string) =>
    Object.fromEntries(fields.map((f) => [f.name, f.type === 'password' ? SECRET : value]))
  t.equal(
    (await colleague.post(action, { ...hiddenFields(theirs.body, action), ...form('theirs.myshopify.com') }))
      .statusCode,
    303,
  )
  const late = await client.post(action, { ...hiddenFields(mine.body, action), ...form('mine.myshopify.com') })
  t.equal(late.statusCode, 409)
  t.match(
    textOf(late.body),
    `${admin.name} saved a change to this instance meanwhile. Your authentication was not saved.`,
  )
  t.match(late.body, `name="${plain.name}" type="text" value="mine.myshopify.com"`, 'what the user typed is kept')
  t.match(late.body, 'Saved now: theirs.myshopify.com')
  t.notMatch(late.body, SECRET, 'no secret in the page')
  const [row] = await ctx.db.select().from(instances).where(eq(instances.id, instance.id))
  t.equal(row!.settings[plain.name], 'theirs.myshopify.com', 'their change is kept')
})

t.test('a double-submitted settings form saves once and answers like the first', async (t) => {
  const instance = await createInstance(ctx.db, admin, box, { connectorId: shopify.id, ...validInput('Shopify - IT') })
  const url = `/instances/${instance.id}/settings`
  const page = await client.get(url)
  const form = { ...hiddenFields(page.body, url), ...detailsOf('Shopify - Italy', 'Europe/Rome', '2') }
  const [a, b] = await Promise.all([client.post(url, form), client.post(url, form)])
  const c = await client.post(url, form)
  t.same([a.statusCode, b.statusCode, c.statusCode], [303, 303, 303], 'every answer is the first one')
  const [row] = await ctx.db.select().from(instances).where(eq(instances.id, instance.id))
  t.equal(row!.version, 2, 'saved once')
  const events = await ctx.db.select().from(auditEvents).where(eq(auditEvents.subjectId, instance.id))
  t.equal(events.filter((e) => e.action === 'change instance').length, 1, 'one change recorded')
})

t.test("the wizard's save sent twice adds one instance and answers the same", async (t) => {
  const first = await client.get(`/connectors/${shopify.id}/instances/new`)
  const submission = /name="submission" value="([^"]+)"/.exec(first.body)![1]!
  const input = validInput('Shopify - NL')
  const form = {
    step: 'credentials',
    action: 'save',
    submission,
    name: input.name,
    timeZone: input.timeZone,
    dateFormat: input.dateFormat,
    rateLimitAmount: input.rateLimitAmount,
    rateLimitUnit: input.rateLimitUnit,
    authMethod: input.authMethod,
    ...input.values,
  }
  const step2 = await client.post(`/connectors/${shopify.id}/instances/new`, {
    step: 'name',
    name: 'Shopify - NL',
    action: 'next',
    submission,
  })
  t.match(step2.body, `name="submission" value="${submission}"`, 'the key is carried through the steps')
  const [a, b] = await Promise.all([
    client.post(`/connectors/${shopify.id}/instances/new`, form),
    client.post(`/connectors/${shopify.id}/instances/new`, form),
  ])
  const c = await client.post(`/connectors/${shopify.id}/instances/new`, form)
  t.same([a.statusCode, b.statusCode, c.statusCode], [303, 303, 303])
  t.equal(b.headers.location, a.headers.location, 'the same answer')
  t.equal(c.headers.location, a.headers.location, 'also when sent again later')
  t.equal((await ctx.db.select().from(instances).where(eq(instances.name, 'Shopify - NL'))).length, 1, 'one instance')
})

t.test('an instance in UTC (the default) shows UTC chosen, so saving its details keeps it', async (t) => {
  const utc = await createInstance(ctx.db, admin, box, { connectorId: shopify.id, ...validInput('Shopify - UTC') })
  const page = await client.get(`/instances/${utc.id}/settings`)
  t.match(page.body, '<option value="UTC" selected>UTC</option>', 'UTC is in the list, and chosen')
})
