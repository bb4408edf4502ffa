// Pages, fragments and error pages compressed as the browser allows (Accept-Encoding): brotli, else
// gzip. In one step from the rendered string: measured on the manage connectors page at full scale
// (59 KB; `npm run bench`, docs/benchmark.md), @fastify/compress's streams cost 1.8 ms of CPU per
// request where brotliCompressSync costs 0.25 ms for the same bytes. Levels by measurement on that
// page: brotli 4 gives 5.9 KB in 0.24 ms (3: 6.5 KB, 0.25 ms; 5: 5.4 KB, 0.36 ms), gzip 6 6.3 KB in
// 0.25 ms. Static files come precompressed (assets.ts) and say so with their own Content-Encoding;
// so do pages around a list the page cache keeps gzipped (gzipAround, used by views.ts).
import fp from 'fastify-plugin'
import { brotliCompressSync, crc32, deflateRawSync, gzipSync, constants as zlib } from 'node:zlib'

export const BROTLI_QUALITY = 4
export const GZIP_LEVEL = 6
/** Below about a kilobyte the saving is smaller than the headers and the time. */
export const COMPRESS_FROM_BYTES = 1024
const COMPRESSIBLE = /^(text\/|application\/(json|javascript)|image\/svg\+xml)/

/** The content codings the browser's Accept-Encoding allows (a q=0 refuses one). */
function acceptedEncodings(acceptEncoding: string | undefined): Set<string> {
  if (!acceptEncoding) return new Set()
  return new Set(
    acceptEncoding
      .split(',')
      .map((part) => part.trim().toLowerCase().split(';'))
      .filter(([, quality]) => !quality || !/^\s*q=0(\.0*)?\s*$/.test(quality))
      .map(([coding]) => coding!),
  )
}

/** Brotli, else gzip, else none, as the browser's Accept-Encoding allows. */
export function preferredEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | null {
  const accepted = acceptedEncodings(acceptEncoding)
  if (accepted.has('br')) return 'br'
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip'
  return null
}

export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  const accepted = acceptedEncodings(acceptEncoding)
  return accepted.has('gzip') || accepted.has('*')
}

/** A part of a page compressed once, to be sent again inside other pages (see gzipAround). */
export interface DeflatedPart {
  bytes: Buffer
  /** Raw deflate of `bytes` alone, ended by a sync flush: no reference outside it, not the last block. */
  deflated: Buffer
}

export function deflatedPart(bytes: Buffer): DeflatedPart {
  return { bytes, deflated: deflateRawSync(bytes, { level: 9, finishFlush: zlib.Z_SYNC_FLUSH }) }
}

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])

/**
 * A gzip member made of `head`, a part compressed before and `tail`: deflate blocks that refer to
 * nothing before them can follow one another, so only what is around the kept part is compressed
 * now (e.g. a page's layout with this request's CSRF token, around a list kept by the page cache).
 * The kept part was compressed apart from anything of this request, so no secret of it shares a
 * compression context with the list (what BREACH would need).
 */
export function gzipAround(headBytes: Buffer, middle: DeflatedPart, tailBytes: Buffer): Buffer {
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc32(tailBytes, crc32(middle.bytes, crc32(headBytes))), 0)
  trailer.writeUInt32LE((headBytes.length + middle.bytes.length + tailBytes.length) % 2 ** 32, 4)
  return Buffer.concat([
    GZIP_HEADER,
    deflateRawSync(headBytes, { level: GZIP_LEVEL, finishFlush: zlib.Z_SYNC_FLUSH }),
    middle.deflated,
    deflateRawSync(tailBytes, { level: GZIP_LEVEL }),
    trailer,
  ])
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
            params: {
              [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
              [zlib.BROTLI_PARAM_SIZE_HINT]: size,
              // A window no larger than the page: the same bytes out, and the default 4 MB window's
              // setup was a third of the time (60 KB page: 0.51 ms at 22 bits, 0.33 ms at 16).
              [zlib.BROTLI_PARAM_LGWIN]: Math.min(
                zlib.BROTLI_MAX_WINDOW_BITS,
                Math.max(zlib.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(size))),
              ),
            },
          })
        : gzipSync(payload, { level: GZIP_LEVEL })
    })
  },
  { name: 'compression' },
)
