// Static files: our CSS/JS/icons from public/ and htmx straight from its package (no front-end bundler).
// Each is compressed ahead (brotli and gzip at their highest levels, too slow per request) by
// `npm run build` into dist/static/, which the built server reads as it is; run from the sources
// (`npm start`, tests), the files are compressed once when the process starts. Each is served at an
// address holding a hash of its content, cached by browsers for a year: a changed file gets a new
// address, so nobody sees a stale one.
import fp from 'fastify-plugin'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { preferredEncoding } from './compression.js'

const PUBLIC_DIR = path.join(import.meta.dirname, '..', '..', 'public')
const HTMX_FILE = path.join(
  path.dirname(createRequire(import.meta.url).resolve('htmx.org/package.json')),
  'dist',
  'htmx.min.js',
)

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
}

/** Smaller than this, compression saves less than its headers cost. */
const COMPRESS_FROM_BYTES = 256

export interface Asset {
  /** The address with the content hash, e.g. /static/app.3f2a9c1e0b.css */
  url: string
  type: string
  etag: string
  body: Buffer
  br: Buffer | null
  gzip: Buffer | null
}

function assetOf(name: string, file: string): Asset {
  const body = readFileSync(file)
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 10)
  const extension = path.extname(name)
  const compress = body.length >= COMPRESS_FROM_BYTES && extension !== '.txt'
  return {
    url: `/static/${name.slice(0, -extension.length)}.${hash}${extension}`,
    type: TYPES[extension] ?? 'application/octet-stream',
    etag: `"${hash}"`,
    body,
    br: compress
      ? brotliCompressSync(body, {
          params: { [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length },
        })
      : null,
    gzip: compress ? gzipSync(body, { level: zlib.Z_BEST_COMPRESSION }) : null,
  }
}

/** The static files as `npm run build` wrote them, beside the compiled code (dist/static/). */
const BUILT_DIR = path.join(import.meta.dirname, '..', 'static')
const BUILT_INDEX = 'assets.json'

/** What the build's index says of each file; the bytes are files beside it (`name`, `name.br`, `name.gz`). */
type BuiltAsset = Omit<Asset, 'body' | 'br' | 'gzip'> & { name: string; compressed: boolean }

/** Every static file, read and compressed from public/ and the htmx package. */
function compressAssets(): Map<string, Asset> {
  return new Map([
    ...readdirSync(PUBLIC_DIR)
      .filter((name) => TYPES[path.extname(name)])
      .map((name): [string, Asset] => [name, assetOf(name, path.join(PUBLIC_DIR, name))]),
    ['htmx.min.js', assetOf('htmx.min.js', HTMX_FILE)],
  ])
}

/** Writes every static file, compressed ahead, into `dir` (the build's dist/static/). */
export function writeAssets(dir: string): void {
  mkdirSync(dir, { recursive: true })
  const index: BuiltAsset[] = []
  for (const [name, asset] of compressAssets()) {
    writeFileSync(path.join(dir, name), asset.body)
    if (asset.br && asset.gzip) {
      writeFileSync(path.join(dir, `${name}.br`), asset.br)
      writeFileSync(path.join(dir, `${name}.gz`), asset.gzip)
    }
    index.push({ name, url: asset.url, type: asset.type, etag: asset.etag, compressed: asset.br !== null })
  }
  writeFileSync(path.join(dir, BUILT_INDEX), JSON.stringify(index, null, 2))
}

/** The files a build compressed ahead, or null when running from the sources. */
function builtAssets(dir: string): Map<string, Asset> | null {
  if (!existsSync(path.join(dir, BUILT_INDEX))) return null
  const index = JSON.parse(readFileSync(path.join(dir, BUILT_INDEX), 'utf8')) as BuiltAsset[]
  return new Map(
    index.map(({ name, compressed, ...asset }): [string, Asset] => [
      name,
      {
        ...asset,
        body: readFileSync(path.join(dir, name)),
        br: compressed ? readFileSync(path.join(dir, `${name}.br`)) : null,
        gzip: compressed ? readFileSync(path.join(dir, `${name}.gz`)) : null,
      },
    ]),
  )
}

/** Every static file by its plain name (`app.css`, `htmx.min.js`); read once per process, the same in every process. */
const ASSETS: ReadonlyMap<string, Asset> = builtAssets(BUILT_DIR) ?? compressAssets()

/** The address a page links to for a static file, e.g. `asset('app.css')`; an unknown name is a bug. */
export function assetUrl(name: string): string {
  const asset = ASSETS.get(name)
  if (!asset) throw new Error(`No static file named ${name} in public/`)
  return asset.url
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  reply.header('Content-Type', asset.type).header('Cache-Control', cacheControl).header('ETag', asset.etag)
  if (asset.br) reply.header('Vary', 'Accept-Encoding')
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
  const encoding = asset.br ? preferredEncoding(request.headers['accept-encoding']) : null
  if (encoding) reply.header('Content-Encoding', encoding)
  return reply.send(encoding === 'br' ? asset.br : encoding === 'gzip' ? asset.gzip : asset.body)
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
/** A plain address (an old page, a bookmark, robots.txt) is checked with the server each time. */
const REVALIDATE = 'public, max-age=0, must-revalidate'

export default fp(
  async (app) => {
    const byUrl = new Map<string, Asset>()
    for (const asset of ASSETS.values()) byUrl.set(asset.url, asset)
    const plain = new Map<string, Asset>(
      [...ASSETS].map(([name, asset]) => [name === 'htmx.min.js' ? 'htmx/htmx.min.js' : name, asset]),
    )
    app.get<{ Params: { '*': string } }>('/static/*', { config: { public: true } }, async (request, reply) => {
      const hashed = byUrl.get(request.url.split('?')[0]!)
      if (hashed) return send(request, reply, hashed, IMMUTABLE)
      const asset = plain.get(request.params['*'])
      if (!asset) return reply.callNotFound()
      return send(request, reply, asset, REVALIDATE)
    })
    // A private administration app: search engines are asked to stay out (public, like the login page).
    app.get('/robots.txt', { config: { public: true } }, async (request, reply) =>
      send(request, reply, ASSETS.get('robots.txt')!, REVALIDATE),
    )
  },
  { name: 'assets' },
)
