// Structured LLM calls (zod schema in, validated object out) over @langchain/openai, for OpenAI, Azure and
// the OpenAI-compatible servers people run (Ollama, LM Studio, vLLM, llama.cpp). The answer is read from a
// tool call or from `content` (plain, fenced or inside prose), repaired where its meaning is unambiguous,
// then validated; in `auto` mode a server that refuses a method gets the next one (decision 024). Transport
// failures are retried by our policy (decision 022); provider refusals are named (decision 025) in
// llm-errors.ts.
import { AzureChatOpenAI, ChatOpenAI } from '@langchain/openai';
import type { AIMessage } from '@langchain/core/messages';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import type { z } from 'zod';
import { ResearchError } from '../contract.js';
import { classifyLlmError, llmResearchError, type LlmFailure } from './llm-errors.js';
import { AbortedError, DEFAULT_RETRY_POLICY, withRetry, type Sleep } from './retry.js';
import { observed } from './observe.js';
import { coerceToSchema, extractJson } from './structured-json.js';
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
 * How the schema is asked for (LLM_STRUCTURED_OUTPUT): a forced function `tools` call, `response_format`
 * `json_schema` or `json_object`, or plain `text` with the schema in the prompt. `auto` starts with what
 * worked last for this server and model (tools at first) and falls back when the server refuses.
 */
export const STRUCTURED_OUTPUT_MODES = ['auto', 'tools', 'json_schema', 'json_object', 'text'] as const;
export type StructuredOutputMode = (typeof STRUCTURED_OUTPUT_MODES)[number];
type Method = Exclude<StructuredOutputMode, 'auto'>;
const FALLBACK_ORDER: readonly Method[] = ['tools', 'json_schema', 'json_object', 'text'];

export type LlmOptions = (
  | { kind: 'openai'; apiKey: string; baseURL?: string; model: string }
  | { kind: 'azure'; apiKey: string; endpoint: string; deployment: string; apiVersion: string }
) & { timeoutMs: number; maxRetries: number; structuredOutput?: StructuredOutputMode; sleep?: Sleep };

/** What worked per server and model, for the life of the process: a fallback is paid for once, not per call. */
const learned = new Map<string, Method>();

type Answer = {
  /** The tool call's arguments (already parsed by LangChain) or the text holding the JSON. */
  payload: { parsed: unknown } | { text: string };
  finishReason?: string;
};

type Ask =
  | { kind: 'ok'; value: unknown }
  | { kind: 'refused'; failure: LlmFailure }
  | { kind: 'no_json'; problem: string; ignored: boolean }
  | { kind: 'cut_off' }
  | { kind: 'invalid'; problem: string };

const REASK_INVALID =
  'Your previous answer did not match the required JSON schema. Answer again with one JSON object that matches it exactly. Problem: ';
const REASK_NO_JSON = 'Your previous answer held no JSON. Answer again with only one JSON object matching the schema.';
const REASK_SHORTER =
  'Your previous answer was cut off at your length limit. Answer again, much shorter: at most 3 items in any list ' +
  'and one or two sentences in any text field.';

/** Prompt text that carries the schema when the request itself cannot (json_object, text). */
function schemaInstruction(jsonSchema: unknown): string {
  return (
    '\n\nAnswer with one JSON object and nothing else (no prose, no Markdown fence), matching this JSON Schema:\n' +
    JSON.stringify(jsonSchema)
  );
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p === 'string' ? p : ((p as { text?: string }).text ?? ''))).join('');
  return '';
}

function readAnswer(msg: AIMessage): Answer {
  const finishReason = (msg.response_metadata as { finish_reason?: string } | undefined)?.finish_reason;
  const call = msg.tool_calls?.[0];
  if (call) return { payload: { parsed: call.args }, ...(finishReason ? { finishReason } : {}) };
  const invalid = msg.invalid_tool_calls?.[0];
  // Some servers send `arguments` as an object instead of a JSON string; LangChain then files it as invalid.
  const rawArgs: unknown = invalid?.args;
  if (rawArgs && typeof rawArgs === 'object')
    return { payload: { parsed: rawArgs }, ...(finishReason ? { finishReason } : {}) };
  if (typeof rawArgs === 'string' && rawArgs)
    return { payload: { text: rawArgs }, ...(finishReason ? { finishReason } : {}) };
  return { payload: { text: textOf(msg.content) }, ...(finishReason ? { finishReason } : {}) };
}

function malformed(where: string, methods: string, problem: string): ResearchError {
  return new ResearchError(
    'The AI model returned an answer in the wrong format twice, so this step could not be completed and nothing was charged.',
    `llm ${where}: malformed structured output after a re-ask (${methods}): ${problem}`,
    false,
  );
}

/**
 * The JSON Schema with its local `$ref`s (zod-to-json-schema points repeats at their first use) replaced by
 * what they point at: a small model reading the schema in its prompt, or a server turning it into a grammar,
 * then needs no pointer resolution. Our schemas are not recursive; depth is capped all the same.
 */
