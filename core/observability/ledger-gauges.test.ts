import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testPostgres } from '../../test/helpers/storage.js';
import { readLedgerGauges } from '../credits/gauges.js';
import { monthOf } from '../credits/rules.js';
import type { Db } from '../storage/index.js';
import { watchLedger } from './ledger-gauges.js';
import { createLogger } from './logger.js';
import { registry } from './metrics.js';

let db: Db;
beforeAll(() => {
  db = testPostgres(2);
});
afterAll(async () => {
  await db.destroy();
});

async function gauge(name: string): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values[0]?.value;
}

describe('watchLedger', () => {
  it('sets the ledger gauges from the database at once and stops when asked', async () => {
    const stop = watchLedger(db, createLogger('test', 'silent'), 60_000);
    try {
      const until = Date.now() + 10_000;
      while (!(await gauge('pmf_ledger_gauges_timestamp_seconds')) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(await gauge('pmf_ledger_gauges_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 30);
      const now = await readLedgerGauges(db, monthOf(new Date()));
      expect(await gauge('pmf_ledger_balances_mismatched')).toBe(now.mismatchedBalances);
      expect(await gauge('pmf_workspaces_balance_zero')).toBeGreaterThanOrEqual(0);
    } finally {
      stop();
    }
  });
});
