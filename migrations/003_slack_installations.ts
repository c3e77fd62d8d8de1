import type { Knex } from 'knex';

// Slack OAuth installations (multi-workspace distribution), one row per workspace or per Enterprise Grid org
// for org-wide installs. The whole Installation object Bolt hands us is kept as JSON so a newer Bolt field
// survives a round trip; the columns beside it are what we look rows up by.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('slack_installations', (t) => {
    t.bigIncrements('id');
    // `T:<team id>` for a workspace install, `E:<enterprise id>` for an org-wide one.
    t.text('install_key').notNullable().unique();
    t.text('team_id');
    t.text('enterprise_id');
    t.boolean('is_enterprise_install').notNullable().defaultTo(false);
    t.text('bot_user_id');
    t.jsonb('installation').notNullable();
    t.timestamp('installed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['team_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('slack_installations');
}
