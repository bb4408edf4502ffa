import t from 'tap'
import { readCatalogue } from '../../src/marketplace/manifest.js'
import type { ConnectorDefinition } from '../../src/domain/definition.js'
import { describeDiff, diffDefinitions, isUnchanged, summariseDiff } from '../../src/domain/definition-diff.js'

const catalogue = await readCatalogue()
const shopify = catalogue.find((c) => c.manifest.key === 'shopify')!.manifest
const base = shopify.versions[0]!.definition

const refunds = {
  key: 'get_refunds',
  name: 'Get refunds',
  entity: 'Refunds',
  direction: 'receive' as const,
  method: 'GET' as const,
  url: '/refunds.json',
  variables: [],
}

interface Case {
  name: string
  change: (d: ConnectorDefinition) => void
  lines: string[]
  /** Parts of the diff to compare exactly; the rest must be empty. */
  expect?: Partial<
    Record<
      'variables' | 'authMethods' | 'endpoints',
      { added?: string[]; changed?: [string, string[]][]; removed?: string[] }
    >
  >
}

const cases: Case[] = [
  { name: 'an unchanged copy', change: () => {}, lines: [] },
  {
    name: 'an added endpoint',
    change: (d) => {
      d.endpoints.push(refunds)
    },
    lines: ['added endpoint Get refunds'],
    expect: { endpoints: { added: ['get_refunds'] } },
  },
  {
    name: 'a removed endpoint',
    change: (d) => {
      d.endpoints = d.endpoints.filter((e) => e.key !== 'get_customers')
    },
    lines: ['removed endpoint Get customers'],
    expect: { endpoints: { removed: ['get_customers'] } },
  },
  {
    name: 'an endpoint with a new URL and an extra variable',
    change: (d) => {
      const orders = d.endpoints.find((e) => e.key === 'get_orders')!
      orders.url = '/orders.json?status={{order_status}}&limit={{page_size}}'
      orders.variables.push({ key: 'page_size', label: 'Page size', secret: false, required: false })
    },
    lines: ['changed endpoint Get orders (URL, endpoint variables)'],
    expect: { endpoints: { changed: [['get_orders', ['URL', 'endpoint variables']]] } },
  },
  {
    name: 'an endpoint renamed: matched by key, reported under its new name',
    change: (d) => {
      d.endpoints.find((e) => e.key === 'get_products')!.name = 'Get all products'
    },
    lines: ['changed endpoint Get all products (name)'],
    expect: { endpoints: { changed: [['get_products', ['name']]] } },
  },
  {
    name: 'endpoints in another order only',
    change: (d) => {
      d.endpoints.reverse()
    },
    lines: [],
  },
  {
    name: 'an authentication method added, another removed',
    change: (d) => {
      d.authMethods = d.authMethods.filter((a) => a.key !== 'oauth')
      d.authMethods.push({ key: 'basic_auth', name: 'Basic', type: 'basic', fields: [] })
    },
    lines: ['added authentication method Basic', 'removed authentication method OAuth (public app)'],
    expect: { authMethods: { added: ['basic_auth'], removed: ['oauth'] } },
  },
  {
    name: 'a secret authentication field made optional',
    change: (d) => {
      d.authMethods[0]!.fields[0]!.required = false
    },
    lines: ['changed authentication method Admin API access token (custom app) (fields)'],
    expect: { authMethods: { changed: [['admin_api_token', ['fields']]] } },
  },
  {
    name: 'variables: one added, one relabelled with a new default',
    change: (d) => {
      d.variables.push({ key: 'location_id', label: 'Location', secret: false, required: false })
      const status = d.variables.find((v) => v.key === 'order_status')!
      status.label = 'Status'
      status.default = 'open'
    },
    lines: ['added variable Location', 'changed variable Status (label, default value)'],
    expect: { variables: { added: ['location_id'], changed: [['order_status', ['label', 'default value']]] } },
  },
  {
    name: 'top-level settings',
    change: (d) => {
      d.baseUrl = 'https://{{shop_domain}}/admin/api/2025-01'
      d.rateLimit = { amount: 4, unit: 'second' }
    },
    lines: [
      'changed base URL from https://{{shop_domain}}/admin/api/2024-01 to https://{{shop_domain}}/admin/api/2025-01',
      'changed rate limit from 2 requests per second to 4 requests per second',
    ],
  },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const current = structuredClone(base)
    c.change(current)
    const diff = diffDefinitions(base, current)
    t.same(describeDiff(diff), c.lines)
    t.equal(isUnchanged(diff), c.lines.length === 0)
    for (const kind of ['variables', 'authMethods', 'endpoints'] as const) {
      const expected = c.expect?.[kind] ?? {}
      t.same(
        diff[kind].added.map((i) => i.key),
        expected.added ?? [],
        `${kind} added`,
      )
      t.same(
        diff[kind].removed.map((i) => i.key),
        expected.removed ?? [],
        `${kind} removed`,
      )
      t.same(
        diff[kind].changed.map((i) => [i.key, i.properties]),
        expected.changed ?? [],
        `${kind} changed`,
      )
    }
  })
}

t.test('the diff is directional: base → current', async (t) => {
  const current = structuredClone(base)
  current.endpoints.push(refunds)
  t.same(describeDiff(diffDefinitions(current, base)), ['removed endpoint Get refunds'])
})

t.test('a vendor release is described as a list of changes', async (t) => {
  const [v200, , v220] = shopify.versions
  const lines = describeDiff(diffDefinitions(v200!.definition, v220!.definition))
  t.ok(lines.includes('added endpoint Get fulfilments'), lines.join('\n'))
  t.ok(lines.includes('added endpoint Get locations'))
  t.ok(lines.some((l) => l.startsWith('changed base URL from https://{{shop_domain}}/admin/api/2024-01')))
})

t.test('a summary is one line: the first changes, then how many more', async (t) => {
  const current = structuredClone(base)
  for (const n of [1, 2, 3, 4, 5])
    current.endpoints.push({ ...refunds, key: `get_refunds_${n}`, name: `Get refunds ${n}` })
  t.equal(
    summariseDiff(diffDefinitions(base, current)),
    'added endpoint Get refunds 1; added endpoint Get refunds 2; added endpoint Get refunds 3; and 2 more changes',
  )
  t.equal(summariseDiff(diffDefinitions(base, base)), '')
  current.endpoints.pop()
  t.equal(
    summariseDiff(diffDefinitions(base, current)),
    'added endpoint Get refunds 1; added endpoint Get refunds 2; added endpoint Get refunds 3; and 1 more change',
    'one more: singular',
  )
})

t.test('key order inside items means nothing (jsonb stores keys in its own order)', async (t) => {
  const reordered = JSON.parse(
    JSON.stringify(base, (_key, value) =>
      value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).reverse())
        : value,
    ),
  ) as ConnectorDefinition
  t.same(describeDiff(diffDefinitions(base, reordered)), [])
})
