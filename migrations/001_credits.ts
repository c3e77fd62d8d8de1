import type { Knex } from 'knex';

// The credit ledger: workspaces, one balance row per workspace per month, immutable transactions, holds,
// and the log of status changes. Constraints and triggers make the database itself refuse a negative
// balance, an edited transaction, or a hold closed twice — the code is not the only guard.
// See docs/decisions/010-credit-ledger-model.md.

const TYPES = `'allowance', 'grant', 'adjust', 'reserve', 'capture', 'release'`;
const DEPTHS = `'essential', 'standard', 'deep'`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE workspaces (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      platform text NOT NULL CHECK (platform IN ('slack', 'discord', 'console')),
      external_id text NOT NULL,
      name text NOT NULL,
      monthly_allowance integer NOT NULL CHECK (monthly_allowance >= 0),
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (platform, external_id)
    );

    CREATE TABLE balances (
      workspace_id uuid NOT NULL REFERENCES workspaces (id),
      month text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      balance bigint NOT NULL CHECK (balance >= 0),
      allowance integer NOT NULL CHECK (allowance >= 0),
      used bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
      opened_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, month)
    );

    CREATE TABLE transactions (
      id bigserial PRIMARY KEY,
      workspace_id uuid NOT NULL,
      month text NOT NULL,
      type text NOT NULL CHECK (type IN (${TYPES})),
      amount bigint NOT NULL,
      balance_after bigint CHECK (balance_after >= 0),
      task_id text,
      depth text CHECK (depth IN (${DEPTHS})),
      actor text NOT NULL,
      reason text CHECK (char_length(reason) <= 500),
      idempotency_key text UNIQUE,
      payload_hash text,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (workspace_id, month) REFERENCES balances (workspace_id, month),
      CHECK ((type = 'capture') = (balance_after IS NULL)),
      CHECK (type <> 'capture' OR amount = 0),
      CHECK (type <> 'reserve' OR amount < 0),
      CHECK (type NOT IN ('grant', 'release') OR amount > 0),
      CHECK (type <> 'adjust' OR amount <> 0),
      CHECK ((type IN ('reserve', 'capture', 'release')) = (task_id IS NOT NULL)),
      CHECK ((idempotency_key IS NULL) = (payload_hash IS NULL))
    );
    -- One reserve and at most one close (capture or release) per task, whatever the code does.
    CREATE UNIQUE INDEX transactions_one_reserve_per_task ON transactions (task_id) WHERE type = 'reserve';
    CREATE UNIQUE INDEX transactions_one_close_per_task ON transactions (task_id) WHERE type IN ('capture', 'release');
    CREATE INDEX transactions_workspace_month ON transactions (workspace_id, month, id);
    CREATE INDEX transactions_workspace_id ON transactions (workspace_id, id);
    CREATE INDEX transactions_workspace_created ON transactions (workspace_id, created_at);

    CREATE TABLE holds (
      task_id text PRIMARY KEY,
      workspace_id uuid NOT NULL,
      month text NOT NULL,
      amount bigint NOT NULL CHECK (amount > 0),
      depth text CHECK (depth IN (${DEPTHS})),
      status text NOT NULL CHECK (status IN ('held', 'captured', 'released')),
      actor text NOT NULL,
      created_at timestamptz NOT NULL,
      closed_at timestamptz,
      closed_by text,
      close_reason text CHECK (char_length(close_reason) <= 500),
      FOREIGN KEY (workspace_id, month) REFERENCES balances (workspace_id, month),
      CHECK ((status = 'held') = (closed_at IS NULL))
    );
    CREATE INDEX holds_workspace_status ON holds (workspace_id, status);

    CREATE TABLE workspace_events (
      id bigserial PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces (id),
      type text NOT NULL CHECK (type IN ('suspend', 'resume')),
      actor text NOT NULL,
      reason text NOT NULL CHECK (char_length(reason) <= 500),
      idempotency_key text NOT NULL UNIQUE,
      payload_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX workspace_events_workspace ON workspace_events (workspace_id, id);

    CREATE FUNCTION ledger_transactions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'ledger transactions are immutable (% of transaction %)', TG_OP, OLD.id;
    END $$;
    CREATE TRIGGER transactions_immutable BEFORE UPDATE OR DELETE ON transactions
      FOR EACH ROW EXECUTE FUNCTION ledger_transactions_immutable();

    -- A hold moves once, from held to captured or released, and nothing else about it changes.
    CREATE FUNCTION ledger_holds_close_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'holds are never deleted (task %)', OLD.task_id;
      END IF;
      IF OLD.status <> 'held' OR NEW.status = 'held'
         OR NEW.task_id <> OLD.task_id OR NEW.workspace_id <> OLD.workspace_id OR NEW.month <> OLD.month
         OR NEW.amount <> OLD.amount OR NEW.depth IS DISTINCT FROM OLD.depth THEN
        RAISE EXCEPTION 'hold for task % is already % and cannot become %', OLD.task_id, OLD.status, NEW.status;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER holds_close_once BEFORE UPDATE OR DELETE ON holds
      FOR EACH ROW EXECUTE FUNCTION ledger_holds_close_once();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS workspace_events, holds, transactions, balances, workspaces;
    DROP FUNCTION IF EXISTS ledger_transactions_immutable(), ledger_holds_close_once();
  `);
}
