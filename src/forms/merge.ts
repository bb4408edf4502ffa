// The form of "update and keep my changes": mine or theirs per conflict → the merge's typed choices.
import type { MergeSide } from '../domain/definition-merge.js'

/** The answered conflicts of a merge form; anything but mine or theirs is no answer. */
export function mergeChoices(body: Record<string, unknown>): Record<string, MergeSide> {
  const choices: Record<string, MergeSide> = {}
  for (const [name, value] of Object.entries(body)) {
    if (name.startsWith('choice.') && (value === 'mine' || value === 'theirs'))
      choices[name.slice('choice.'.length)] = value
  }
  return choices
}
