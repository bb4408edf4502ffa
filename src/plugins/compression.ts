// Pages, fragments and error pages compressed as the browser allows (Accept-Encoding): brotli, else
// gzip. In one step from the rendered string: measured on the manage connectors page at full scale
// (59 KB; `npm run bench`, docs/benchmark.md), @fastify/compress's streams cost 1.8 ms of CPU per
// request where brotliCompressSync costs 0.25 ms for the same bytes. Levels by measurement on that
// page: brotli 4 gives 5.9 KB in 0.24 ms (3: 6.5 KB, 0.25 ms; 5: 5.4 KB, 0.36 ms), gzip 6 6.3 KB in
// 0.25 ms. Static files come precompressed (assets.ts) and say so with their own Content-Encoding;
// so do the pages the page cache keeps, compressed once (deflatePage, gzipKept: used by views.ts).
import fp from 'fastify-plugin'
import type { Hole, KeptPart } from './page-cache.js'
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

/**
 * A kept page compressed once, for browsers that accept gzip (see gzipKept): each text of its parts,
 * in order, as raw deflate ended by a sync flush.
 */
export interface DeflatedPage {
  readonly blocks: Buffer[]
  /** The byte length of each hole's value the texts were compressed around. */
  readonly holeLengths: Record<Hole, number>
  readonly bytes: number
}

/** Deflate refers back at most this far. */
const WINDOW = 32 * 1024
/** Stands for a hole's value while the texts after it are compressed: never in UTF-8 text, so never referred back to. */
const PLACEHOLDER = 0xff

/**
 * Compresses the texts of a kept page once. Each text may refer back to the texts before it (its
 * dictionary is what precedes it, as the browser will have it), but never into a hole: there the
 * dictionary holds 0xFF bytes, which no UTF-8 text contains, so no match can reach them. Hence a
 * hole's value of the same length can be any bytes, and it shares no compression context with the
 * page (its CSRF token cannot be guessed from the compressed size: no BREACH).
 */
export function deflatePage(parts: KeptPart[], valueOf: (hole: Hole) => Buffer): DeflatedPage {
  const holeLengths = { csrf: valueOf('csrf').length, key: valueOf('key').length }
  const blocks: Buffer[] = []
  let window = Buffer.alloc(0)
  for (const part of parts)
    part.texts.forEach((text, i) => {
      const dictionary = window.length ? { dictionary: window } : {}
      blocks.push(deflateRawSync(text, { level: 9, finishFlush: zlib.Z_SYNC_FLUSH, ...dictionary }))
      const hole = part.holes[i]
      window = Buffer.concat([window, text, ...(hole ? [Buffer.alloc(holeLengths[hole], PLACEHOLDER)] : [])])
      if (window.length > WINDOW) window = window.subarray(window.length - WINDOW)
    })
  return { blocks, holeLengths, bytes: blocks.reduce((sum, block) => sum + block.length, 0) }
}

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
/** An empty stored block marked last: ends the deflate stream. */
const LAST_BLOCK = Buffer.from([1, 0, 0, 0xff, 0xff])

/**
 * A gzip member of a kept page compressed once (deflatePage), with this request's values in its
 * holes as stored blocks: only those few bytes and the CRC are computed now. Null when a value's
 * length is not the one the page was compressed around (the page is then compressed as any other).
 */
export function gzipKept(parts: KeptPart[], page: DeflatedPage, valueOf: (hole: Hole) => Buffer): Buffer | null {
  const out: Buffer[] = [GZIP_HEADER]
  let crc = 0
  let size = 0
  let block = 0
  for (const part of parts)
    for (let i = 0; i < part.texts.length; i++) {
      const text = part.texts[i]!
      // Not on no bytes: zlib's crc32 answers 0 for an empty buffer without memory (Buffer.allocUnsafeSlow(0)).
      if (text.length) crc = crc32(text, crc)
      size += text.length
      out.push(page.blocks[block++]!)
      const hole = part.holes[i]
      if (!hole) continue
      const value = valueOf(hole)
      if (value.length !== page.holeLengths[hole]) return null
      if (value.length) crc = crc32(value, crc)
      size += value.length
      // A stored block (the stream is at a byte boundary after a sync flush): type 00, length, its complement.
      const header = Buffer.alloc(5)
      header.writeUInt16LE(value.length, 1)
      header.writeUInt16LE(~value.length & 0xffff, 3)
      out.push(header, value)
    }
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc, 0)
  trailer.writeUInt32LE(size % 2 ** 32, 4)
  out.push(LAST_BLOCK, trailer)
  return Buffer.concat(out)
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
