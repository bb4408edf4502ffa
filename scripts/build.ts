// `npm run build`: compiles src/ to dist/ for `npm run start:prod` (plain `node`, no TypeScript
// loader). The built code finds views/, public/ and drizzle/ one folder up, as src/ does, so the
// output folder must sit in the project's root; the marketplace catalogue is copied beside it, and
// the static files are written to dist/static/ compressed ahead (src/plugins/assets.ts).
import { execFileSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { writeAssets } from '../src/plugins/assets.js'

export const ROOT = path.join(import.meta.dirname, '..')

/** Builds into `outDir` (a folder directly in the project's root), replacing what was there. */
export async function build(outDir = path.join(ROOT, 'dist')): Promise<void> {
  if (path.dirname(path.resolve(outDir)) !== ROOT)
    throw new Error(`the build must go to a folder directly in ${ROOT}, not ${outDir}`)
  rmSync(outDir, { recursive: true, force: true })
  // TypeScript 7's tsc is a native program; its node launcher is skipped, so that no loader of a
  // test runner (added to every node process a test starts) gets in its way.
  const typescript = path.dirname(createRequire(import.meta.url).resolve('typescript-7/package.json'))
  const { default: getExePath } = (await import(pathToFileURL(path.join(typescript, 'lib', 'getExePath.js')).href)) as {
    default: () => string
  }
  execFileSync(getExePath(), ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: ROOT,
    stdio: 'inherit',
  })
  cpSync(path.join(ROOT, 'src', 'marketplace', 'catalogue'), path.join(outDir, 'marketplace', 'catalogue'), {
    recursive: true,
  })
  // The static files, compressed ahead at the highest levels: the built server reads them as they are.
  writeAssets(path.join(outDir, 'static'))
}

if (import.meta.url === `file://${process.argv[1]}`)
  await build(process.argv[2] ? path.resolve(process.argv[2]) : undefined)
