// The evaluation idea set (`evals/ideas.jsonl`): one product idea per line, with what a good report must at
// least cover. Read and validated here so a typo in a hand-edited line fails with its line number.
import { z } from 'zod';
import { MAX_IDEA_LENGTH } from '../research/depth.js';

const RequirementSchema = z.object({
  /** What a reader must find, in words a judge can check ("named pet-care competitors"). */
  item: z.string().min(3),
  /** Any one of these (case-insensitive) in the report counts as the deterministic match. */
  keywords: z.array(z.string().min(1)).min(1),
});

const EvalIdeaSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,60}$/, 'lower-case letters, digits and dashes'),
  kind: z.string().min(2),
  idea: z.string().min(10).max(MAX_IDEA_LENGTH),
  mustCover: z.array(RequirementSchema).min(1),
});

export type Requirement = z.infer<typeof RequirementSchema>;
export type EvalIdea = z.infer<typeof EvalIdeaSchema>;

export class IdeaSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdeaSetError';
  }
}

/** Parses a JSON-lines idea set; blank lines and `#` comments are skipped; ids must be unique. */
export function parseIdeaSet(text: string, file = 'ideas.jsonl'): EvalIdea[] {
  const ideas: EvalIdea[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new IdeaSetError(`${file}:${i + 1}: not valid JSON (${(err as Error).message}).`);
    }
    const parsed = EvalIdeaSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new IdeaSetError(`${file}:${i + 1}: ${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}.`);
    }
    if (seen.has(parsed.data.id)) throw new IdeaSetError(`${file}:${i + 1}: duplicate id "${parsed.data.id}".`);
    seen.add(parsed.data.id);
    ideas.push(parsed.data);
  });
  if (ideas.length === 0) throw new IdeaSetError(`${file}: no ideas found.`);
  return ideas;
}
