// The CreditLedger face against a real PostgreSQL: workspaces, holds, admin changes, typed refusals and the
// database's own guards. Long on purpose: the ledger's whole contract in one place, whichever file implements it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testPostgres } from '../../test/helpers/storage.js';
import type { Db } from '../storage/index.js';
import {
  CreditLedger,
  HoldClosedError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  LedgerError,
  LedgerValidationError,
  UnknownHoldError,
  UnknownWorkspaceError,
  WorkspaceSuspendedError,
} from './index.js';
import { freshWorkspace, ledgerSnapshot } from '../../test/helpers/ledger.js';

let db: Db;
let ledger: CreditLedger;

beforeAll(() => {
  db = testPostgres(5);
  ledger = new CreditLedger(db);
});
afterAll(async () => {
  await db.destroy();
});

const task = () => `T-${randomUUID()}`;
const key = () => `k-${randomUUID()}`;

describe('workspaces', () => {
  it('ensureWorkspace is an idempotent upsert that follows renames', async () => {
    const externalId = `T${randomUUID()}`;
    const a = await ledger.ensureWorkspace({ platform: 'slack', externalId, name: 'Acme' });
    const b = await ledger.ensureWorkspace({ platform: 'slack', externalId, name: 'Acme' });
    expect(b).toEqual(a);
    expect(a).toMatchObject({ platform: 'slack', externalId, name: 'Acme', monthlyAllowance: 1000, status: 'active' });
    const renamed = await ledger.ensureWorkspace({ platform: 'slack', externalId, name: 'Acme Inc' });
    expect(renamed).toMatchObject({ id: a.id, name: 'Acme Inc' });
    expect(await ledger.findWorkspace('slack', externalId)).toEqual(renamed);
    expect(await ledger.getWorkspace(a.id)).toEqual(renamed);
    expect(await ledger.findWorkspace('discord', externalId)).toBeUndefined();
    expect(await ledger.getWorkspace(randomUUID())).toBeUndefined();
    expect(await ledger.getWorkspace('not-a-uuid')).toBeUndefined();
  });

  it('concurrent first sightings of a workspace create it once', async () => {
    const externalId = `G${randomUUID()}`;
    const all = await Promise.all(
      Array.from({ length: 20 }, () => ledger.ensureWorkspace({ platform: 'discord', externalId, name: 'Guild' })),
    );
    expect(new Set(all.map((w) => w.id)).size).toBe(1);
  });

  it('uses the configured default allowance for new workspaces', async () => {
    const small = new CreditLedger(db, { defaultAllowance: 30 });
    const ws = await freshWorkspace(small);
    expect(ws.monthlyAllowance).toBe(30);
    expect(await small.balance(ws.id)).toMatchObject({
      balance: 30,
      allowance: 30,
      used: 0,
      remaining: { essential: 5, standard: 2, deep: 1 },
    });
  });

  it('lists workspaces with search, filters, sorting and paging', async () => {
    const tag = randomUUID().slice(0, 8);
    const mk = (name: string) =>
      ledger.ensureWorkspace({ platform: 'discord', externalId: `${tag}-${name}`, name: `${tag} ${name}` });
    const busy = await mk('busy');
    const idle = await mk('idle');
    const off = await mk('off');
    await ledger.reserve({ workspaceId: busy.id, cost: 18, taskId: task(), actor: 'u1' });
    await ledger.suspend({ workspaceId: off.id, actor: 'admin', reason: 'abuse', idempotencyKey: key() });

    const all = await ledger.listWorkspaces({ search: tag, sort: 'usage' });
    expect(all.total).toBe(3);
    expect(all.items[0]).toMatchObject({ id: busy.id, balance: 982, used: 18 });
    expect(all.items[0]?.lastActivityAt).toBeInstanceOf(Date);
    expect(all.items.find((w) => w.id === idle.id)).toMatchObject({ balance: 1000, used: 0, lastActivityAt: null });

    expect((await ledger.listWorkspaces({ search: tag, status: 'suspended' })).items.map((w) => w.id)).toEqual([
      off.id,
    ]);
    expect((await ledger.listWorkspaces({ search: tag, sort: 'balance' })).items[0]?.id).toBe(busy.id);
    expect((await ledger.listWorkspaces({ search: tag, sort: 'activity' })).items[0]?.id).toBe(busy.id);
    expect((await ledger.listWorkspaces({ search: tag, sort: 'name' })).items.map((w) => w.name)).toEqual([
      `${tag} busy`,
      `${tag} idle`,
      `${tag} off`,
    ]);
    const page2 = await ledger.listWorkspaces({ search: tag, sort: 'name', page: 2, pageSize: 2 });
    expect(page2).toMatchObject({ total: 3, page: 2, pageSize: 2 });
    expect(page2.items.map((w) => w.id)).toEqual([off.id]);
    expect(await ledger.listWorkspaces({ search: tag, page: 9, pageSize: 2 })).toMatchObject({ items: [], total: 3 });
    expect((await ledger.listWorkspaces({ search: `${tag} id`, platform: 'discord' })).items.map((w) => w.id)).toEqual([
      idle.id,
    ]);
    expect((await ledger.listWorkspaces({ search: tag, platform: 'slack' })).total).toBe(0);
    expect((await ledger.listWorkspaces({ search: '%' })).items.every((w) => w.name.includes('%'))).toBe(true);
  });
});

