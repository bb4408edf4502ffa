import t from 'tap'
import {
  isPickerField,
  planMigration,
  undoBlockers,
  type MigrationBatchView,
  type PlanInput,
} from '../../src/domain/instance-moves/index.js'
import type { ConnectorDefinition } from '../../src/domain/definition.js'
import { manifestOf } from '../connector-fixtures.js'

const oldDefinition = manifestOf('shopify').versions.at(-1)!.definition as ConnectorDefinition
const newDefinition: ConnectorDefinition = structuredClone(oldDefinition)
newDefinition.variables = newDefinition.variables.filter((v) => v.key !== 'location_id')
newDefinition.variables.push({ key: 'api_version', label: 'API version', secret: false, required: true })
newDefinition.endpoints = newDefinition.endpoints.filter((e) => e.key !== 'get_customers')
newDefinition.authMethods = newDefinition.authMethods.filter((m) => m.key !== 'oauth')

const UK = '11111111-1111-4111-8111-111111111111'
const EU = '22222222-2222-4222-8222-222222222222'
const FLOW = '33333333-3333-4333-8333-333333333333'
const SHAPES = ['44444444-4444-4444-8444-444444444441', '44444444-4444-4444-8444-444444444442']

function input(choices: Partial<PlanInput['choices']> = {}, extra: Partial<PlanInput> = {}): PlanInput {
  return {
    from: { id: 'from', name: 'Shopify', version: '2.2.0', revision: 1, definition: oldDefinition },
    to: { id: 'to', name: 'Shopify 2.3.0', version: '2.3.0', revision: 1, definition: newDefinition },
    instances: [
      {
        id: UK,
        name: 'Shopify - UK',
        authMethodKey: 'admin_api_token',
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: 2,
        rateLimitUnit: 'second',
        settings: { 'var.shop_domain': 'uk.example', 'var.order_status': '', 'var.location_id': '42' },
        secretKeys: ['auth.access_token'],
        updatedAt: new Date('2026-11-01T00:00:00Z'),
        movedTo: null,
      },
      {
        id: EU,
        name: 'Shopify - EU',
        authMethodKey: 'oauth',
        timeZone: 'UTC',
        dateFormat: 'Y-m-d',
        rateLimitAmount: 2,
        rateLimitUnit: 'second',
        settings: { 'var.shop_domain': 'eu.example', 'auth.client_id': 'eu' },
        secretKeys: ['auth.client_secret'],
        updatedAt: new Date('2026-11-01T00:00:00Z'),
        movedTo: null,
      },
    ],
    shapes: [
      {
        id: SHAPES[0]!,
        flowId: FLOW,
        flowName: 'Orders',
        enabled: true,
        position: 0,
        instanceId: UK,
        endpointKey: 'get_orders',
      },
      {
        id: SHAPES[1]!,
        flowId: FLOW,
        flowName: 'Orders',
        enabled: true,
        position: 1,
        instanceId: UK,
        endpointKey: 'get_customers',
      },
    ],
    takenNames: [],
    choices: {
      instanceIds: [UK],
      flowIds: { [UK]: [FLOW] },
      suffix: ' (2.3.0)',
      authMethods: {},
      endpoints: {},
      ...choices,
    },
    ...extra,
  }
}

t.test('copies the values the new version has, drops the others and says which required ones stay empty', async (t) => {
  const plan = planMigration(input())
  const [uk] = plan.instances
  t.equal(uk!.name, 'Shopify - UK (2.3.0)')
  t.same(uk!.authMethod, { key: 'admin_api_token', name: 'Admin API access token (custom app)' })
  t.equal(uk!.authMethodAsked, false)
  t.same(
    uk!.fields.filter((f) => f.copiedFrom).map((f) => [f.name, f.copiedFrom, f.value]),
    [
      ['auth.access_token', 'credential', null],
      ['var.shop_domain', 'setting', 'uk.example'],
    ],
  )
  t.equal(uk!.fields.find((f) => f.name === 'var.order_status')!.value, 'any', 'an empty value takes the default')
  t.same(
    uk!.dropped.map((d) => [d.name, d.why]),
    [['var.location_id', 'Shopify 2.3.0 has no such variable']],
  )
  t.same(uk!.requiredEmpty, ['API version'])
})

t.test('keeps endpoints the new version has and asks for the others', async (t) => {
  const asked = planMigration(input())
  t.same(
    asked.shapes.map((s) => [s.toEndpoint?.key ?? null, s.endpointAsked]),
    [
      ['get_orders', false],
      [null, true],
    ],
  )
  t.same(Object.keys(asked.errors), [`endpoint.${SHAPES[1]}`])
  t.notOk(isPickerField(`endpoint.${SHAPES[1]}`), 'answered on the preview')
  const answered = planMigration(input({ endpoints: { [SHAPES[1]!]: 'get_products' } }))
  t.same(answered.errors, {})
  t.equal(answered.shapes[1]!.toEndpoint!.key, 'get_products')
  t.equal(answered.digest, asked.digest, 'an answer on the preview does not change what the preview showed')
  t.same(planMigration(input({ flowIds: {} })).shapes, [], 'flows not picked: no shapes repointed')
})

