// Reading the app's own HTML in route tests: its forms and fields, as a browser would submit them.
// The templates quote every attribute and Eta escapes every value, so tags never hold a raw ">".

export interface HtmlField {
  tag: 'input' | 'textarea' | 'select' | 'button'
  name: string
  id: string
  type: string
  value: string
  attrs: Record<string, string>
}

export interface HtmlForm {
  method: string
  action: string
  attrs: Record<string, string>
  fields: HtmlField[]
}

const ENTITIES: Record<string, string> = { amp: '&', quot: '"', lt: '<', gt: '>', '#39': "'" }
export const decode = (text: string) => text.replace(/&(amp|quot|lt|gt|#39);/g, (_, name: string) => ENTITIES[name]!)

export function attributesOf(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  for (const match of tag.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[match[1]!.toLowerCase()] = decode(match[2] ?? match[3] ?? match[4] ?? '')
  }
  return attrs
}

/** Every form of a page, with its fields in document order per kind of element. */
export function formsOf(html: string): HtmlForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, tag, body]) => {
    const attrs = attributesOf(tag!)
    const fields: HtmlField[] = []
    const field = (tagName: HtmlField['tag'], a: Record<string, string>, value: string, type: string) =>
      fields.push({ tag: tagName, name: a.name ?? '', id: a.id ?? '', type, value, attrs: a })
    for (const [, t] of body!.matchAll(/<input\b([^>]*)>/g)) {
      const a = attributesOf(t!)
      field('input', a, a.value ?? '', (a.type ?? 'text').toLowerCase())
    }
    for (const [, t, content] of body!.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g))
      field('textarea', attributesOf(t!), decode(content!), 'textarea')
    for (const [, t, content] of body!.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
      const options = [...content!.matchAll(/<option\b([^>]*)>/g)].map(([, o]) => attributesOf(o!))
      const chosen = options.find((o) => 'selected' in o) ?? options[0]
      field('select', attributesOf(t!), chosen?.value ?? '', 'select')
    }
    for (const [, t] of body!.matchAll(/<button\b([^>]*)>/g)) {
      const a = attributesOf(t!)
      field('button', a, a.value ?? '', (a.type ?? 'submit').toLowerCase())
    }
    return { method: (attrs.method ?? 'get').toLowerCase(), action: attrs.action ?? '', attrs, fields }
  })
}

/** Fields a person types into: where maxlength belongs. */
export function isTextField(field: HtmlField): boolean {
  return (
    field.tag === 'textarea' ||
    (field.tag === 'input' && ['text', 'search', 'email', 'password', 'url', 'tel'].includes(field.type))
  )
}

/** What a browser sends for the form submitted with its first submit button, with some values replaced. */
export function submission(form: HtmlForm, replace: Record<string, string> = {}): Record<string, string[]> {
  const body: Record<string, string[]> = {}
  const add = (name: string, value: string) => {
    ;(body[name] ??= []).push(value)
  }
  const submitter = form.fields.find((f) => f.tag === 'button' && f.type === 'submit')
  for (const f of form.fields) {
    if (!f.name || 'disabled' in f.attrs) continue
    if (f.tag === 'button') {
      if (f === submitter) add(f.name, f.value)
    } else if (f.type === 'checkbox' || f.type === 'radio') {
      if ('checked' in f.attrs) add(f.name, f.value || 'on')
    } else if (f.type !== 'submit') {
      add(f.name, f.id && f.id in replace ? replace[f.id]! : f.value)
    }
  }
  return body
}

/** The element with this id (its opening tag's attributes), or undefined. */
export function elementById(
  html: string,
  id: string,
): { tag: string; attrs: Record<string, string>; text: string } | undefined {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const match = new RegExp(`<([a-z0-9]+)\\b([^>]*\\sid="${escaped}"[^>]*)>`).exec(html)
  if (!match) return undefined
  const tag = match[1]!
  const rest = html.slice(match.index + match[0].length)
  const end = rest.indexOf(`</${tag}>`)
  return {
    tag,
    attrs: attributesOf(match[2]!),
    text: decode(end === -1 ? '' : rest.slice(0, end).replace(/<[^>]+>/g, ' '))
      .replace(/\s+/g, ' ')
      .trim(),
  }
}
