import { describe, expect, it } from '@jest/globals';
import { InsufficientCreditsError, LedgerValidationError, WorkspaceSuspendedError } from '../../core/credits/index.js';
import { JobsError } from '../../core/jobs/index.js';
import { discordWords } from '../discord/render.js';
import { slackWords } from '../slack/render.js';
import { insufficientCredits, jobsRefusal, refusalText } from './flow.js';

const remaining = { essential: 1, standard: 0, deep: 0 };

describe('our typed errors, recognised by their stable code', () => {
  it('reads what an InsufficientCreditsError carries', () => {
    expect(insufficientCredits(new InsufficientCreditsError(7, 12, remaining))).toEqual({
      balance: 7,
      cost: 12,
      remaining,
    });
  });

  it('recognises an error made by another copy of the class (same code and fields), not a look-alike without them', () => {
    const copy = Object.assign(new Error('not enough credits'), {
      code: 'insufficient_credits',
      balance: 0,
      cost: 6,
      remaining: { essential: 0, standard: 0, deep: 0 },
    });
    expect(insufficientCredits(copy)).toMatchObject({ balance: 0, cost: 6 });
    expect(insufficientCredits(Object.assign(new Error('x'), { code: 'insufficient_credits' }))).toBeUndefined();
    expect(insufficientCredits(new LedgerValidationError('amount', 'must be positive'))).toBeUndefined();
  });

  it('reads a JobsError by its name and code', () => {
    expect(jobsRefusal(new JobsError('forbidden', 'Only the requester.'))).toEqual({
      code: 'forbidden',
      message: 'Only the requester.',
    });
    expect(jobsRefusal(Object.assign(new Error('boom'), { code: 'forbidden' }))).toBeUndefined();
    expect(jobsRefusal('forbidden')).toBeUndefined();
  });
});

describe('refusalText', () => {
  it.each([
    ['slack', slackWords],
    ['discord', discordWords],
  ] as const)('%s: says every refusal of ours, and that nothing was charged', (_platform, words) => {
    const said = [
      refusalText(new InsufficientCreditsError(7, 12, remaining), 'standard', words),
      refusalText(new WorkspaceSuspendedError('w1'), 'standard', words),
      refusalText(new JobsError('invalid', 'That idea is empty.'), 'standard', words),
    ];
    for (const text of said) expect(text).toMatch(/Nothing was charged/);
    expect(said[0]).toContain('essential');
    expect(said[2]).toContain('That idea is empty.');
  });

  it('leaves anything else to the platform', () => {
    expect(refusalText(new Error('socket hang up'), 'standard', slackWords)).toBeUndefined();
    expect(refusalText(new JobsError('not_found', 'There is no research R-1.'), 'deep', discordWords)).toBeUndefined();
  });
});
