// Secret values (instance credentials) encrypted at rest with AES-256-GCM. The key comes from
// configuration; the stored text names its scheme so keys or algorithms can change later.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export class SecretBox {
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the encryption key must be 32 bytes')
    this.#key = key
  }

  seal(values: Record<string, string>): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const body = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()])
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':')
  }

  open(sealed: string | null): Record<string, string> {
    if (!sealed) return {}
    const [scheme, iv, tag, body] = sealed.split(':')
    if (scheme !== 'v1' || !iv || !tag || !body) throw new Error('unknown secret format')
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'))
    decipher.setAuthTag(Buffer.from(tag, 'base64'))
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8')
    return JSON.parse(text) as Record<string, string>
  }

  /** Never let a SecretBox print its key. */
  toJSON() {
    return '[SecretBox]'
  }
}
