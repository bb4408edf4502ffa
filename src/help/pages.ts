// The in-app help pages (views/help/<slug>.eta) and which screen links to which page.

export interface HelpPage {
  slug: string
  title: string
  summary: string
}

export const HELP_PAGES: HelpPage[] = [
  { slug: 'manage-connectors', title: 'The manage connectors page', summary: 'See every connector you have installed or built, with its instances, and reach everything you can do with them.' },
  { slug: 'installing-a-prebuilt-connector', title: 'Installing a prebuilt connector', summary: 'Find a connector in the marketplace and install it, ready for instances.' },
  { slug: 'adding-an-instance', title: 'Adding an instance', summary: 'Connect a connector to one account of its system, step by step, so process flows can use it.' },
  { slug: 'updating-an-instance', title: 'Updating an instance', summary: 'Change an instance’s name, time zone, date format, rate limit or credentials.' },
  { slug: 'removing-an-instance', title: 'Removing an instance', summary: 'Remove an instance you no longer need, once no process flow uses it.' },
  { slug: 'process-flows-and-connection-shapes', title: 'Process flows and connection shapes', summary: 'Create process flows and point their connection shapes at your instances and endpoints.' },
  { slug: 'changing-a-connector', title: 'Changing a connector', summary: 'The connector wizard: basic details, variables, authentication methods and endpoints, each a step; every save is a revision, and a removal can be undone.' },
  { slug: 'updating-a-connector', title: 'Updating a connector', summary: 'Take a vendor update: update in place, or for a connector you modified, overwrite it or install the new version alongside.' },
  { slug: 'building-a-custom-connector', title: 'Building a custom connector', summary: 'Build your own connector with the connector builder; it is installed automatically when complete.' },
  { slug: 'removing-a-connector', title: 'Removing a connector', summary: 'The housekeeping first, then cog, trash and type confirm.' },
]

/** The help page for each screen, by route. */
export const HELP_FOR_ROUTE: Record<string, string> = {
  '/connectors': 'manage-connectors',
  '/connectors/:id/instances': 'manage-connectors',
  '/marketplace': 'installing-a-prebuilt-connector',
  '/connectors/:id/settings': 'changing-a-connector',
  // The other steps of the connector wizard, and the addresses their refused forms come back at.
  '/connectors/:id/variables': 'changing-a-connector',
  '/connectors/:id/variables/:key': 'changing-a-connector',
  '/connectors/:id/variables/:key/delete': 'changing-a-connector',
  '/connectors/:id/auth-methods': 'changing-a-connector',
  '/connectors/:id/auth-methods/:key': 'changing-a-connector',
  '/connectors/:id/auth-methods/:key/delete': 'changing-a-connector',
  '/connectors/:id/endpoints': 'changing-a-connector',
  '/connectors/:id/endpoints/:key': 'changing-a-connector',
  '/connectors/:id/endpoints/:key/delete': 'changing-a-connector',
  '/connectors/:id/revisions': 'changing-a-connector',
  '/connectors/:id/revisions/:number': 'changing-a-connector',
  '/connectors/:id/delete': 'removing-a-connector',
  '/connectors/:id/instances/new': 'adding-an-instance',
  '/instances/:id/settings': 'updating-an-instance',
  '/instances/:id/delete': 'removing-an-instance',
  '/process-flows': 'process-flows-and-connection-shapes',
  '/process-flows/:id': 'process-flows-and-connection-shapes',
  '/process-flows/:id/shapes/new': 'process-flows-and-connection-shapes',
  '/process-flows/:id/shapes/:shapeId': 'process-flows-and-connection-shapes',
  '/process-flows/:id/delete': 'process-flows-and-connection-shapes',
  '/connectors/:id/update': 'updating-a-connector',
  '/connectors/:id/installed-alongside/:previousId': 'updating-a-connector',
  '/connectors/:id/merge': 'updating-a-connector',
  '/connectors/:id/revisions/:number/rollback': 'updating-a-connector',
  '/connectors/:id/migrate': 'updating-a-connector',
  '/connectors/:id/migrations/:batchId': 'updating-a-connector',
  '/builder': 'building-a-custom-connector',
  '/builder/drafts/:id/:step': 'building-a-custom-connector',
}

/**
 * The help page of a screen by its template, for pages that a form's POST route shows again (a
 * refused form) at an address with no help of its own.
 */
export const HELP_FOR_PAGE: Record<string, string> = {
  'connector-settings': 'updating-a-connector',
  'connector-migration': 'updating-a-connector',
  'builder-step': 'building-a-custom-connector',
  'instance-settings': 'updating-an-instance',
  'process-flows': 'process-flows-and-connection-shapes',
  'process-flow': 'process-flows-and-connection-shapes',
  'shape-form': 'process-flows-and-connection-shapes',
}
