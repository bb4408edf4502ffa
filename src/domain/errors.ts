// Typed domain errors: one error handler turns each into the right status and page.

/** The thing does not exist, or belongs to another company: both answer the same. */
export class NotFound extends Error {
  override name = 'NotFound'
  readonly status = 404
  constructor(what = 'That page') {
    super(`${what} was not found.`)
  }
}

export class Forbidden extends Error {
  override name = 'Forbidden'
  readonly status = 403
  constructor(message = 'Your role does not allow this. Ask an administrator of your company.') {
    super(message)
  }
}

/** The request lost a race or contradicts the current state: say what happened, change nothing. */
export class Conflict extends Error {
  override name = 'Conflict'
  readonly status = 409
}

/** Input that cannot be accepted: a message per form field (key '' for the form as a whole). */
export class Invalid extends Error {
  override name = 'Invalid'
  readonly status = 422
  constructor(readonly fields: Record<string, string>) {
    super(Object.values(fields)[0] ?? 'Please correct the highlighted fields.')
  }
}

export type DomainError = NotFound | Forbidden | Conflict | Invalid

export function isDomainError(error: unknown): error is DomainError {
  return (
    error instanceof NotFound || error instanceof Forbidden || error instanceof Conflict || error instanceof Invalid
  )
}

/** Somebody saved the connector since the form was shown: the optimistic lock on its revision. */
export class RevisionConflict extends Conflict {
  override name = 'RevisionConflict'
  constructor(
    readonly authorName: string,
    readonly revision: number,
  ) {
    super(
      `${authorName} saved a change to this connector meanwhile (revision ${revision}). Your change was not saved; reload to see theirs.`,
    )
  }
}

/**
 * Somebody saved the instance, process flow, draft or user since the form was shown: the optimistic
 * lock on its version (connectors have theirs on the revision, above).
 */
export class EditConflict extends Conflict {
  override name = 'EditConflict'
  constructor(
    readonly what: string,
    readonly authorName: string | null,
  ) {
    super(
      `${authorName ?? 'Somebody'} saved a change to this ${what} meanwhile. Your change was not saved; reload to see theirs.`,
    )
  }
}
