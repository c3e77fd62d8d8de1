import type { Knex } from 'knex';

// LangGraph checkpoints of research runs (decision 035): one row per checkpoint of a thread (thread = task
// run id) without its channel values, one per channel value version (written once, when the channel
// changes), and one per pending write of a task within a checkpoint. Checkpoint ids are LangGraph's
// time-ordered uuid6, so the newest checkpoint of a thread is the greatest id.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('research_checkpoints', (t) => {
    t.text('thread_id').notNullable();
    t.text('checkpoint_ns').notNullable().defaultTo('');
    t.text('checkpoint_id').notNullable();
    t.text('parent_checkpoint_id');
    t.text('type').notNullable();
    t.binary('checkpoint').notNullable();
    t.binary('metadata').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['thread_id', 'checkpoint_ns', 'checkpoint_id']);
  });
  await knex.schema.createTable('research_checkpoint_blobs', (t) => {
    t.text('thread_id').notNullable();
    t.text('checkpoint_ns').notNullable().defaultTo('');
    t.text('channel').notNullable();
    t.text('version').notNullable();
    t.text('type').notNullable();
    t.binary('blob');
    t.primary(['thread_id', 'checkpoint_ns', 'channel', 'version']);
  });
  await knex.schema.createTable('research_checkpoint_writes', (t) => {
    t.text('thread_id').notNullable();
    t.text('checkpoint_ns').notNullable().defaultTo('');
    t.text('checkpoint_id').notNullable();
    t.text('task_id').notNullable();
    t.integer('idx').notNullable();
    t.text('task_path').notNullable().defaultTo('');
    t.text('channel').notNullable();
    t.text('type').notNullable();
    t.binary('value').notNullable();
    t.primary(['thread_id', 'checkpoint_ns', 'checkpoint_id', 'task_id', 'idx']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('research_checkpoint_writes');
  await knex.schema.dropTableIfExists('research_checkpoint_blobs');
  await knex.schema.dropTableIfExists('research_checkpoints');
}
