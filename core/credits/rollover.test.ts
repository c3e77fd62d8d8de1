import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testPostgres } from '../../test/helpers/storage.js';
import type { Db } from '../storage/index.js';
import { CreditLedger, monthOf } from './index.js';
import { freshWorkspace } from '../../test/helpers/ledger.js';

let db: Db;
beforeAll(() => {
  db = testPostgres(5);
});
afterAll(async () => {
  await db.destroy();
});

describe('month rollover', () => {
  it('opens each month with the allowance; holds settle in the month that paid for them', async () => {
    let now = new Date('2031-01-31T23:59:30Z');
    const ledger = new CreditLedger(db, { now: () => now });
    const ws = await freshWorkspace(ledger, 'rollover');
    const late = `T-${randomUUID()}`;
    const kept = `T-${randomUUID()}`;
    await ledger.reserve({ workspaceId: ws.id, cost: 18, taskId: late, depth: 'deep', actor: 'u' });
    await ledger.reserve({ workspaceId: ws.id, cost: 12, taskId: kept, depth: 'standard', actor: 'u' });
    await ledger.grant({
      workspaceId: ws.id,
      amount: 100,
      actor: 'admin',
      reason: 'January bonus',
      idempotencyKey: `k-${randomUUID()}`,
    });
    expect(await ledger.balance(ws.id)).toMatchObject({ month: '2031-01', balance: 1070, used: 30 });

    // Midnight UTC: a new month, opened lazily with the allowance; January's leftovers do not roll over.
    now = new Date('2031-02-01T00:00:05Z');
    expect(await ledger.balance(ws.id)).toMatchObject({ month: '2031-02', balance: 1000, allowance: 1000, used: 0 });

    // A research reserved in January that fails in February gives its credits back to January.
    const released = await ledger.release({ taskId: late, actor: 'worker', reason: 'provider down' });
    expect(released).toMatchObject({ month: '2031-01', status: 'released' });
    const captured = await ledger.capture({ taskId: kept, actor: 'worker' });
    expect(captured).toMatchObject({ month: '2031-01', status: 'captured' });
    expect(await ledger.balance(ws.id, '2031-01')).toMatchObject({ balance: 1088, used: 12 });
    expect(await ledger.balance(ws.id)).toMatchObject({ month: '2031-02', balance: 1000, used: 0 });

    const feb = await ledger.reserve({
      workspaceId: ws.id,
      cost: 6,
      taskId: `T-${randomUUID()}`,
      depth: 'essential',
      actor: 'u',
    });
    expect(feb.month).toBe('2031-02');
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 994, used: 6 });

    // An allowance change applies to February at once and to March when it opens.
    await ledger.setAllowance({
      workspaceId: ws.id,
      amount: 500,
      actor: 'admin',
      reason: 'plan change',
      idempotencyKey: `k-${randomUUID()}`,
    });
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 494, allowance: 500 });
    expect(await ledger.balance(ws.id, '2031-03')).toMatchObject({ balance: 500, allowance: 500, used: 0 });
    expect(await ledger.balance(ws.id, '2030-12')).toMatchObject({ balance: 0, allowance: 0 });

    now = new Date('2031-03-01T00:00:00Z');
    expect(await ledger.balance(ws.id)).toMatchObject({ month: '2031-03', balance: 500, allowance: 500 });
    const march = await ledger.transactions(ws.id, { from: new Date('2031-03-01T00:00:00Z') });
    expect(march.items.map((t) => [t.month, t.type, t.amount, t.balanceAfter])).toEqual([
      ['2031-03', 'allowance', 500, 500],
    ]);
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });

  it('months are UTC calendar months', () => {
    expect(monthOf(new Date('2031-01-31T23:59:59.999Z'))).toBe('2031-01');
    expect(monthOf(new Date('2031-02-01T00:00:00+01:00'))).toBe('2031-01');
    expect(monthOf(new Date('2031-12-31T23:00:00-05:00'))).toBe('2032-01');
  });

  it('many concurrent first requests of a month open it exactly once', async () => {
    const ledger = new CreditLedger(db, { now: () => new Date('2031-05-01T00:00:00Z') });
    const ws = await freshWorkspace(ledger, 'open-once');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? ledger.balance(ws.id)
          : ledger.reserve({ workspaceId: ws.id, cost: 6, taskId: `open-${ws.id}-${i}`, actor: 'u' }),
      ),
    );
    expect((await ledger.transactions(ws.id, { type: 'allowance' })).total).toBe(1);
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 1000 - 20 * 6 });
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });
});
