// Structured LLM calls (zod schema in, validated object out) over @langchain/openai.
// Transport failures are retried by our policy (the SDK's own retries are off); an answer that does
// not fit the schema is asked for once more, then the step fails. See docs/decisions/022 (retries) and 023 (structured output).
import { AzureChatOpenAI, ChatOpenAI } from '@langchain/openai';
import type { BaseMessage } from '@langchain/core/messages';
import type { z } from 'zod';
import { ResearchError } from '../contract.js';
import {
  AbortedError,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  withRetry,
  type FailureClass,
  type Sleep,
} from './retry.js';
import { observed } from './observe.js';
import type { UsageMeter } from './usage.js';

export type GenerateArgs<T> = {
  /** Graph node name, for per-node token accounting (e.g. 'planner', 'market', 'report'). */
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

/**
 * `functionCalling` (default) sends the schema as a forced tool without OpenAI's strict mode, so any
 * zod schema works (optional fields, formats) on OpenAI, Azure and most compatible servers;
 * `jsonSchema` uses response_format json_schema in strict mode (decision 023).
 */
export type StructuredMethod = 'functionCalling' | 'jsonSchema';

export type LlmOptions = (
  | { kind: 'openai'; apiKey: string; baseURL?: string; model: string }
  | { kind: 'azure'; apiKey: string; endpoint: string; deployment: string; apiVersion: string }
) & { timeoutMs: number; maxRetries: number; method?: StructuredMethod; sleep?: Sleep };

type Headerish = { get?: (name: string) => string | null } | Record<string, string | undefined>;

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as Headerish;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const value = (h as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** OpenAI SDK errors keep `status` and `headers`; LangChain renames timeouts to TimeoutError. */
export function classifyLlmError(err: unknown, now = Date.now()): FailureClass {
  const e = (err && typeof err === 'object' ? err : {}) as {
    status?: unknown;
    headers?: unknown;
    name?: unknown;
    message?: unknown;
  };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (status === 429 || status === 408 || status === 409 || (status !== undefined && status >= 500)) {
    const retryAfterMs = parseRetryAfter(
      { retryAfter: header(e.headers, 'retry-after'), retryAfterMs: header(e.headers, 'retry-after-ms') },
      now,
    );
    return {
      retryable: true,
      reason: status === 429 ? 'rate limited' : `server error ${status}`,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (
    status === undefined &&
    (/Timeout|APIConnection/.test(name) ||
      /timed out|timeout|ECONNRESET|ECONNREFUSED|socket hang up|fetch failed|Connection error/i.test(message))
  ) {
    return { retryable: true, reason: /time/i.test(name + message) ? 'timed out' : 'connection error' };
  }
  return { retryable: false, reason: `${status ?? name}: ${message}`.slice(0, 300) };
}

/** Errors that mean "the model answered, but not in the requested shape". */
function isMalformedOutput(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : '';
  return (
    name === 'SyntaxError' ||
    name === 'ZodError' ||
    name === 'OutputParserException' ||
    /JSON|parse|schema/i.test(message)
  );
}

function tokenUsage(raw: BaseMessage): { prompt: number; completion: number } {
  const usage = (raw as { usage_metadata?: { input_tokens?: number; output_tokens?: number } }).usage_metadata;
  return { prompt: usage?.input_tokens ?? 0, completion: usage?.output_tokens ?? 0 };
}

const REASK =
  'Your previous answer could not be parsed against the required schema. Answer again with output that is ' +
  'valid JSON and matches the schema exactly.';

export function createStructuredLlm(opts: LlmOptions): StructuredLlm {
  // No temperature: reasoning models reject it, and the default suits extraction-style prompts.
  // maxRetries 0: the SDK must not retry on its own, so only our policy (and its accounting) applies.
  const common = { timeout: opts.timeoutMs, maxRetries: 0 };
  const model =
    opts.kind === 'azure'
      ? new AzureChatOpenAI({
          ...common,
          azureOpenAIApiKey: opts.apiKey,
          azureOpenAIEndpoint: opts.endpoint,
          azureOpenAIApiDeploymentName: opts.deployment,
          azureOpenAIApiVersion: opts.apiVersion,
        })
      : new ChatOpenAI({
          ...common,
          model: opts.model,
          apiKey: opts.apiKey,
          ...(opts.baseURL ? { configuration: { baseURL: opts.baseURL } } : {}),
        });
  const method = opts.method ?? 'functionCalling';
  const policy = { ...DEFAULT_RETRY_POLICY, maxRetries: opts.maxRetries };
  // Binding a schema converts it to JSON Schema: once per schema, not once per call.
  const bind = (schema: z.ZodType<unknown>, name: string) =>
    model.withStructuredOutput(schema, { name, method, includeRaw: true });
  const bound = new Map<string, { schema: z.ZodType<unknown>; runnable: ReturnType<typeof bind> }>();

  return {
    async generate<T>(args: GenerateArgs<T>): Promise<T> {
      let entry = bound.get(args.schemaName);
      if (entry?.schema !== args.schema) {
        entry = { schema: args.schema, runnable: bind(args.schema, args.schemaName) };
        bound.set(args.schemaName, entry);
      }
      const structured = entry.runnable;
      const messages: { role: 'system' | 'user' | 'assistant'; content: string }[] = [
        { role: 'system', content: args.system },
        { role: 'user', content: args.user },
      ];
      let problem = '';
      for (let ask = 0; ask < 2; ask++) {
        const outcome = await withRetry(
          async () => {
            try {
              return {
                kind: 'answer' as const,
                value: await observed('llm', args.node, classifyLlmError, () =>
                  structured.invoke(messages, args.signal ? { signal: args.signal } : {}),
                ),
              };
            } catch (err) {
              if (args.signal?.aborted) throw new AbortedError(args.signal.reason);
              // A parse failure thrown by the client (json_schema mode) is a bad answer, not a transport error.
              if (isMalformedOutput(err) && (err as { status?: unknown }).status === undefined)
                return { kind: 'malformed' as const, error: err };
              throw err;
            }
          },
          {
            policy,
            classify: (err) => classifyLlmError(err),
            ...(args.signal ? { signal: args.signal } : {}),
            ...(opts.sleep ? { sleep: opts.sleep } : {}),
          },
        );
        if (!outcome.ok) {
          throw new ResearchError(
            outcome.failure.retryable
              ? 'The AI model is temporarily unavailable. Please try again in a few minutes.'
              : 'The AI model rejected the request.',
            `llm ${args.node}/${args.schemaName} failed after ${outcome.attempts} attempt(s) (${outcome.why}): ${outcome.failure.reason}`,
            outcome.failure.retryable,
          );
        }
        if (outcome.value.kind === 'answer') {
          const { raw, parsed } = outcome.value.value;
          const usage = tokenUsage(raw);
          args.meter.recordTokens(args.node, usage.prompt, usage.completion);
          const checked = args.schema.safeParse(parsed);
          if (parsed !== null && parsed !== undefined && checked.success) return checked.data;
          problem = checked.success
            ? 'no structured output'
            : checked.error.issues
                .slice(0, 3)
                .map((i) => `${i.path.join('.')}: ${i.message}`)
                .join('; ');
        } else {
          problem =
            outcome.value.error instanceof Error ? outcome.value.error.message.slice(0, 200) : 'unparseable output';
        }
        messages.push({ role: 'user', content: `${REASK} Problem: ${problem}` });
      }
      throw new ResearchError(
        'The AI model returned an answer in the wrong format twice, so this step could not be completed.',
        `llm ${args.node}/${args.schemaName}: malformed structured output after a re-ask: ${problem}`,
        false,
      );
    },
  };
}
