// Pages, fragments and error pages compressed as the browser allows (Accept-Encoding): brotli, else
// gzip. In one step from the rendered string: measured on the manage connectors page at full scale
// (59 KB; `npm run bench`, docs/benchmark.md), @fastify/compress's streams cost 1.8 ms of CPU per
// request where brotliCompressSync costs 0.25 ms for the same bytes. Levels by measurement on that
// page: brotli 4 gives 5.9 KB in 0.24 ms (3: 6.5 KB, 0.25 ms; 5: 5.4 KB, 0.36 ms), gzip 6 6.3 KB in
// 0.25 ms. Static files come precompressed (assets.ts) and say so with their own Content-Encoding.
import fp from 'fastify-plugin'
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib'

export const BROTLI_QUALITY = 4
export const GZIP_LEVEL = 6
/** Below about a kilobyte the saving is smaller than the headers and the time. */
export const COMPRESS_FROM_BYTES = 1024
const COMPRESSIBLE = /^(text\/|application\/(json|javascript)|image\/svg\+xml)/

/** Brotli, else gzip, else none, as the browser's Accept-Encoding allows (a q=0 refuses one). */
export function preferredEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | null {
  if (!acceptEncoding) return null
  const accepted = new Set(
    acceptEncoding
      .split(',')
      .map((part) => part.trim().toLowerCase().split(';'))
      .filter(([, quality]) => !quality || !/^\s*q=0(\.0*)?\s*$/.test(quality))
      .map(([coding]) => coding),
  )
  if (accepted.has('br')) return 'br'
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip'
  return null
}

export default fp(
  async (app) => {
    app.addHook('onSend', async (request, reply, payload) => {
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload
      if (reply.getHeader('content-encoding') || !COMPRESSIBLE.test(String(reply.getHeader('content-type') ?? ''))) {
        return payload
      }
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
      if (size < COMPRESS_FROM_BYTES) return payload
      const vary = reply.getHeader('vary')
      reply.header('Vary', vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding')
      const encoding = preferredEncoding(request.headers['accept-encoding'])
      if (!encoding) return payload
      reply.header('Content-Encoding', encoding).removeHeader('content-length')
      return encoding === 'br'
        ? brotliCompressSync(payload, {
            params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: size },
          })
        : gzipSync(payload, { level: GZIP_LEVEL })
    })
  },
  { name: 'compression' },
)
