// Pages and fragments compressed as the browser allows (Accept-Encoding): brotli, else gzip.
// Levels chosen by measurement on the manage connectors page at full scale (150 KB of HTML; 2 cores):
// brotli 4 gives 10.6 KB in ~0.8 ms, against 11.3 KB in ~0.5 ms at 3 and 9.8 KB in ~1.0 ms at 5;
// gzip 6 gives 11.8 KB in ~0.6 ms (9: 11.4 KB in 1.4 ms). Static files come precompressed (assets.ts).
import fp from 'fastify-plugin'
import compress from '@fastify/compress'
import { constants as zlib } from 'node:zlib'

export const BROTLI_QUALITY = 4
export const GZIP_LEVEL = 6

export default fp(
  async (app) => {
    await app.register(compress, {
      global: true,
      encodings: ['br', 'gzip'],
      // Below about a kilobyte the saving is smaller than the cost.
      threshold: 1024,
      brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } },
      zlibOptions: { level: GZIP_LEVEL },
    })
  },
  { name: 'compression' },
)
