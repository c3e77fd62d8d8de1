import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testPostgres } from '../../test/helpers/storage.js';
import type { Db } from '../storage/index.js';
import { readLedgerGauges } from './gauges.js';
import { CreditLedger } from './ledger.js';
import { monthOf } from './rules.js';
import { freshWorkspace } from '../../test/helpers/ledger.js';

let db: Db;
let ledger: CreditLedger;
const month = monthOf(new Date());

beforeAll(() => {
  db = testPostgres(3);
  ledger = new CreditLedger(db, { defaultAllowance: 12 });
});
afterAll(async () => {
  await db.destroy();
});

/**
 * The database is shared with other tests: each case runs in a REPEATABLE READ transaction that is rolled
 * back, so it sees one snapshot (other tests' commits do not move its counts) and leaves nothing behind.
 */
async function inSnapshot(body: (trx: Db) => Promise<void>): Promise<void> {
  const rollback = new Error('rollback');
  await db
    .transaction(
      async (trx) => {
        await body(trx as unknown as Db);
        throw rollback;
      },
      { isolationLevel: 'repeatable read' },
    )
    .catch((err: unknown) => {
      if (err !== rollback) throw err;
    });
}

describe('readLedgerGauges', () => {
  it('counts a balance that no longer matches its last transaction', async () => {
    const ws = await freshWorkspace(ledger, 'gauges');
    await ledger.reserve({
      workspaceId: ws.id,
      taskId: `T-${randomUUID()}`,
      cost: 6,
      depth: 'essential',
      actor: 'test',
    });
    await inSnapshot(async (trx) => {
      const before = await readLedgerGauges(trx, month);
      await trx('balances').where({ workspace_id: ws.id, month }).increment('balance', 1);
      const after = await readLedgerGauges(trx, month);
      expect(after.mismatchedBalances).toBe(before.mismatchedBalances + 1);
    });
  });

  it('counts active workspaces with nothing left this month, and not suspended ones', async () => {
    const spent = await freshWorkspace(ledger, 'gauges-zero');
    const suspended = await freshWorkspace(ledger, 'gauges-suspended');
    await ledger.balance(spent.id);
    await ledger.balance(suspended.id);
    await inSnapshot(async (trx) => {
      const before = await readLedgerGauges(trx, month);
      await trx('balances').where({ month }).whereIn('workspace_id', [spent.id, suspended.id]).update({ balance: 0 });
      await trx('workspaces').where({ id: suspended.id }).update({ status: 'suspended' });
      const after = await readLedgerGauges(trx, month);
      expect(after.workspacesAtZero).toBe(before.workspacesAtZero + 1);
    });
  });
});
