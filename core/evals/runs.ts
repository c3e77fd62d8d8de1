// Reads the runs folder for the console's Evals page: each run's headline figures, newest first.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const nullableNumber = z.number().nullable();
const summarySchema = z.object({
  config: z.object({
    startedAt: z.string(),
    depth: z.string(),
    model: z.string(),
    judgeModel: z.string(),
    sandbox: z.boolean(),
    version: z.string(),
  }),
  finishedAt: z.string(),
  totals: z.object({
    ideas: z.number(),
    failed: z.number(),
    citationPrecision: nullableNumber,
    supportedPerReport: nullableNumber,
    figureFidelity: nullableNumber,
    coverage: nullableNumber,
    rubric: z.object({ mean: nullableNumber }),
    tokensPerReport: nullableNumber,
    moneyPerReport: nullableNumber,
  }),
});

export type RunSummary = z.infer<typeof summarySchema> & { name: string };

/** A run folder's name: the UTC start time, `2026-12-04T17-20-05Z`, optionally with a suffix. */
const RUN_NAME = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z[\w-]*$/;

export function runFolderName(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

/** The runs in `root` that have a readable scorecard; folders still running or unreadable are left out. */
export async function listRuns(root: string): Promise<RunSummary[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const runs: RunSummary[] = [];
  for (const name of names.filter((n) => RUN_NAME.test(n))) {
    try {
      const parsed = summarySchema.safeParse(
        JSON.parse(await readFile(path.join(root, name, 'scorecard.json'), 'utf8')),
      );
      if (parsed.success) runs.push({ ...parsed.data, name });
    } catch {
      // No scorecard yet (the run is in progress or was interrupted): not listed.
    }
  }
  return runs.sort((a, b) => b.name.localeCompare(a.name));
}

/** One run's scorecard Markdown and chart, or undefined for a name that is not a run in `root`. */
export async function readRunFiles(root: string, name: string): Promise<{ markdown: string; svg: string } | undefined> {
  // The name comes from a URL: only a run-shaped name is joined to the path, so nothing outside `root` is read.
  if (!RUN_NAME.test(name)) return undefined;
  try {
    const dir = path.join(root, name);
    const [markdown, svg] = await Promise.all([
      readFile(path.join(dir, 'scorecard.md'), 'utf8'),
      readFile(path.join(dir, 'chart.svg'), 'utf8').catch(() => ''),
    ]);
    return { markdown, svg };
  } catch {
    return undefined;
  }
}
