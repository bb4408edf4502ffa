// Every edit form carries the version of the row it was read at (a save based on an older one is
// refused with an EditConflict) and a one-time key (a double submit answers like the first; see
// claimSubmission in command.ts).
export interface EditForm {
  version: number
  submission?: string | undefined
}
