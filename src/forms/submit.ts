// The one way a route runs a form's command: done → its answer (a flash and a 303, usually); refused
// → the same form again with 422, the values as submitted and each message beside its field; lost
// a race (somebody saved meanwhile) → the form again with 409, when the route says how to tell it.
// Any other error is not caught here: the error handler answers it.
import type { FastifyReply } from 'fastify'
import { Conflict, EditConflict, Invalid } from '../domain/errors.js'
import { conflictMessage } from './conflicts.js'

/** A message per form field, by the field's HTML name ('' for the form as a whole). */
export type FieldMessages = Record<string, string>

/** Why the form comes back: its messages and the answer's status (already set on the reply). */
export interface Refusal {
  status: 409 | 422
  errors: FieldMessages
  /** True for a 409: the page shows what is saved now beside what was entered. */
  conflict: boolean
}

export interface Form<Result> {
  /** After the command succeeded. */
  done(result: Result): FastifyReply | Promise<FastifyReply>
  /** The form again, with the values as submitted and `refusal.errors` beside their fields. */
  again(refusal: Refusal): FastifyReply | Promise<FastifyReply>
  /**
   * The message for the whole form when the command refused because somebody changed the thing
   * meanwhile (a 409); null or no `conflict` leaves that Conflict to the error handler.
   */
  conflict?(error: Conflict): string | null
  /** The command's error paths → this form's field names, where they differ. */
  fields?(errors: FieldMessages): FieldMessages
}

/** Runs a form's command; see the top of this file. */
export async function submitForm<Result>(
  reply: FastifyReply,
  command: () => Promise<Result>,
  form: Form<Result>,
): Promise<FastifyReply> {
  let result: Result
  try {
    result = await command()
  } catch (error) {
    const refusal = refusalOf(error, form)
    if (!refusal) throw error
    reply.code(refusal.status)
    return form.again(refusal)
  }
  return form.done(result)
}

function refusalOf(error: unknown, form: Pick<Form<unknown>, 'conflict' | 'fields'>): Refusal | null {
  if (error instanceof Invalid)
    return { status: 422, errors: form.fields ? form.fields(error.fields) : error.fields, conflict: false }
  const message = error instanceof Conflict && form.conflict ? form.conflict(error) : null
  return message === null ? null : { status: 409, errors: { '': message }, conflict: true }
}

/**
 * `conflict` for forms with a version lock (EditConflict): who saved meanwhile, what was not done,
 * and how the page shows what is saved now (`kept`).
 */
export function editConflict(notDone: string, kept: string) {
  return (error: Conflict) => (error instanceof EditConflict ? conflictMessage(error, notDone, kept) : null)
}
