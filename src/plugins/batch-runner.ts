// Carries out bulk updates in the background (src/domain/update-batches.ts), a chunk at a time, so
// that a batch moves on whether or not anybody watches its page: the page only shows how far it has
// got (htmx asks for it again every second; without JavaScript, a refresh link). It starts when the
// app is ready, so a batch left running by a stopped process resumes, and when a batch starts here.
// While nothing runs it looks again every half minute, for batches a stopped sibling process left.
// Every process of a deployment runs one: applying a connector of a batch is safe from two at once
// (under the connector's lock, an item is done once).
import fp from 'fastify-plugin'
import { carryOnBatches } from '../domain/update-batches.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The background runner of bulk updates: `wake()` when a batch has started. */
    batchRunner: { wake(): void }
  }
}

/** Between two looks for work when there was none. */
const IDLE_MS = 30_000
/** After a failure (the database away, say), before trying again. */
const RETRY_MS = 5_000

export default fp<{ enabled: boolean; pauseMs: number }>(
  async (app, { enabled, pauseMs }) => {
    let timer: NodeJS.Timeout | undefined
    let running: Promise<void> | undefined
    let woken = false
    let stopped = !enabled

    const schedule = (ms: number) => {
      if (stopped) return
      clearTimeout(timer)
      timer = setTimeout(tick, ms)
      timer.unref()
    }

    function tick() {
      timer = undefined
      if (running) {
        woken = true
        return
      }
      woken = false
      running = carryOnBatches(app.db)
        .then(
          (handled) => schedule(handled > 0 || woken ? pauseMs : IDLE_MS),
          (error: unknown) => {
            app.log.error({ err: error }, 'the bulk update runner failed; it tries again in 5 s')
            schedule(RETRY_MS)
          },
        )
        .finally(() => {
          running = undefined
        })
    }

    app.decorate('batchRunner', { wake: () => schedule(0) })
    app.addHook('onReady', async () => schedule(0))
    // Before the database closes: no new chunk, and the one under way finishes (each connector is
    // its own transaction, so stopping between two never leaves one half done).
    app.addHook('preClose', async () => {
      stopped = true
      clearTimeout(timer)
      await running
    })
  },
  { name: 'batch-runner', dependencies: ['database'] },
)
