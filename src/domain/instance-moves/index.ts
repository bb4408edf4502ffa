// "Move instances in stages" after installing a version alongside: the admin picks instances of the
// old connector; each gets a copy on the new connector (name + suffix, settings, credentials) and the
// connection shapes of the picked process flows are pointed at the copy. A preview shows exactly what
// will change; applying runs in one transaction, once per form submission; each batch is recorded and
// can be undone while nothing else changed what it created or repointed.
export * from './plan.js'
export * from './picker.js'
export * from './apply.js'
export * from './batches.js'
export * from './undo.js'
