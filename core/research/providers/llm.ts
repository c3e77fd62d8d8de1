// Structured LLM calls (zod schema in, validated object out) over @langchain/openai.
import type { z } from 'zod';
import type { UsageMeter } from './usage.js';

export type GenerateArgs<T> = {
  /** Graph node name, for per-node token/time accounting (e.g. 'planner', 'market', 'report'). */
  node: string;
  schemaName: string;
  schema: z.ZodType<T>;
  system: string;
  user: string;
  meter: UsageMeter;
  signal?: AbortSignal;
};

export interface StructuredLlm {
  generate<T>(args: GenerateArgs<T>): Promise<T>;
}

export type LlmOptions = (
  | { kind: 'openai'; apiKey: string; baseURL?: string; model: string }
  | { kind: 'azure'; apiKey: string; endpoint: string; deployment: string; apiVersion: string }
) & { timeoutMs: number; maxRetries: number };

export function createStructuredLlm(opts: LlmOptions): StructuredLlm {
  void opts;
  throw new Error('not implemented yet');
}
