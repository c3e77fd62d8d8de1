// Tasks and research results for Slack tests, shaped exactly like core/tasks/types.ts.
import { CHECKPOINTS, type CheckpointId } from '../../../core/research/checkpoints.js';
import type { ResearchResult } from '../../../core/research/contract.js';
import type { Task } from '../../../core/tasks/types.js';

export function makeTask(over: Partial<Task> = {}, done: number = 3): Task {
  const createdAt = new Date('2026-01-01T10:00:00Z');
  return {
    id: 'R-7KQ2',
    workspaceId: '00000000-0000-0000-0000-000000000001',
    requester: { id: 'U0MARIA', name: 'maria' },
    origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U0MARIA', parentTs: '1.1', statusTs: '1.2' },
    idea: 'An app that matches dog owners with vetted sitters',
    depth: 'standard',
    cost: 12,
    status: 'running',
    checkpoints: CHECKPOINTS.slice(0, done).map((id: CheckpointId, i) => ({
      id,
      at: new Date(createdAt.getTime() + i * 1000),
    })),
    createdAt,
    ...over,
  };
}

export function makeResult(over: Partial<ResearchResult['report']> = {}): ResearchResult {
  return {
    markdown: '# PMF report\n\nBody.',
    report: {
      title: 'Dog sitters',
      idea: 'An app that matches dog owners with vetted sitters',
      depth: 'standard',
      sandbox: true,
      summary: 'Good.',
      keyFindings: [
        { text: 'Pet care spend grows 8% a year', citations: [1] },
        { text: 'Rover dominates <!channel> cities', citations: [2, 9] },
        { text: 'Owners fear untrusted sitters', citations: [] },
        { text: 'A fourth finding not shown', citations: [1] },
      ],
      score: {
        total: 68,
        band: 'strong',
        confidence: 'medium',
        subScores: [
          { key: 'demand', label: 'Demand', score: 15, rationale: '' },
          { key: 'growth', label: 'Growth', score: 13, rationale: '' },
          { key: 'whitespace', label: 'Whitespace', score: 11, rationale: '' },
          { key: 'pain', label: 'Pain', score: 16, rationale: '' },
          { key: 'willingness_to_pay', label: 'Willingness to pay', score: 13, rationale: '' },
        ],
      },
      missingSections: [],
      citations: [
        { n: 1, url: 'https://example.com/a', title: 'A', domain: 'example.com' },
        { n: 2, url: 'https://example.com/b?x=1&y=<2>|z', title: 'B', domain: 'example.com' },
      ],
      ...over,
    },
    usage: {
      tavilyCalls: 6,
      tavilyCredits: 12,
      cacheHits: 0,
      promptTokens: 1,
      completionTokens: 1,
      durationMs: 112_000,
      sourcesUsed: 14,
      citationsRemoved: 0,
      figuresFlagged: 0,
      perNode: {},
    },
  };
}
