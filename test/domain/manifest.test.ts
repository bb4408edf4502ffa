import t from 'tap'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ManifestError, parseManifest, readCatalogue, readManifest } from '../../src/marketplace/manifest.js'
import { checkDefinition } from '../../src/domain/definition.js'
import { SYSTEM_TYPES } from '../../src/domain/enums.js'
import { publishManifest } from '../../src/marketplace/publishing.js'
import { testDatabase } from '../helpers.js'

const catalogue = await readCatalogue()
const shopify = catalogue.find((c) => c.manifest.key === 'shopify')!.manifest

t.test('the vendor catalogue has at least 25 valid connectors covering every system type', async (t) => {
  t.ok(catalogue.length >= 25, `${catalogue.length} manifests`)
  t.same(new Set(catalogue.map((c) => c.manifest.systemType)), new Set(SYSTEM_TYPES))
  t.ok(catalogue.filter((c) => c.manifest.versions.length > 1).length >= 4, 'several have more than one version')
})

t.test('a manifest with a bad definition is refused with the file, the path in it and the reason', async (t) => {
  const broken = structuredClone(shopify)
  broken.versions[0]!.definition.endpoints[0]!.url = '/orders?since={{no_such_variable}}'
  const error = (() => {
    try {
      parseManifest('shopify.json', broken)
    } catch (e) {
      return e
    }
  })()
  t.ok(error instanceof ManifestError)
  t.match(error, {
    file: 'shopify.json',
    at: '/versions/0/definition/endpoints/0/url',
    reason: /\{\{no_such_variable\}\} is not a variable/,
  })
  const noEndpoints = structuredClone(shopify)
  noEndpoints.versions[0]!.definition.endpoints = []
  t.throws(
    () => parseManifest('shopify.json', noEndpoints),
    /shopify\.json: \/versions\/0\/definition\/endpoints: must not have fewer than 1 items/,
  )
  const dir = await mkdtemp(path.join(tmpdir(), 'manifest-'))
  const file = path.join(dir, 'broken.json')
  await writeFile(file, '{ not json')
  await t.rejects(
    readManifest(file),
    new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: /: cannot be read as JSON`),
  )
})

t.test('a version is written exactly: no white space around it, canonical semver', async (t) => {
  const refusal = (version: string) => {
    const manifest = structuredClone(shopify)
    manifest.versions[0]!.version = version
    try {
      parseManifest('x.json', manifest)
    } catch (error) {
      return error
    }
  }
  t.match(refusal(' 2.0.0 '), {
    at: '/versions/0/version',
    reason: '" 2.0.0 " has white space around it; write "2.0.0"',
  })
  t.match(refusal('2.0.0\t'), { at: '/versions/0/version', reason: 'has white space around it' })
  t.match(refusal('v2.0.0'), { at: '/versions/0/version', reason: '"v2.0.0" must be written as "2.0.0"' })
  t.equal(refusal('2.0.0'), undefined)
})

t.test('versions must be semantic and listed oldest first', async (t) => {
  const unordered = structuredClone(shopify)
  unordered.versions.reverse()
  t.throws(() => parseManifest('x.json', unordered), /is not newer than/)
  const free = structuredClone(shopify)
  free.versions[0]!.version = 'Version 1'
  t.throws(() => parseManifest('x.json', free), /is not a semantic version/)
})

t.test('the definition check names duplicate keys', async (t) => {
  const definition = structuredClone(shopify.versions[0]!.definition)
  definition.endpoints.push({ ...definition.endpoints[0]! })
  t.match(checkDefinition(definition), [
    { path: `/endpoints/${definition.endpoints.length - 1}/key`, message: /is used twice/ },
  ])
  t.match(checkDefinition({ ...definition, extra: 1 }), [{ path: '/', message: /unknown field\(s\): extra/ }])
})

t.test('publishing adds only new versions and refuses one that is not newer', async (t) => {
  const { db } = await testDatabase(t)
  const first = { ...shopify, versions: shopify.versions.slice(0, 1) }
  t.same(await publishManifest(db, 'shopify.json', first), [shopify.versions[0]!.version])
  t.same(
    await publishManifest(db, 'shopify.json', shopify),
    shopify.versions.slice(1).map((v) => v.version),
    'only the new ones',
  )
  t.same(await publishManifest(db, 'shopify.json', shopify), [], 'publishing again changes nothing')
  const older = { ...shopify, versions: [{ ...shopify.versions[0]!, version: '0.9.0' }] }
  await t.rejects(
    publishManifest(db, 'old.json', older),
    /old\.json: \/versions\/0\/version: 0\.9\.0 is not newer than/,
  )
})
