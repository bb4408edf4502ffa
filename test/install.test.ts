// A fresh `npm install` is quiet and honest: every package supports every Node.js version that
// package.json's `engines` admits (no EBADENGINE warning), and every install script is reviewed.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import semver from 'semver'

const root = path.join(import.meta.dirname, '..')
const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string }
  allowScripts?: Record<string, boolean>
}
const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; hasInstallScript?: boolean }>
}
const installed = Object.entries(lock.packages).filter(([where]) => where !== '')
const nameOf = (where: string) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length)

t.test('every package supports every Node.js version the project says it runs on', async (t) => {
  const ours = manifest.engines.node
  t.ok(
    semver.satisfies(process.version, ours),
    `this Node.js (${process.version}) is one package.json admits (${ours})`,
  )
  const unsupported = installed.flatMap(([where, p]) => {
    const theirs = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined
    return theirs && !semver.subset(ours, theirs) ? [`${nameOf(where)}@${p.version} wants Node.js ${theirs}`] : []
  })
  t.same(unsupported, [], `engines ${ours} is within what every package wants`)
})

t.test('every install script is approved or denied in package.json (allowScripts)', async (t) => {
  const reviewed = manifest.allowScripts ?? {}
  const unreviewed = installed.filter(
    ([where, p]) =>
      p.hasInstallScript && !(nameOf(where) in reviewed) && !(`${nameOf(where)}@${p.version}` in reviewed),
  )
  t.same(
    unreviewed.map(([where, p]) => `${nameOf(where)}@${p.version}`),
    [],
  )
})
