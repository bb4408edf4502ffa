// What a form refused by an optimistic lock says: who saved meanwhile, that nothing of the user's was
// saved, and where to look (the connector settings say the same of a revision).
import type { EditConflict } from '../domain/errors.js'

/** `kept`: how the page shows what is saved now beside what the user entered. */
export function conflictMessage(conflict: EditConflict, notDone: string, kept: string): string {
  return `${conflict.authorName ?? 'Somebody'} saved a change to this ${conflict.what} meanwhile. ${notDone} ${kept}`
}

export const KEPT_BESIDE =
  'What is saved now is shown beside each field where it differs from what you entered, which is kept in this form: check it and save again if it is still needed.'
