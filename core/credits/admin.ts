import type { Db } from '../storage/index.js';
import { metrics } from '../observability/metrics.js';
import { PLATFORMS, type Platform } from '../platform.js';
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  LedgerValidationError,
  UnknownWorkspaceError,
} from './errors.js';
import { openMonth } from './months.js';
import type { Row } from './prepared.js';
import type { LedgerReads } from './reads.js';
import { pgError, toTransaction, toWorkspace } from './rows.js';
import { checkAmount, checkId, checkReason, isUuid, monthOf, payloadHash, remainingByDepth } from './rules.js';
import type { AmountChange, LedgerTransaction, StatusChange, Workspace } from './types.js';

// Changes to workspaces outside a research: registering one on first use, and what an admin does by hand
// (grants, deductions, the monthly allowance, suspension). Each admin change names its actor and reason and
// carries an idempotency key (decision 010).

export class LedgerAdmin {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
    private readonly defaultAllowance: number,
    private readonly reads: LedgerReads,
  ) {}

  async ensureWorkspace(input: { platform: Platform; externalId: string; name: string }): Promise<Workspace> {
    if (!PLATFORMS.includes(input.platform))
      throw new LedgerValidationError('platform', `must be one of ${PLATFORMS.join(', ')}`);
    const externalId = checkId('externalId', input.externalId);
    const name = checkId('name', input.name);
    // Only a rename writes a new row version; a known workspace with the same name is returned as it is.
    const { rows: found } = (await this.db.raw(
      `INSERT INTO workspaces (platform, external_id, name, monthly_allowance, status, created_at)
       VALUES (:platform, :externalId, :name, :allowance, 'active', :now)
       ON CONFLICT (platform, external_id) DO UPDATE SET name = EXCLUDED.name WHERE workspaces.name IS DISTINCT FROM EXCLUDED.name
       RETURNING *`,
      { platform: input.platform, externalId, name, allowance: this.defaultAllowance, now: this.now() },
    )) as { rows: Row[] };
    if (found[0]) return toWorkspace(found[0]);
    const existing = await this.reads.findWorkspace(input.platform, externalId);
    if (!existing) throw new Error(`workspace ${input.platform}/${externalId} vanished during upsert`);
    return existing;
  }

  /** Adds credits to the current month. Allowed on a suspended workspace (top it up before resuming). */
  async grant(input: AmountChange): Promise<LedgerTransaction> {
    const amount = checkAmount('amount', input.amount);
    return this.adminTransaction('grant', input, amount, (balance) => ({ delta: amount, allowance: null, balance }));
  }

  /** Takes credits from the current month (an `adjust` transaction); never below zero. */
  async deduct(input: AmountChange): Promise<LedgerTransaction> {
    const amount = checkAmount('amount', input.amount);
    return this.adminTransaction('adjust', input, amount, (balance) => {
      if (amount > balance) throw new InsufficientCreditsError(balance, amount, remainingByDepth(balance));
      return { delta: -amount, allowance: null, balance };
    });
  }

  /**
   * Sets the monthly allowance from now on. The current month moves by the difference at once (an
   * `allowance` transaction), floored so the balance never goes negative; later months open with it.
   */
  async setAllowance(input: AmountChange): Promise<LedgerTransaction> {
    const amount = checkAmount('amount', input.amount, { allowZero: true });
    return this.adminTransaction('allowance', input, amount, (balance, allowance) => ({
      delta: Math.max(amount - allowance, -balance),
      allowance: amount,
      balance,
    }));
  }

  private async adminTransaction(
    type: 'grant' | 'adjust' | 'allowance',
    input: AmountChange,
    amount: number,
    plan: (balance: number, allowance: number) => { delta: number; allowance: number | null; balance: number },
  ): Promise<LedgerTransaction> {
    const reason = checkReason(input.reason);
    const actor = checkId('actor', input.actor);
    const key = checkId('idempotencyKey', input.idempotencyKey);
    if (!isUuid(input.workspaceId)) throw new UnknownWorkspaceError(String(input.workspaceId));
    const hash = payloadHash(type, { workspaceId: input.workspaceId, amount, reason });
    const replay = await this.replayTransaction(key, hash);
    if (replay) return replay;
    const month = monthOf(this.now());
    try {
      const tx = await this.db.transaction(async (trx) => {
        const ws = await trx('workspaces').where({ id: input.workspaceId }).forUpdate().first();
        if (!ws) throw new UnknownWorkspaceError(input.workspaceId);
        if (type === 'allowance')
          await trx('workspaces').where({ id: input.workspaceId }).update({ monthly_allowance: amount });
        await openMonth(trx, input.workspaceId, month, this.now());
        const current = (await trx('balances')
          .where({ workspace_id: input.workspaceId, month })
          .forUpdate()
          .first()) as Row;
        const step = plan(Number(current.balance), Number(current.allowance));
        const balanceAfter = step.balance + step.delta;
        await trx('balances')
          .where({ workspace_id: input.workspaceId, month })
          .update({
            balance: balanceAfter,
            ...(step.allowance === null ? {} : { allowance: step.allowance }),
            updated_at: this.now(),
          });
        const [row] = (await trx('transactions')
          .insert({
            workspace_id: input.workspaceId,
            month,
            type,
            amount: step.delta,
            balance_after: balanceAfter,
            actor,
            reason,
            idempotency_key: key,
            payload_hash: hash,
            created_at: this.now(),
          })
          .returning('*')) as Row[];
        return toTransaction(row);
      });
      metrics.credits.inc({ type }, Math.abs(tx.amount));
      return tx;
    } catch (err) {
      // Someone committed the same key while we worked: theirs is the first result.
      if (pgError(err)?.code === '23505') {
        const replayed = await this.replayTransaction(key, hash);
        if (replayed) return replayed;
      }
      throw err;
    }
  }

  private async replayTransaction(key: string, hash: string): Promise<LedgerTransaction | undefined> {
    const prior = (await this.db('transactions').where({ idempotency_key: key }).first()) as Row | undefined;
    if (prior) {
      if (prior.payload_hash !== hash) throw new IdempotencyConflictError(key);
      return toTransaction(prior);
    }
    if (await this.db('workspace_events').where({ idempotency_key: key }).first())
      throw new IdempotencyConflictError(key);
    return undefined;
  }

  async suspend(input: StatusChange): Promise<Workspace> {
    return this.changeStatus('suspend', input);
  }

  async resume(input: StatusChange): Promise<Workspace> {
    return this.changeStatus('resume', input);
  }

  private async changeStatus(type: 'suspend' | 'resume', input: StatusChange): Promise<Workspace> {
    const reason = checkReason(input.reason);
    const actor = checkId('actor', input.actor);
    const key = checkId('idempotencyKey', input.idempotencyKey);
    if (!isUuid(input.workspaceId)) throw new UnknownWorkspaceError(String(input.workspaceId));
    const hash = payloadHash(type, { workspaceId: input.workspaceId, reason });
    const replay = async (): Promise<Workspace | undefined> => {
      const prior = (await this.db('workspace_events').where({ idempotency_key: key }).first()) as Row | undefined;
      if (!prior) {
        if (await this.db('transactions').where({ idempotency_key: key }).first())
          throw new IdempotencyConflictError(key);
        return undefined;
      }
      if (prior.payload_hash !== hash) throw new IdempotencyConflictError(key);
      return this.reads.requireWorkspace(input.workspaceId);
    };
    const replayed = await replay();
    if (replayed) return replayed;
    try {
      return await this.db.transaction(async (trx) => {
        const [row] = (await trx('workspaces')
          .where({ id: input.workspaceId })
          .update({ status: type === 'suspend' ? 'suspended' : 'active' })
          .returning('*')) as Row[];
        if (!row) throw new UnknownWorkspaceError(input.workspaceId);
        await trx('workspace_events').insert({
          workspace_id: input.workspaceId,
          type,
          actor,
          reason,
          idempotency_key: key,
          payload_hash: hash,
          created_at: this.now(),
        });
        return toWorkspace(row);
      });
    } catch (err) {
      if (pgError(err)?.code === '23505') {
        const again = await replay();
        if (again) return again;
      }
      throw err;
    }
  }
}
