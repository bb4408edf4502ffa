// What a removal answers: removed, or cancelled with what stands in the way.
export type RemovalResult<Blocker> =
  { removed: true; name: string } | { removed: false; name: string; blockers: Blocker[] }