describe('holds', () => {
  it('reserve takes credits, capture keeps them, release gives them back; each exactly once', async () => {
    const ws = await freshWorkspace(ledger);
    const t1 = task();
    const t2 = task();
    const held = await ledger.reserve({ workspaceId: ws.id, cost: 12, taskId: t1, depth: 'standard', actor: 'u1' });
    expect(held).toMatchObject({
      taskId: t1,
      workspaceId: ws.id,
      amount: 12,
      depth: 'standard',
      status: 'held',
      closedAt: null,
    });
    await ledger.reserve({ workspaceId: ws.id, cost: 18, taskId: t2, depth: 'deep', actor: 'u1' });
    expect(await ledger.balance(ws.id)).toMatchObject({
      balance: 970,
      used: 30,
      remaining: { essential: 161, standard: 80, deep: 53 },
    });

    const captured = await ledger.capture({ taskId: t1, actor: 'worker' });
    expect(captured).toMatchObject({ status: 'captured', closedBy: 'worker' });
    expect(await ledger.capture({ taskId: t1, actor: 'worker' })).toEqual(captured);
    await expect(ledger.release({ taskId: t1, actor: 'worker', reason: 'late failure' })).rejects.toBeInstanceOf(
      HoldClosedError,
    );

    const released = await ledger.release({ taskId: t2, actor: 'worker', reason: 'provider down' });
    expect(released).toMatchObject({ status: 'released', closeReason: 'provider down' });
    expect(await ledger.release({ taskId: t2, actor: 'someone else', reason: 'again' })).toEqual(released);
    await expect(ledger.capture({ taskId: t2, actor: 'worker' })).rejects.toMatchObject({ code: 'hold_closed' });

    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 988, used: 12 });
    const txs = await ledger.transactions(ws.id);
    expect(txs.items.map((t) => [t.type, t.amount, t.balanceAfter])).toEqual([
      ['release', 18, 988],
      ['capture', 0, null],
      ['reserve', -18, 970],
      ['reserve', -12, 988],
      ['allowance', 1000, 1000],
    ]);
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });

  it('a replayed reserve returns the same hold; the same task or key with another payload is a conflict', async () => {
    const ws = await freshWorkspace(ledger);
    const t = task();
    const k = key();
    const first = await ledger.reserve({
      workspaceId: ws.id,
      cost: 6,
      taskId: t,
      depth: 'essential',
      actor: 'u1',
      idempotencyKey: k,
    });
    expect(
      await ledger.reserve({
        workspaceId: ws.id,
        cost: 6,
        taskId: t,
        depth: 'essential',
        actor: 'u1',
        idempotencyKey: k,
      }),
    ).toEqual(first);
    expect(
      await ledger.reserve({ workspaceId: ws.id, cost: 6, taskId: t, depth: 'essential', actor: 'retrying bot' }),
    ).toEqual(first);
    const before = await ledgerSnapshot(db, ws.id);
    await expect(
      ledger.reserve({ workspaceId: ws.id, cost: 12, taskId: t, depth: 'standard', actor: 'u1' }),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(
      ledger.reserve({
        workspaceId: ws.id,
        cost: 6,
        taskId: task(),
        depth: 'essential',
        actor: 'u1',
        idempotencyKey: k,
      }),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await ledgerSnapshot(db, ws.id)).toEqual(before);
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 994 });
  });

  it('ids with quotes, braces, commas, backslashes, NULL and emoji travel intact through the batch arrays', async () => {
    const ws = await freshWorkspace(ledger);
    const odd = ['a,b{"c"}\\d', 'NULL', '  spaced  ', 'Ünïcødé 🚀'];
    const run = randomUUID();
    const calls = odd.map((text) => ({
      workspaceId: ws.id,
      cost: 6,
      taskId: `${text} ${run}`,
      depth: 'essential' as const,
      actor: text,
      idempotencyKey: `{${text}} ${run}`,
    }));
    // Together, so they share one statement's arrays.
    const holds = await Promise.all(calls.map((c) => ledger.reserve(c)));
    expect(holds.map((h) => [h.taskId, h.actor])).toEqual(calls.map((c) => [c.taskId, c.actor]));
    expect(await Promise.all(calls.map((c) => ledger.reserve(c)))).toEqual(holds);
    const captured = await Promise.all(calls.map((c) => ledger.capture({ taskId: c.taskId, actor: c.actor })));
    expect(captured.map((h) => [h.status, h.closedBy])).toEqual(odd.map((text) => ['captured', text]));
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 1000 - 4 * 6 });
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });

  it('refuseEarly throws what a reserve would for want of credits or a suspended workspace, and changes nothing', async () => {
    const ws = await freshWorkspace(ledger);
    await expect(ledger.refuseEarly(ws.id, 12)).resolves.toBeUndefined(); // month not opened yet: the reserve decides
    await ledger.deduct({ workspaceId: ws.id, amount: 995, actor: 'admin', reason: 'leave 5', idempotencyKey: key() });
    const before = await ledgerSnapshot(db, ws.id);
    await expect(ledger.refuseEarly(ws.id, 5)).resolves.toBeUndefined();
    await expect(ledger.refuseEarly(ws.id, 6)).rejects.toBeInstanceOf(InsufficientCreditsError);
    await expect(ledger.refuseEarly(ws.id, 6)).rejects.toMatchObject({
      balance: 5,
      cost: 6,
      remaining: { essential: 0, standard: 0, deep: 0 },
    });
    expect(await ledgerSnapshot(db, ws.id)).toEqual(before);
    await ledger.suspend({ workspaceId: ws.id, actor: 'admin', reason: 'test', idempotencyKey: key() });
    await expect(ledger.refuseEarly(ws.id, 1)).rejects.toBeInstanceOf(WorkspaceSuspendedError);
    await expect(ledger.refuseEarly(randomUUID(), 1)).rejects.toBeInstanceOf(UnknownWorkspaceError);
    await expect(ledger.refuseEarly('not-a-uuid', 1)).rejects.toBeInstanceOf(UnknownWorkspaceError);
  });

  it('capture or release of an unknown task is a typed error', async () => {
    await expect(ledger.capture({ taskId: task(), actor: 'w' })).rejects.toBeInstanceOf(UnknownHoldError);
    await expect(ledger.release({ taskId: task(), actor: 'w', reason: 'x' })).rejects.toMatchObject({
      code: 'unknown_hold',
    });
  });

  it('a reserve that does not fit says how much is left and how many researches of each depth remain', async () => {
    const ws = await freshWorkspace(new CreditLedger(db, { defaultAllowance: 20 }));
    await ledger.reserve({ workspaceId: ws.id, cost: 12, taskId: task(), actor: 'u1' });
    const before = await ledgerSnapshot(db, ws.id);
    const err = await ledger
      .reserve({ workspaceId: ws.id, cost: 12, taskId: task(), actor: 'u1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientCreditsError);
    expect(err).toBeInstanceOf(LedgerError);
    expect(err).toMatchObject({
      code: 'insufficient_credits',
      balance: 8,
      cost: 12,
      remaining: { essential: 1, standard: 0, deep: 0 },
    });
    expect(await ledgerSnapshot(db, ws.id)).toEqual(before);
  });
});

