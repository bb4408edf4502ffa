// Prettier cannot format Eta templates, so this holds them to the same 120-character line limit.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const LIMIT = 120
const root = new URL('../views/', import.meta.url).pathname
const long: string[] = []
for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.eta')) continue
  readFileSync(join(root, file), 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (line.length > LIMIT) long.push(`views/${file}:${index + 1}: ${line.length} characters`)
    })
}
if (long.length > 0) {
  process.stderr.write(`Template lines over ${LIMIT} characters:\n${long.join('\n')}\n`)
  process.exit(1)
}
