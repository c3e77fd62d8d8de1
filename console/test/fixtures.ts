import type { ResearchResult } from '../../core/research/contract.js';
import type { Depth } from '../../core/research/depth.js';
import type { TaskStore } from '../../core/tasks/store.js';
import type { Task } from '../../core/tasks/types.js';

export function sampleResult(
  idea: string,
  markdown: string,
  opts: { depth?: Depth; total?: number; title?: string } = {},
): ResearchResult {
  const total = opts.total ?? 68;
  return {
    markdown,
    report: {
      title: opts.title ?? `PMF: ${idea}`,
      idea,
      depth: opts.depth ?? 'standard',
      sandbox: true,
      summary: `A summary of ${idea}`,
      keyFindings: [{ text: 'Demand is real', citations: [1] }],
      score: {
        total,
        band: total >= 80 ? 'exceptional' : total >= 60 ? 'strong' : total >= 40 ? 'moderate' : 'weak',
        confidence: 'medium',
        subScores: [
          { key: 'demand', label: 'Demand', score: 15, rationale: 'r' },
          { key: 'growth', label: 'Growth', score: 13, rationale: 'r' },
          { key: 'whitespace', label: 'Whitespace', score: 11, rationale: 'r' },
          { key: 'pain', label: 'Pain', score: 16, rationale: 'r' },
          { key: 'willingness_to_pay', label: 'Willingness to pay', score: 13, rationale: 'r' },
        ],
      },
      missingSections: [],
      citations: [{ n: 1, url: 'https://www.example.com/a', title: 'Example source', domain: 'example.com' }],
    },
    usage: {
      tavilyCalls: 6,
      tavilyCredits: 12,
      cacheHits: 0,
      promptTokens: 1000,
      completionTokens: 500,
      durationMs: 95_000,
      sourcesUsed: 14,
      citationsRemoved: 0,
      figuresFlagged: 0,
      perNode: {},
    },
  };
}

/** A succeeded task with a report, as the job layer leaves it. */
export async function seedReport(
  tasks: TaskStore,
  input: {
    workspaceId: string;
    idea: string;
    markdown?: string;
    depth?: Depth;
    total?: number;
    platform?: 'slack' | 'discord' | 'console';
  },
): Promise<Task> {
  const depth = input.depth ?? 'standard';
  const { task } = await tasks.create({
    requestKey: `seed:${Math.random()}`,
    workspaceId: input.workspaceId,
    requester: { id: 'U1', name: 'maria' },
    origin:
      input.platform === 'slack' || !input.platform
        ? { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' }
        : { platform: 'console', userId: 'u' },
    idea: input.idea,
    depth,
    cost: 12,
  });
  await tasks.markStarted(task.id);
  await tasks.applyOutcome(
    task.id,
    { status: 'succeeded' },
    sampleResult(input.idea, input.markdown ?? `# ${input.idea}\n\nBody.`, { depth, total: input.total }),
  );
  return (await tasks.get(task.id))!;
}
