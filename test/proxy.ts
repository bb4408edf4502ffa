// A TCP proxy in front of the PostgreSQL server, so a test can make the database "go away" (and
// come back, or answer slowly) without stopping the server other test files are using.
import net from 'node:net'

export class DatabaseProxy {
  private server: net.Server | null = null
  private sockets = new Set<net.Socket>()
  /** Milliseconds to hold each chunk from the database before passing it on. */
  delay = 0
  /** Swallows every byte both ways, as a frozen server or a broken network would: nothing refused, nothing answered. */
  silent = false
  port = 0

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host)
      this.sockets.add(client).add(upstream)
      client.on('data', (chunk) => this.silent || upstream.write(chunk))
      upstream.on('data', (chunk) => {
        if (this.silent) return
        if (this.delay) setTimeout(() => client.writable && client.write(chunk), this.delay)
        else client.write(chunk)
      })
      const close = () => {
        client.destroy()
        upstream.destroy()
        this.sockets.delete(client)
        this.sockets.delete(upstream)
      }
      client.on('close', close).on('error', close)
      upstream.on('close', close).on('error', close)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  /** Drops every connection and refuses new ones, as a stopped server would. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server = null
  }

  url(databaseUrl: string): string {
    const url = new URL(databaseUrl)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    return url.toString()
  }
}
