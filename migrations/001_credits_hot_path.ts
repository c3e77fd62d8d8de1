import type { Knex } from 'knex';

// Tuning of 001_credits after benchmarking the contended reserve+capture path (decision 011):
// - No foreign keys from transactions/holds to balances: each insert's FK check took a KEY SHARE lock on
//   the workspace's one hot balance row, turning its lock word into a MultiXact on every capture. The
//   rows are written from that balance row in the same statement, and checkInvariant reports orphans.
// - Fewer indexes on transactions (each insert paid for five), and the idempotency key index only holds
//   rows that have a key.
// - Holds are indexed on columns a close never changes, and tables keep free space per page, so closing a
//   hold and moving a balance are HOT updates that touch no index.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE transactions DROP CONSTRAINT IF EXISTS transactions_workspace_id_month_fkey;
    ALTER TABLE holds DROP CONSTRAINT IF EXISTS holds_workspace_id_month_fkey;
    DROP INDEX IF EXISTS transactions_workspace_month;
    DROP INDEX IF EXISTS transactions_workspace_created;
    ALTER TABLE transactions DROP CONSTRAINT IF EXISTS transactions_idempotency_key_key;
    CREATE UNIQUE INDEX IF NOT EXISTS transactions_idempotency_key ON transactions (idempotency_key) WHERE idempotency_key IS NOT NULL;
    DROP INDEX IF EXISTS holds_workspace_status;
    CREATE INDEX IF NOT EXISTS holds_workspace ON holds (workspace_id, created_at);
    ALTER TABLE holds SET (fillfactor = 80);
    ALTER TABLE balances SET (fillfactor = 50);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE balances RESET (fillfactor);
    ALTER TABLE holds RESET (fillfactor);
    DROP INDEX IF EXISTS holds_workspace;
    CREATE INDEX IF NOT EXISTS holds_workspace_status ON holds (workspace_id, status);
    DROP INDEX IF EXISTS transactions_idempotency_key;
    ALTER TABLE transactions ADD CONSTRAINT transactions_idempotency_key_key UNIQUE (idempotency_key);
    CREATE INDEX IF NOT EXISTS transactions_workspace_created ON transactions (workspace_id, created_at);
    CREATE INDEX IF NOT EXISTS transactions_workspace_month ON transactions (workspace_id, month, id);
    ALTER TABLE holds ADD FOREIGN KEY (workspace_id, month) REFERENCES balances (workspace_id, month);
    ALTER TABLE transactions ADD FOREIGN KEY (workspace_id, month) REFERENCES balances (workspace_id, month);
  `);
}
