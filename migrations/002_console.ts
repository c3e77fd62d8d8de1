import type { Knex } from 'knex';

// Console users, their sessions, the audit log of every change made through the console, and login
// attempts for rate limiting. Kept in PostgreSQL beside the ledger so an audit row can be written in
// the same place as the change it explains.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('console_users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    // Stored lower-cased, so the unique index is case-insensitive without citext.
    t.text('email').notNullable().unique();
    t.text('password_hash').notNullable();
    t.text('role').notNullable().checkIn(['admin', 'viewer']);
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('created_by');
  });
  await knex.schema.createTable('console_sessions', (t) => {
    // sha256 of the cookie token: a leaked table does not hand out live sessions.
    t.text('id').primary();
    t.uuid('user_id').notNullable().references('id').inTable('console_users').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.text('ip');
    t.text('user_agent');
    t.index(['user_id']);
  });
  await knex.schema.createTable('console_audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid('actor_id');
    t.text('actor_email').notNullable();
    t.text('action').notNullable();
    t.text('target_type').notNullable();
    t.text('target_id').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.text('reason');
    // The form's hidden idempotency key: a double submit writes one audit row.
    t.text('idempotency_key').unique();
    t.index(['at']);
    t.index(['action', 'at']);
    t.index(['target_type', 'target_id', 'at']);
  });
  await knex.schema.createTable('console_login_attempts', (t) => {
    t.bigIncrements('id');
    t.text('email').notNullable();
    t.text('ip').notNullable();
    t.boolean('success').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['email', 'at']);
    t.index(['ip', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('console_login_attempts');
  await knex.schema.dropTableIfExists('console_audit_log');
  await knex.schema.dropTableIfExists('console_sessions');
  await knex.schema.dropTableIfExists('console_users');
}
