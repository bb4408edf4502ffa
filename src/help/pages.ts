// The in-app help pages (views/help/<slug>.eta). Which screen links to which page is declared by its
// route, next to its permission: `config: { permission: ..., help: 'updating-a-connector' }`.

export interface HelpPage {
  slug: string
  title: string
  summary: string
}

export const HELP_PAGES = [
  {
    slug: 'manage-connectors',
    title: 'The manage connectors page',
    summary:
      'See every connector you have installed or built, with its instances, and reach everything you can do with them.',
  },
  {
    slug: 'installing-a-prebuilt-connector',
    title: 'Installing a prebuilt connector',
    summary: 'Find a connector in the marketplace and install it, ready for instances.',
  },
  {
    slug: 'adding-an-instance',
    title: 'Adding an instance',
    summary: 'Connect a connector to one account of its system, step by step, so process flows can use it.',
  },
  {
    slug: 'updating-an-instance',
    title: 'Updating an instance',
    summary: 'Change an instance’s name, time zone, date format, rate limit or credentials.',
  },
  {
    slug: 'removing-an-instance',
    title: 'Removing an instance',
    summary: 'Remove an instance you no longer need, once no process flow uses it.',
  },
  {
    slug: 'process-flows-and-connection-shapes',
    title: 'Process flows and connection shapes',
    summary: 'Create process flows and point their connection shapes at your instances and endpoints.',
  },
  {
    slug: 'changing-a-connector',
    title: 'Changing a connector',
    summary:
      'The connector wizard: basic details, variables, authentication methods and endpoints, each a step; every save is a revision, and a removal can be undone.',
  },
  {
    slug: 'updating-a-connector',
    title: 'Updating a connector',
    summary:
      'Take a vendor update: update in place, or for a connector you modified, overwrite it or install the new version alongside.',
  },
  {
    slug: 'updating-many-connectors',
    title: 'Updating many connectors at once',
    summary:
      'Every pending update in one place: see what each touches, preview, update many in one batch, and undo it.',
  },
  {
    slug: 'building-a-custom-connector',
    title: 'Building a custom connector',
    summary: 'Build your own connector with the connector builder; it is installed automatically when complete.',
  },
  {
    slug: 'removing-a-connector',
    title: 'Removing a connector',
    summary: 'The housekeeping first, then cog, trash and type confirm.',
  },
  {
    slug: 'managing-people',
    title: 'Managing people',
    summary:
      'Add people and set their roles; deactivate, reactivate or remove them; reset a password; change your own and end your sessions.',
  },
  {
    slug: 'reading-the-audit-log',
    title: 'Reading the audit log',
    summary:
      'See who changed what and when: filter by person, action, dates or one connector, instance or process flow, and download it as CSV.',
  },
] as const satisfies readonly HelpPage[]

/** The name of a help page, as a route's config names it (`config: { help: ... }`). */
export type HelpSlug = (typeof HELP_PAGES)[number]['slug']

/** The help page a slug names, or undefined. */
export function helpPage(slug: string): HelpPage | undefined {
  return HELP_PAGES.find((page) => page.slug === slug)
}

/**
 * Refuses a route whose config names a help page that does not exist (an `onRoute` hook): the
 * type catches a typo in code, this catches a config built at run time, when the app is built.
 */
export function requireKnownHelp(route: { method: string | string[]; url: string; config?: unknown }): void {
  const help = (route.config as { help?: unknown } | undefined)?.help
  if (help !== undefined && (typeof help !== 'string' || !helpPage(help))) {
    throw new Error(
      `${[route.method].flat().join(',')} ${route.url} names the help page ${JSON.stringify(help)}, which does not exist (src/help/pages.ts)`,
    )
  }
}