export function inlineRefs(node: unknown, root: unknown, depth = 0): unknown {
  if (Array.isArray(node)) return node.map((n) => inlineRefs(n, root, depth));
  if (!node || typeof node !== 'object') return node;
  const { $ref, ...rest } = node as Record<string, unknown>;
  if (typeof $ref === 'string' && $ref.startsWith('#') && depth < 20) {
    let target: unknown = root;
    for (const part of $ref.replace(/^#\/?/, '').split('/').filter(Boolean))
      target = target && typeof target === 'object' ? (target as Record<string, unknown>)[part] : undefined;
    if (target !== undefined) return inlineRefs({ ...(target as object), ...rest }, root, depth + 1);
  }
  return Object.fromEntries(Object.entries(node as object).map(([k, v]) => [k, inlineRefs(v, root, depth)]));
}

const estimate = (chars: number): number => Math.max(1, Math.ceil(chars / 4));

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

export function createStructuredLlm(opts: LlmOptions): StructuredLlm {
  // No temperature: reasoning models reject it, and the default suits extraction-style prompts.
  // maxRetries 0: the SDK must not retry on its own, so only our policy (and its accounting) applies.
  const common = { timeout: opts.timeoutMs, maxRetries: 0 };
  const azure = opts.kind === 'azure';
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
  const serverKey =
    opts.kind === 'azure' ? `azure ${opts.endpoint} ${opts.deployment}` : `${opts.baseURL ?? 'openai'} ${opts.model}`;
  const mode = opts.structuredOutput ?? 'auto';
  const policy = { ...DEFAULT_RETRY_POLICY, maxRetries: opts.maxRetries };
  // Converting a schema to JSON Schema once per schema, not once per call.
  const jsonSchemas = new WeakMap<z.ZodTypeAny, unknown>();
  const jsonSchemaOf = (schema: z.ZodTypeAny): unknown => {
    let s = jsonSchemas.get(schema);
    if (s === undefined) {
      const { $schema: _drop, ...rest } = toJsonSchema(schema) as Record<string, unknown>;
      void _drop;
      s = inlineRefs(rest, rest);
      jsonSchemas.set(schema, s);
    }
    return s;
  };

  function methodsToTry(): Method[] {
    if (mode !== 'auto') return [mode];
    const first = learned.get(serverKey) ?? 'tools';
    return [first, ...FALLBACK_ORDER.filter((m) => m !== first)];
  }

  async function call(
    method: Method,
    messages: { role: 'system' | 'user'; content: string }[],
    args: GenerateArgs<unknown>,
    jsonSchema: unknown,
  ): Promise<{ ok: true; msg: AIMessage } | { ok: false; failure: LlmFailure; attempts: number; why: string }> {
    const signal = args.signal ? { signal: args.signal } : {};
    const options =
      method === 'tools'
        ? {
            ...signal,
            tools: [
              {
                type: 'function' as const,
                function: {
                  name: args.schemaName,
                  description: `Record the ${args.schemaName}`,
                  parameters: jsonSchema as Record<string, unknown>,
                },
              },
            ],
            tool_choice: { type: 'function' as const, function: { name: args.schemaName } },
          }
        : method === 'json_schema'
          ? {
              ...signal,
              response_format: {
                type: 'json_schema' as const,
                json_schema: { name: args.schemaName, schema: jsonSchema as Record<string, unknown>, strict: false },
              },
            }
          : method === 'json_object'
            ? { ...signal, response_format: { type: 'json_object' as const } }
            : signal;
    const outcome = await withRetry(
      async () => {
        try {
          return await observed('llm', args.node, classifyLlmError, () => model.invoke(messages, options));
        } catch (err) {
          if (args.signal?.aborted) throw new AbortedError(args.signal.reason);
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
    if (outcome.ok) return { ok: true, msg: outcome.value as AIMessage };
    return { ok: false, failure: classifyLlmError(outcome.error), attempts: outcome.attempts, why: outcome.why };
  }

  /** One method: an answer, and at most one re-ask when it was cut off, held no JSON or did not validate. */
  async function ask(method: Method, args: GenerateArgs<unknown>): Promise<Ask> {
    const schema = args.schema as z.ZodTypeAny;
    const jsonSchema = jsonSchemaOf(schema);
    const carriesSchema = method === 'json_object' || method === 'text';
    const messages: { role: 'system' | 'user'; content: string }[] = [
      { role: 'system', content: carriesSchema ? args.system + schemaInstruction(jsonSchema) : args.system },
      { role: 'user', content: args.user },
    ];
    let last: Ask = { kind: 'no_json', problem: 'no answer', ignored: false };
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await call(method, messages, args, jsonSchema);
      if (!res.ok) {
        // json_schema answers are parsed by the OpenAI client itself, which throws on non-JSON content or a cut-off.
        const name = res.failure.reason;
        if (
          method === 'json_schema' &&
          res.failure.kind === 'bad_request' &&
          /LengthFinishReason|length limit/i.test(name)
        )
          last = { kind: 'cut_off' };
        else if (method === 'json_schema' && res.failure.kind === 'bad_request' && /SyntaxError|JSON/i.test(name))
          last = { kind: 'no_json', problem: 'the answer was not JSON', ignored: true };
        else
          return {
            kind: 'refused',
            failure: { ...res.failure, reason: `${res.attempts} attempt(s) (${res.why}): ${res.failure.reason}` },
          };
      } else {
        const answer = readAnswer(res.msg);
        record(
          args,
          res.msg,
          messages,
          answer,
          method === 'tools' || method === 'json_schema' ? jsonSchema : undefined,
        );
        const extracted =
          'parsed' in answer.payload
            ? { ok: true as const, value: answer.payload.parsed }
            : extractJson(answer.payload.text);
        if (!extracted.ok) {
          // Prose where a tool call or JSON was asked for means the server ignored the method; a JSON that
          // never closes was an attempt, worth one re-ask the same way.
          const ignored =
            !('parsed' in answer.payload) &&
            !res.msg.invalid_tool_calls?.length &&
            !/never closes/.test(extracted.reason);
          last =
            answer.finishReason === 'length'
              ? { kind: 'cut_off' }
              : { kind: 'no_json', problem: extracted.reason, ignored };
        } else {
          const checked = schema.safeParse(coerceToSchema(schema, extracted.value));
          if (checked.success) return { kind: 'ok', value: checked.data };
          last =
            answer.finishReason === 'length'
              ? { kind: 'cut_off' }
              : { kind: 'invalid', problem: issues(checked.error) };
        }
      }
      // A server that ignores the requested method and says no JSON at all is asked the next way instead.
      if (mode === 'auto' && attempt === 0 && last.kind === 'no_json' && last.ignored) return last;
      messages.push({
        role: 'user',
        content:
          last.kind === 'cut_off'
            ? REASK_SHORTER
            : last.kind === 'invalid'
              ? `${REASK_INVALID}${last.problem}`
              : REASK_NO_JSON,
      });
    }
    return last;
  }

  function record(
    args: GenerateArgs<unknown>,
    msg: AIMessage,
    messages: { content: string }[],
    answer: Answer,
    schemaSent: unknown,
  ): void {
    const usage = msg.usage_metadata;
    if (usage && (usage.input_tokens > 0 || usage.output_tokens > 0)) {
      args.meter.recordTokens(args.node, usage.input_tokens, usage.output_tokens);
      return;
    }
    // No `usage` in the answer (some compatible servers omit it): estimated as characters / 4, and marked so.
    const promptChars =
      messages.reduce((n, m) => n + m.content.length, 0) + (schemaSent ? JSON.stringify(schemaSent).length : 0);
    const completionChars =
      'parsed' in answer.payload ? JSON.stringify(answer.payload.parsed ?? '').length : answer.payload.text.length;
    args.meter.recordTokens(args.node, estimate(promptChars), estimate(completionChars), true);
  }

  return {
    async generate<T>(args: GenerateArgs<T>): Promise<T> {
      const where = `${args.node}/${args.schemaName}`;
      const tried: string[] = [];
      let outcome: Ask | undefined;
      for (const method of methodsToTry()) {
        outcome = await ask(method, args as GenerateArgs<unknown>);
        tried.push(method);
        if (outcome.kind === 'ok') {
          if (mode === 'auto') learned.set(serverKey, method);
          return outcome.value as T;
        }
        const fallBack =
          mode === 'auto' &&
          ((outcome.kind === 'refused' && outcome.failure.kind === 'unsupported_method') ||
            (outcome.kind === 'no_json' && outcome.ignored));
        if (!fallBack) break;
      }
      const methods = `method${tried.length > 1 ? 's' : ''} ${tried.join(', ')}`;
      switch (outcome?.kind) {
        case 'refused':
          throw llmResearchError({ ...outcome.failure, reason: `${methods}, ${outcome.failure.reason}` }, where, azure);
        case 'cut_off':
          throw new ResearchError(
            'The AI model’s answer was cut off at its length limit, even when asked to be brief, so the research ' +
              'stopped and nothing was charged. An admin can raise the model’s output limit or choose a larger model.',
            `llm ${where}: the model's answer was cut off at its length limit (finish_reason length) after a shorter re-ask (${methods})`,
            false,
          );
        case 'no_json':
          if (outcome.ignored)
            throw new ResearchError(
              'The AI model did not answer in the structured form the research needs, so nothing was charged. ' +
                'If it keeps happening, an admin should check the model and LLM_STRUCTURED_OUTPUT.',
              `llm ${where}: no JSON in the answer (${methods}): ${outcome.problem}`,
              false,
            );
          throw malformed(where, methods, outcome.problem);
        default:
          throw malformed(where, methods, outcome?.kind === 'invalid' ? outcome.problem : 'no answer');
      }
    },
  };
}