t.test('a method the new version does not have is asked for; credentials never cross methods', async (t) => {
  const asked = planMigration(input({ instanceIds: [EU], flowIds: {} }))
  t.match(
    asked.errors[`authMethod.${EU}`],
    'Choose how Shopify - EU (2.3.0) authenticates: Shopify 2.3.0 has no authentication method OAuth (public app).',
  )
  const chosen = planMigration(input({ instanceIds: [EU], flowIds: {}, authMethods: { [EU]: 'admin_api_token' } }))
  t.same(chosen.errors, {})
  const [eu] = chosen.instances
  t.same(
    eu!.fields.filter((f) => f.copiedFrom).map((f) => f.name),
    ['var.shop_domain'],
  )
  t.same(
    eu!.dropped.map((d) => d.name),
    ['auth.client_id', 'auth.client_secret'],
  )
  t.same(eu!.requiredEmpty, ['Admin API access token', 'API version'])
})

t.test('refuses what cannot be moved, with the field to show the message beside', async (t) => {
  t.match(planMigration(input({ instanceIds: [] })).errors, {
    instance: 'Pick at least one instance of Shopify to move.',
  })
  t.match(planMigration(input({ instanceIds: ['55555555-5555-4555-8555-555555555555'] })).errors, {
    instance: /not an instance of Shopify/,
  })
  t.match(planMigration(input({ flowIds: { [UK]: ['66666666-6666-4666-8666-666666666666'] } })).errors, {
    [`flow.${UK}`]: /does not use Shopify - UK/,
  })
  t.match(planMigration(input({}, { takenNames: ['Shopify - UK (2.3.0)'] })).errors, {
    suffix: 'Shopify 2.3.0 already has an instance called "Shopify - UK (2.3.0)"',
  })
  t.match(planMigration(input({ suffix: 'x'.repeat(101) })).errors, { suffix: 'Use at most 100 characters.' })
  const moved = input()
  moved.instances[0]!.movedTo = { batchId: 'b', instanceId: 'c', name: 'Shopify - UK (copy)' }
  t.match(planMigration(moved).errors, { instance: 'Shopify - UK was already moved to Shopify - UK (copy).' })
  for (const field of ['instance', 'suffix', `flow.${UK}`]) t.ok(isPickerField(field), `${field} is on the picker`)
})

t.test('the digest changes when what the preview showed changes', async (t) => {
  const base = planMigration(input()).digest
  const changed = input()
  changed.instances[0]!.updatedAt = new Date('2026-11-02T00:00:00Z')
  t.not(planMigration(changed).digest, base, 'the instance was changed')
  t.not(planMigration(input({}, { to: { ...input().to, revision: 2 } })).digest, base, 'the new connector was saved')
  t.not(planMigration(input({ suffix: ' (new)' })).digest, base)
})

t.test('undo blockers name what changed', async (t) => {
  const batch: MigrationBatchView = {
    id: 'b',
    createdAt: new Date(),
    createdByName: 'Ana',
    undoneAt: null,
    undoneByName: null,
    from: { id: 'from', name: 'Shopify' },
    to: { id: 'to', name: 'Shopify 2.3.0' },
    instances: [
      { name: 'Shopify - UK (2.3.0)', createdId: 'c', fromId: UK, fromName: 'Shopify - UK', changedAt: null },
    ],
    shapes: [
      {
        shapeId: SHAPES[0]!,
        flowId: FLOW,
        flowName: 'Orders',
        enabled: true,
        position: 0,
        from: { instanceId: UK, instanceName: 'Shopify - UK', endpointKey: 'get_orders', endpointName: 'Get orders' },
        to: {
          instanceId: 'c',
          instanceName: 'Shopify - UK (2.3.0)',
          endpointKey: 'get_orders',
          endpointName: 'Get orders',
        },
        now: null,
      },
    ],
    blockers: [],
  }
  t.same(undoBlockers(batch, []), [], 'nothing changed: it can be undone')
  const changedAt = new Date('2026-11-03T00:00:00Z')
  const changed = structuredClone(batch)
  changed.instances[0]!.changedAt = changedAt
  changed.instances[0]!.fromId = null
  changed.shapes[0]!.shapeId = null
  t.same(
    undoBlockers(changed, [{ instanceId: 'c', name: 'Shopify - UK (2.3.0)', flowId: 'f2', flowName: 'Refunds' }]).map(
      (b) => b.kind,
    ),
    ['instance changed', 'old instance removed', 'instance used', 'shape removed'],
  )
  t.same(undoBlockers({ ...batch, undoneAt: changedAt, undoneByName: 'Ana' }, null), [
    { kind: 'undone', at: changedAt, byName: 'Ana' },
  ])
})

t.test('a credential is never copied into a field the new version no longer keeps secret', async (t) => {
  const unsealed: ConnectorDefinition = structuredClone(newDefinition)
  unsealed.authMethods
    .find((m) => m.key === 'admin_api_token')!
    .fields.forEach((f) => {
      f.secret = false
    })
  const plan = planMigration(
    input({}, { to: { id: 'to', name: 'Shopify 2.3.0', version: '2.3.0', revision: 1, definition: unsealed } }),
  )
  const [uk] = plan.instances
  const token = uk!.fields.find((f) => f.name === 'auth.access_token')!
  t.equal(token.copiedFrom, null, 'not copied')
  t.equal(token.secret, false)
  t.same(
    uk!.dropped.find((d) => d.name === 'auth.access_token'),
    {
      name: 'auth.access_token',
      label: 'Admin API access token',
      secret: true,
      why: 'Shopify 2.3.0 no longer keeps it secret, so it is not copied into a plain setting: enter it again',
    },
  )
})
