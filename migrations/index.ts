import type { Knex } from 'knex';

export type Migration = { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> };

/** Every migration, keyed by a name that sorts in the order they apply. Add new ones at the end. */
export const migrations: Record<string, Migration> = {};
migrations['001_credits'] = await import('./001_credits.js');
migrations['001_credits_hot_path'] = await import('./001_credits_hot_path.js');
migrations['002_console'] = await import('./002_console.js');
migrations['003_slack_installations'] = await import('./003_slack_installations.js');
migrations['004_research_checkpoints'] = await import('./004_research_checkpoints.js');