describe('admin changes', () => {
  it('grant, deduct and setAllowance write one transaction each and replay by key', async () => {
    const ws = await freshWorkspace(ledger);
    const k = key();
    const granted = await ledger.grant({
      workspaceId: ws.id,
      amount: 50,
      actor: 'admin',
      reason: 'pilot bonus',
      idempotencyKey: k,
    });
    expect(granted).toMatchObject({
      type: 'grant',
      amount: 50,
      balanceAfter: 1050,
      actor: 'admin',
      reason: 'pilot bonus',
      idempotencyKey: k,
    });
    expect(
      await ledger.grant({
        workspaceId: ws.id,
        amount: 50,
        actor: 'other admin',
        reason: 'pilot bonus',
        idempotencyKey: k,
      }),
    ).toEqual(granted);

    const deducted = await ledger.deduct({
      workspaceId: ws.id,
      amount: 30,
      actor: 'admin',
      reason: 'refund reversed',
      idempotencyKey: key(),
    });
    expect(deducted).toMatchObject({ type: 'adjust', amount: -30, balanceAfter: 1020 });

    const lowered = await ledger.setAllowance({
      workspaceId: ws.id,
      amount: 400,
      actor: 'admin',
      reason: 'downgrade',
      idempotencyKey: key(),
    });
    expect(lowered).toMatchObject({ type: 'allowance', amount: -600, balanceAfter: 420 });
    expect((await ledger.getWorkspace(ws.id))?.monthlyAllowance).toBe(400);
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 420, allowance: 400 });

    expect(await ledger.transactions(ws.id, { type: 'grant' })).toMatchObject({
      total: 1,
      items: [{ id: granted.id }],
    });
    expect((await ledger.transactions(ws.id, { pageSize: 2, page: 2 })).items.map((t) => t.type)).toEqual([
      'grant',
      'allowance',
    ]);
    expect((await ledger.transactions(ws.id, { from: new Date(Date.now() + 60_000) })).total).toBe(0);
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });

  it('lowering the allowance below what is left empties the month without going negative', async () => {
    const ws = await freshWorkspace(ledger);
    await ledger.deduct({ workspaceId: ws.id, amount: 900, actor: 'admin', reason: 'test', idempotencyKey: key() });
    const t = await ledger.setAllowance({
      workspaceId: ws.id,
      amount: 0,
      actor: 'admin',
      reason: 'free tier ended',
      idempotencyKey: key(),
    });
    expect(t).toMatchObject({ amount: -100, balanceAfter: 0 });
    expect(await ledger.balance(ws.id)).toMatchObject({
      balance: 0,
      allowance: 0,
      remaining: { essential: 0, standard: 0, deep: 0 },
    });
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });

  it('a suspended workspace cannot reserve until resumed; admins can still top it up', async () => {
    const ws = await freshWorkspace(ledger);
    const k = key();
    const suspended = await ledger.suspend({
      workspaceId: ws.id,
      actor: 'admin',
      reason: 'unpaid invoice',
      idempotencyKey: k,
    });
    expect(suspended.status).toBe('suspended');
    expect(
      await ledger.suspend({ workspaceId: ws.id, actor: 'admin', reason: 'unpaid invoice', idempotencyKey: k }),
    ).toEqual(suspended);
    await ledger.grant({ workspaceId: ws.id, amount: 10, actor: 'admin', reason: 'goodwill', idempotencyKey: key() });

    const before = await ledgerSnapshot(db, ws.id);
    await expect(ledger.reserve({ workspaceId: ws.id, cost: 6, taskId: task(), actor: 'u1' })).rejects.toBeInstanceOf(
      WorkspaceSuspendedError,
    );
    expect(await ledgerSnapshot(db, ws.id)).toEqual(before);

    expect(
      (await ledger.resume({ workspaceId: ws.id, actor: 'admin', reason: 'paid', idempotencyKey: key() })).status,
    ).toBe('active');
    await expect(ledger.reserve({ workspaceId: ws.id, cost: 6, taskId: task(), actor: 'u1' })).resolves.toMatchObject({
      status: 'held',
    });
  });
});

