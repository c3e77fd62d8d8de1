import { describe, expect, it } from '@jest/globals';
import { projectTask, recordsOf, withCheckpoint } from './projection.js';
import type { TaskDoc } from './doc.js';

const t = (s: number) => new Date(Date.UTC(2026, 10, 22, 8, 0, s));

function doc(over: Partial<TaskDoc> = {}): TaskDoc {
  return {
    _id: 'R-7KQ2',
    id: 'R-7KQ2',
    requestKey: 'k',
    workspaceId: 'w',
    requester: { id: 'U1' },
    origin: { platform: 'console', userId: 'U1' },
    idea: 'an app for dog sitters',
    depth: 'essential',
    cost: 6,
    status: 'running',
    checkpoints: [{ id: 'received', at: t(0) }],
    checkpointIds: ['received'],
    keywords: [],
    attempts: 1,
    createdAt: t(0),
    ...over,
  };
}

const failed = {
  status: 'failed' as const,
  error: { userMessage: 'The research failed.', detail: 'boom' },
  refunded: 6,
};

describe('projectTask', () => {
  it('shows every recorded checkpoint in completion order, whatever the document lost', () => {
    const projected = projectTask(doc(), {
      events: [
        { id: 'received', at: t(0) },
        { id: 'credits_reserved', at: t(1) },
        { id: 'queued', at: t(1) },
        { id: 'delivered', at: t(9) },
      ],
    });
    expect(projected.checkpoints.map((c) => c.id)).toEqual(['received', 'credits_reserved', 'queued', 'delivered']);
    expect(projected.checkpointIds).toEqual(['received', 'credits_reserved', 'queued', 'delivered']);
  });

  it('keeps a checkpoint that is only on the document (written before the event log existed)', () => {
    const projected = projectTask(doc(), { events: [{ id: 'queued', at: t(2) }] });
    expect(projected.checkpoints).toEqual([
      { id: 'received', at: t(0) },
      { id: 'queued', at: t(2) },
    ]);
  });

  it('proves `received` by the document itself and `delivered` by the delivery record of a success', () => {
    const delivered = { at: t(9) };
    const succeeded = { outcome: { status: 'succeeded' as const }, at: t(8) };
    const lost = doc({ checkpoints: [], checkpointIds: [], report: { markdown: '#', json: {} as never } });
    expect(
      projectTask(lost, { events: [{ id: 'queued', at: t(2) }], delivered, outcome: succeeded }).checkpoints,
    ).toEqual([
      { id: 'received', at: t(0) },
      { id: 'queued', at: t(2) },
      { id: 'delivered', at: t(9) },
    ]);
    // A delivery that failed for good, or the final message of a failure, is no `delivered` checkpoint.
    const ids = (records: Parameters<typeof projectTask>[1]) => projectTask(lost, records).checkpointIds;
    expect(ids({ events: [], delivered: { at: t(9), failedPermanently: 'gone' }, outcome: succeeded })).toEqual([
      'received',
    ]);
    expect(ids({ events: [], delivered, outcome: { outcome: failed, at: t(8) } })).toEqual(['received']);
  });

  it('restores a lost delivery mark and cancel request from their guards', () => {
    const projected = projectTask(doc(), {
      events: [],
      delivered: { at: t(9) },
      cancel: { by: 'U2', at: t(5) },
    });
    expect(projected.deliveredAt).toEqual(t(9));
    expect(projected.cancelRequested).toEqual({ by: 'U2', at: t(5) });
  });

  it('shows why a delivery could never succeed before the document says so', () => {
    const projected = projectTask(doc(), {
      events: [],
      delivered: { at: t(9), failedPermanently: 'slack chat.update: channel_not_found' },
    });
    expect(projected.delivery).toEqual({ failedPermanently: 'slack chat.update: channel_not_found' });
    expect(projectTask(doc(), { events: [], delivered: { at: t(9) } }).delivery).toBeUndefined();
  });

  it('never moves a delivery mark the document already has', () => {
    expect(projectTask(doc({ deliveredAt: t(8) }), { events: [], delivered: { at: t(9) } }).deliveredAt).toEqual(t(8));
  });

  it('shows a decided failure with its reason and refund', () => {
    const projected = projectTask(doc(), { events: [], outcome: { outcome: failed, at: t(7) } });
    expect(projected).toMatchObject({ status: 'failed', error: failed.error, refunded: 6, finishedAt: t(7) });
  });

  it('shows a decided success only once the report is stored', () => {
    const outcome = { outcome: { status: 'succeeded' as const }, at: t(7) };
    expect(projectTask(doc(), { events: [], outcome }).status).toBe('running');
    const report = { markdown: '# Report', json: {} as never };
    expect(projectTask(doc({ report }), { events: [], outcome }).status).toBe('succeeded');
  });

  it('leaves the document alone when it already agrees with the records', () => {
    const agreeing = doc({ status: 'failed', error: failed.error, refunded: 6, finishedAt: t(3) });
    const projected = projectTask(agreeing, {
      events: [{ id: 'received', at: t(0) }],
      outcome: { outcome: failed, at: t(7) },
    });
    expect(projected).toEqual(agreeing);
  });

  it('adds a checkpoint to a task in time order, once', () => {
    const task = doc({
      checkpoints: [
        { id: 'received', at: t(1) },
        { id: 'started', at: t(5) },
      ],
    });
    const queued = withCheckpoint(task, 'queued', t(3));
    expect(queued.checkpoints.map((c) => c.id)).toEqual(['received', 'queued', 'started']);
    expect(withCheckpoint(queued, 'queued', t(9))).toBe(queued);
  });
});

describe('recordsOf', () => {
  it("reads the task's outcome, delivery and cancel guards, and no other task's", () => {
    const events = [{ id: 'queued' as const, at: t(1) }];
    const records = recordsOf('R-7KQ2', events, [
      { _id: 'R-7KQ2:outcome', taskId: 'R-7KQ2', at: t(5), outcome: failed },
      { _id: 'R-7KQ2:delivered', taskId: 'R-7KQ2', at: t(6), failedPermanently: 'channel_not_found' },
      { _id: 'R-7KQ2:cancel', taskId: 'R-7KQ2', at: t(4) },
      { _id: 'R-OTHER:outcome', taskId: 'R-OTHER', at: t(3), outcome: { status: 'succeeded' } },
    ]);
    expect(records).toEqual({
      events,
      outcome: { outcome: failed, at: t(5) },
      delivered: { at: t(6), failedPermanently: 'channel_not_found' },
      cancel: { by: 'unknown', at: t(4) },
    });
  });

  it('leaves out what no guard proves', () => {
    expect(recordsOf('R-7KQ2', [], [{ _id: 'R-7KQ2:delivery:0', taskId: 'R-7KQ2', at: t(2), owner: 'run-1' }])).toEqual(
      {
        events: [],
      },
    );
  });
});