describe('refused requests are typed errors and change nothing', () => {
  // `setup` may legitimately change the ledger (a first grant, a first reserve); the snapshot is taken
  // after it, right before the refused call.
  type Case = {
    name: string;
    setup?: (wsId: string) => Promise<string>;
    refused: (wsId: string, setupResult: string) => Promise<unknown>;
    error: new (...args: never[]) => LedgerError;
  };
  const grantKey = async (id: string) => {
    const k = key();
    await ledger.grant({ workspaceId: id, amount: 5, actor: 'a', reason: 'r', idempotencyKey: k });
    return k;
  };
  const cases: Case[] = [
    {
      name: 'unknown workspace (reserve)',
      refused: () => ledger.reserve({ workspaceId: randomUUID(), cost: 12, taskId: task(), actor: 'u' }),
      error: UnknownWorkspaceError,
    },
    {
      name: 'malformed workspace id',
      refused: () => ledger.reserve({ workspaceId: 'nope', cost: 12, taskId: task(), actor: 'u' }),
      error: UnknownWorkspaceError,
    },
    {
      name: 'unknown workspace (grant)',
      refused: () =>
        ledger.grant({ workspaceId: randomUUID(), amount: 5, actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: UnknownWorkspaceError,
    },
    {
      name: 'unknown workspace (suspend)',
      refused: () => ledger.suspend({ workspaceId: randomUUID(), actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: UnknownWorkspaceError,
    },
    { name: 'unknown workspace (balance)', refused: () => ledger.balance(randomUUID()), error: UnknownWorkspaceError },
    {
      name: 'suspended workspace (reserve)',
      setup: (id) => ledger.suspend({ workspaceId: id, actor: 'a', reason: 'r', idempotencyKey: key() }).then(() => ''),
      refused: (id) => ledger.reserve({ workspaceId: id, cost: 6, taskId: task(), actor: 'u' }),
      error: WorkspaceSuspendedError,
    },
    {
      name: 'zero cost',
      refused: (id) => ledger.reserve({ workspaceId: id, cost: 0, taskId: task(), actor: 'u' }),
      error: LedgerValidationError,
    },
    {
      name: 'negative cost',
      refused: (id) => ledger.reserve({ workspaceId: id, cost: -12, taskId: task(), actor: 'u' }),
      error: LedgerValidationError,
    },
    {
      name: 'fractional cost',
      refused: (id) => ledger.reserve({ workspaceId: id, cost: 1.5, taskId: task(), actor: 'u' }),
      error: LedgerValidationError,
    },
    {
      name: 'unknown depth',
      refused: (id) =>
        ledger.reserve({ workspaceId: id, cost: 6, taskId: task(), actor: 'u', depth: 'huge' as 'deep' }),
      error: LedgerValidationError,
    },
    {
      name: 'empty task id',
      refused: (id) => ledger.reserve({ workspaceId: id, cost: 6, taskId: '', actor: 'u' }),
      error: LedgerValidationError,
    },
    {
      name: 'empty actor',
      refused: (id) => ledger.reserve({ workspaceId: id, cost: 6, taskId: task(), actor: '' }),
      error: LedgerValidationError,
    },
    {
      name: 'zero grant',
      refused: (id) => ledger.grant({ workspaceId: id, amount: 0, actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: 'negative grant',
      refused: (id) => ledger.grant({ workspaceId: id, amount: -5, actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: 'negative deduct',
      refused: (id) => ledger.deduct({ workspaceId: id, amount: -5, actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: 'negative allowance',
      refused: (id) =>
        ledger.setAllowance({ workspaceId: id, amount: -1, actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: 'empty reason',
      refused: (id) => ledger.grant({ workspaceId: id, amount: 5, actor: 'a', reason: '', idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: 'blank reason',
      refused: (id) => ledger.suspend({ workspaceId: id, actor: 'a', reason: '   ', idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: '501-character reason',
      refused: (id) =>
        ledger.grant({ workspaceId: id, amount: 5, actor: 'a', reason: 'x'.repeat(501), idempotencyKey: key() }),
      error: LedgerValidationError,
    },
    {
      name: 'empty idempotency key',
      refused: (id) => ledger.grant({ workspaceId: id, amount: 5, actor: 'a', reason: 'r', idempotencyKey: '' }),
      error: LedgerValidationError,
    },
    { name: 'malformed month', refused: (id) => ledger.balance(id, '2026-13'), error: LedgerValidationError },
    {
      name: 'empty release reason',
      setup: async (id) => (await ledger.reserve({ workspaceId: id, cost: 6, taskId: task(), actor: 'u' })).taskId,
      refused: (_id, t) => ledger.release({ taskId: t, actor: 'w', reason: '' }),
      error: LedgerValidationError,
    },
    {
      name: 'deduct more than the balance',
      refused: (id) => ledger.deduct({ workspaceId: id, amount: 5000, actor: 'a', reason: 'r', idempotencyKey: key() }),
      error: InsufficientCreditsError,
    },
    {
      name: 'grant key replayed with another amount',
      setup: grantKey,
      refused: (id, k) => ledger.grant({ workspaceId: id, amount: 6, actor: 'a', reason: 'r', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
    {
      name: 'grant key replayed with another reason',
      setup: grantKey,
      refused: (id, k) => ledger.grant({ workspaceId: id, amount: 5, actor: 'a', reason: 'r2', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
    {
      name: 'grant key replayed as a deduct',
      setup: grantKey,
      refused: (id, k) => ledger.deduct({ workspaceId: id, amount: 5, actor: 'a', reason: 'r', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
    {
      name: 'grant key reused for a suspend',
      setup: grantKey,
      refused: (id, k) => ledger.suspend({ workspaceId: id, actor: 'a', reason: 'r', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
    {
      name: 'grant key reused for a reserve',
      setup: grantKey,
      refused: (id, k) => ledger.reserve({ workspaceId: id, cost: 6, taskId: task(), actor: 'u', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
    {
      name: 'suspend key reused for a reserve',
      setup: async (id) => {
        const k = key();
        await ledger.suspend({ workspaceId: id, actor: 'a', reason: 'r', idempotencyKey: k });
        await ledger.resume({ workspaceId: id, actor: 'a', reason: 'back', idempotencyKey: key() });
        return k;
      },
      refused: (id, k) => ledger.reserve({ workspaceId: id, cost: 6, taskId: task(), actor: 'u', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
    {
      name: 'suspend key replayed with another reason',
      setup: async (id) => {
        const k = key();
        await ledger.suspend({ workspaceId: id, actor: 'a', reason: 'r', idempotencyKey: k });
        await ledger.resume({ workspaceId: id, actor: 'a', reason: 'back', idempotencyKey: key() });
        return k;
      },
      refused: (id, k) => ledger.suspend({ workspaceId: id, actor: 'a', reason: 'other', idempotencyKey: k }),
      error: IdempotencyConflictError,
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const ws = await freshWorkspace(ledger);
    await ledger.balance(ws.id);
    const setupResult = c.setup ? await c.setup(ws.id) : '';
    const before = await ledgerSnapshot(db, ws.id);
    const err = await c.refused(ws.id, setupResult).then(
      () => new Error('expected the request to be refused'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(c.error);
    expect(err).toBeInstanceOf(LedgerError);
    expect(typeof (err as LedgerError).code).toBe('string');
    expect(await ledgerSnapshot(db, ws.id)).toEqual(before);
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });
});

describe('the database refuses what the code must never do', () => {
  it('transactions are immutable, balances never negative, a closed hold never reopens', async () => {
    const ws = await freshWorkspace(ledger);
    const t = task();
    await ledger.reserve({ workspaceId: ws.id, cost: 6, taskId: t, actor: 'u' });
    await ledger.capture({ taskId: t, actor: 'w' });
    await expect(db('transactions').where({ workspace_id: ws.id }).update({ amount: 5 })).rejects.toThrow(/immutable/);
    await expect(db('transactions').where({ workspace_id: ws.id }).delete()).rejects.toThrow(/immutable/);
    await expect(db('balances').where({ workspace_id: ws.id }).update({ balance: -1 })).rejects.toThrow(
      /check constraint/,
    );
    await expect(db('holds').where({ task_id: t }).update({ status: 'released', close_reason: 'x' })).rejects.toThrow(
      /already captured/,
    );
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  });
});
