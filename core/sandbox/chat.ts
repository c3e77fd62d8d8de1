// OpenAI chat-completions responses for the sandbox: function calling (`tools` + `tool_choice`),
// `response_format: json_schema`, `json_object` and plain text, with usage ≈ characters / 4. A personality
// gives it the manners of the servers people really run: JSON in `content`, fenced or inside prose, sloppy
// types, out-of-range scores, cut-off answers, no `usage`, refusing `tools` or `response_format` the way
// Ollama, LM Studio and llama.cpp do, and OpenAI's documented error bodies (decision 024, 025).
import { extractJson } from '../research/providers/structured-json.js';
import { generateFromSchema, parsePrompt, type PromptContext } from './schema-fill.js';
import { sandboxJudgeAnswer } from './judge.js';
import { shortHash } from './rng.js';

type ContentPart = { type?: string; text?: string };
type ChatMessage = { role?: string; content?: string | ContentPart[] | null };
type ToolDef = { type?: string; function?: { name?: string; parameters?: unknown } };

export type ChatRequest = {
  model?: string;
  messages?: ChatMessage[];
  tools?: ToolDef[];
  tool_choice?: string | { type?: string; function?: { name?: string } };
  response_format?: { type?: string; json_schema?: { name?: string; schema?: unknown } };
};

export const LLM_PERSONALITIES = [
  /** Today's perfect OpenAI: a forced tool call, or JSON honouring response_format. */
  'strict',
  /** Ignores `tools`, answers with the JSON as the message content. */
  'json-in-content',
  /** Ignores `tools`, answers with the JSON inside a ```json fence. */
  'fenced-json',
  /** Ignores `tools`, answers with a sentence, the JSON, and another sentence. */
  'prose-json',
  /** Numbers as strings, enums in upper case with spaces, nullable fields left out, extra fields. */
  'sloppy',
  /** Scores over their maximum (25 of 20, 100 of 100), as a page that talks the model into it would get. */
  'out-of-range',
  /** Valid but empty: every list empty, every text "n/a", scores at three quarters, confidence high. */
  'terse',
  /** An empty message: no tool call and no content. */
  'empty',
  /** Every answer cut off mid-JSON with finish_reason `length`. */
  'truncated',
  /** Perfect answers without a `usage` object. */
  'no-usage',
  /** 400 for any request with `tools`, as Ollama answers for a model without tool support. */
  'rejects-tools',
  /** A plain chat server: ignores `tools` (answers prose), 400 for any `response_format`. */
  'rejects-response-format',
  /** Ollama ≥ 0.5 with a model without tool support: 400 for tools, honours json_schema and json_object. */
  'ollama',
  /** LM Studio: tools and json_schema honoured, 400 for json_object ("must be 'json_schema' or 'text'"). */
  'lmstudio',
  /** vLLM: named tool_choice and json_schema honoured through guided decoding. */
  'vllm',
  /** llama.cpp server without --jinja: 500 for tools, honours json_schema and json_object. */
  'llamacpp',
  /** OpenAI's documented errors: 401 invalid_api_key, 404 model_not_found, 400 context_length_exceeded, 429 … */
  'bad-key',
  'unknown-model',
  'context-too-long',
  'quota-exhausted',
  'rate-limited',
  'server-error',
] as const;
export type LlmPersonality = (typeof LLM_PERSONALITIES)[number];

export function isPersonality(x: string): x is LlmPersonality {
  return (LLM_PERSONALITIES as readonly string[]).includes(x);
}

/** An HTTP answer: the status, the JSON body and any headers. */
export type ChatReply = { status: number; body: unknown; headers?: Record<string, string> };

type Shape =
  | { mode: 'tool'; name: string; schema: unknown }
  | { mode: 'json_schema'; name: string; schema: unknown }
  | { mode: 'json_object'; schema?: unknown }
  | { mode: 'text'; schema?: unknown };

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('\n');
  return '';
}

function promptText(req: ChatRequest): string {
  return (req.messages ?? []).map((m) => textOf(m.content)).join('\n\n');
}

/** The JSON Schema a json_object or text request carries in its prompt ("… matching this JSON Schema: {…}"). */
function schemaInPrompt(req: ChatRequest): unknown {
  const text = (req.messages ?? []).map((m) => textOf(m.content)).join('\n');
  const at = text.search(/JSON Schema:?/i);
  if (at === -1) return undefined;
  const found = extractJson(text.slice(at));
  return found.ok && found.value && typeof found.value === 'object' ? found.value : undefined;
}

/** What the caller asked for: a forced (or only) tool, a JSON schema, JSON, or text. */
function shapeOf(req: ChatRequest): Shape {
  const tools = (req.tools ?? []).filter((t) => t.function?.name);
  const forced = typeof req.tool_choice === 'object' ? req.tool_choice.function?.name : undefined;
  const tool = forced
    ? tools.find((t) => t.function?.name === forced)
    : req.tool_choice === 'none'
      ? undefined
      : tools.length === 1 || req.tool_choice === 'required'
        ? tools[0]
        : undefined;
  if (tool?.function?.name) return { mode: 'tool', name: tool.function.name, schema: tool.function.parameters ?? {} };
  const rf = req.response_format;
  if (rf?.type === 'json_schema')
    return { mode: 'json_schema', name: rf.json_schema?.name ?? 'output', schema: rf.json_schema?.schema ?? {} };
  const inPrompt = schemaInPrompt(req);
  if (rf?.type === 'json_object') return inPrompt ? { mode: 'json_object', schema: inPrompt } : { mode: 'json_object' };
  return inPrompt ? { mode: 'text', schema: inPrompt } : { mode: 'text' };
}

const tokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4));

function envelope(
  req: ChatRequest,
  message: Record<string, unknown>,
  finish: string,
  completionChars: number,
  withUsage = true,
): unknown {
  const prompt = promptText(req);
  const promptChars = prompt.length + JSON.stringify(req.tools ?? req.response_format ?? '').length;
  const promptTokens = tokens(promptChars);
  const completionTokens = tokens(completionChars);
  return {
    id: `chatcmpl-sandbox-${shortHash(prompt, 12)}`,
    object: 'chat.completion',
    created: 1_735_689_600,
    model: req.model ?? 'sandbox',
    choices: [
      { index: 0, message: { role: 'assistant', refusal: null, ...message }, logprobs: null, finish_reason: finish },
    ],
    ...(withUsage
      ? {
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
        }
      : {}),
    system_fingerprint: 'sandbox',
  };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  maximum?: number;
  nullable?: boolean;
};

function deref(s: JsonSchema | undefined, root: JsonSchema): JsonSchema {
  let cur = s ?? {};
  for (let i = 0; i < 10 && cur.$ref; i++) {
    let target: unknown = root;
    for (const p of cur.$ref.replace(/^#\/?/, '').split('/').filter(Boolean))
      target = target && typeof target === 'object' ? (target as Record<string, unknown>)[p] : undefined;
    cur = (target ?? {}) as JsonSchema;
  }
  return cur;
}

function nullable(s: JsonSchema, root: JsonSchema): boolean {
  const t = s.type;
  return (
    s.nullable === true ||
    (Array.isArray(t) && t.includes('null')) ||
    (s.anyOf ?? s.oneOf ?? []).some((a) => deref(a, root).type === 'null')
  );
}

/** The schema itself, or its first non-null alternative. */
function concrete(s: JsonSchema, root: JsonSchema): JsonSchema {
  const alternatives = s.anyOf ?? s.oneOf;
  if (!alternatives) return s;
  return deref(alternatives.find((a) => deref(a, root).type !== 'null') ?? alternatives[0], root);
}

type Visit = (value: unknown, schema: JsonSchema, field: string) => unknown;

/** Rebuilds `value` bottom-up along its schema; `visit` sees every value (objects after their children). */
function transform(
  value: unknown,
  raw: JsonSchema | undefined,
  root: JsonSchema,
  field: string,
  visit: Visit,
): unknown {
  const s = concrete(deref(raw, root), root);
  if (Array.isArray(value)) {
    const item = Array.isArray(s.items) ? s.items[0] : s.items;
    return visit(
      value.map((v) => transform(v, item, root, field, visit)),
      s,
      field,
    );
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = transform(v, s.properties?.[k], root, k, visit);
    return visit(out, s, field);
  }
  return visit(value, s, field);
}

/** What a careless model sends: numbers as strings, enums shouted, nullable fields left out, extra fields. */
function sloppy(value: unknown, root: JsonSchema): unknown {
  return transform(value, root, root, '', (v, s) => {
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string' && s.enum?.includes(v)) return `  ${v.toUpperCase()} `;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, unknown> = { ...(v as Record<string, unknown>), sandbox_note: 'an extra field' };
      for (const [k, prop] of Object.entries(s.properties ?? {})) if (nullable(deref(prop, root), root)) delete out[k];
      return out;
    }
    return v;
  });
}

/** Every bounded number pushed past its maximum: 25 of 20 and 100, alternately. */
function outOfRange(value: unknown, root: JsonSchema): unknown {
  let n = 0;
  return transform(value, root, root, '', (v, s) => {
    if (typeof v !== 'number' || s.maximum === undefined) return v;
    return n++ % 2 === 0 ? s.maximum + 5 : Math.max(100, s.maximum + 1);
  });
}

const PROSE_FIELD = /^(text|summary|overview|rationale|description|positioning|pricing)$/i;

/** A model with nothing to say: empty lists, "n/a" prose, three-quarter scores, high confidence. */
function terse(value: unknown, root: JsonSchema): unknown {
  return transform(value, root, root, '', (v, s, field) => {
    if (Array.isArray(v)) return [];
    if (typeof v === 'number' && s.maximum !== undefined) return Math.round(s.maximum * 0.75);
    if (typeof v === 'string' && s.enum?.includes('high')) return 'high';
    if (typeof v === 'string' && PROSE_FIELD.test(field)) return 'n/a';
    return v;
  });
}

function openAiError(status: number, message: string, type: string, code: string | null, param: string | null = null) {
  return { status, body: { error: { message, type, param, code } } };
}

/** OpenAI's documented error answers, and the refusals of the compatible servers, for `personality`. */
function refusal(req: ChatRequest, personality: LlmPersonality): ChatReply | undefined {
  const model = req.model ?? 'sandbox';
  const hasTools = (req.tools ?? []).length > 0;
  const format = req.response_format?.type;
  switch (personality) {
    case 'bad-key':
      return openAiError(
        401,
        'Incorrect API key provided: sk-sandb***. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      );
    case 'unknown-model':
      return openAiError(
        404,
        `The model \`${model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model_not_found',
      );
    case 'context-too-long':
      return openAiError(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9140 tokens. Please reduce the length of the messages.",
        'invalid_request_error',
        'context_length_exceeded',
        'messages',
      );
    case 'quota-exhausted':
      return openAiError(
        429,
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
        'insufficient_quota',
        'insufficient_quota',
      );
    case 'rate-limited':
      return {
        ...openAiError(
          429,
          `Rate limit reached for ${model} in organization org-sandbox on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20ms.`,
          'requests',
          'rate_limit_exceeded',
        ),
        headers: { 'retry-after-ms': '20', 'retry-after': '1' },
      };
    case 'server-error':
      return openAiError(503, 'The server is overloaded or not ready yet.', 'server_error', null);
    case 'rejects-tools':
    case 'ollama':
      return hasTools
        ? openAiError(400, `registry.ollama.ai/library/${model} does not support tools`, 'api_error', null)
        : undefined;
    case 'llamacpp':
      // llama.cpp's error object carries the HTTP code as a number.
      return hasTools
        ? {
            status: 500,
            body: { error: { code: 500, message: 'tools param requires --jinja flag', type: 'server_error' } },
          }
        : undefined;
    case 'lmstudio':
      // LM Studio's error is a bare string.
      return format === 'json_object'
        ? { status: 400, body: { error: "'response_format.type' must be 'json_schema' or 'text'" } }
        : undefined;
    case 'rejects-response-format':
      return format
        ? openAiError(400, 'Unrecognized request argument supplied: response_format', 'invalid_request_error', null)
        : undefined;
    default:
      return undefined;
  }
}

const CONTENT_STYLE: Partial<Record<LlmPersonality, (json: string) => string>> = {
  'json-in-content': (json) => json,
  'fenced-json': (json) => `\`\`\`json\n${json}\n\`\`\``,
  'prose-json': (json) =>
    `Here is the analysis you asked for, based on the sources provided.\n\n${json}\n\nLet me know if you need anything else.`,
};

/** The sandbox's answer to a chat-completions request, with the manners of `personality`. */
export function chatReply(req: ChatRequest, personality: LlmPersonality = 'strict'): ChatReply {
  const refused = refusal(req, personality);
  if (refused) return refused;
  const ok = (message: Record<string, unknown>, finish: string, chars: number): ChatReply => ({
    status: 200,
    body: envelope(req, message, finish, chars, personality !== 'no-usage'),
  });
  const prompt = promptText(req);
  const shape = shapeOf(req);
  const messages = req.messages ?? [];
  const context: PromptContext = parsePrompt(
    messages
      .filter((m) => m.role !== 'system' && m.role !== 'developer')
      .map((m) => textOf(m.content))
      .join('\n\n'),
    messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => textOf(m.content))
      .join('\n\n'),
  );
  if (personality === 'empty') return ok({ content: '' }, 'stop', 0);
  const prose = `Sandbox answer about ${context.topic.join(' ')}: this response is synthetic.`;
  // A plain chat server that ignores `tools` answers in prose.
  if (personality === 'rejects-response-format' && shape.mode === 'tool')
    return ok({ content: prose }, 'stop', prose.length);
  const schema = 'schema' in shape ? shape.schema : undefined;
  if (schema === undefined) {
    const content =
      shape.mode === 'json_object'
        ? JSON.stringify({ summary: generateFromSchema({ type: 'string' }, context, prompt) })
        : prose;
    return ok({ content }, 'stop', content.length);
  }
  const name = 'name' in shape ? shape.name : 'output';
  const root = schema as JsonSchema;
  // An evaluation judge's question is answered from its fenced data; everything else from the schema.
  let value = sandboxJudgeAnswer(prompt) ?? generateFromSchema(schema, context, `${name}\n${prompt}`);
  if (personality === 'sloppy') value = sloppy(value, root);
  if (personality === 'out-of-range') value = outOfRange(value, root);
  if (personality === 'terse') value = terse(value, root);
  let json = JSON.stringify(value);
  let finish = shape.mode === 'tool' ? 'tool_calls' : 'stop';
  if (personality === 'truncated') {
    json = json.slice(0, Math.floor(json.length * 0.6));
    finish = 'length';
  }
  const style = CONTENT_STYLE[personality];
  if (style) {
    const content = style(personality === 'json-in-content' ? json : JSON.stringify(value, null, 2));
    return ok({ content }, finish === 'tool_calls' ? 'stop' : finish, content.length);
  }
  if (shape.mode === 'tool') {
    const call = { id: `call_${shortHash(prompt + name, 16)}`, type: 'function', function: { name, arguments: json } };
    return ok({ content: null, tool_calls: [call] }, finish, json.length);
  }
  return ok({ content: json }, finish, json.length);
}

/** A well-formed HTTP answer whose structured output is cut off mid-JSON. */
export function malformedCompletion(req: ChatRequest): unknown {
  const shape = shapeOf(req);
  const broken = '{"summary": "The market is growing at 12.5% a year and';
  if (shape.mode === 'tool') {
    return envelope(
      req,
      {
        content: null,
        tool_calls: [{ id: 'call_malformed', type: 'function', function: { name: shape.name, arguments: broken } }],
      },
      'tool_calls',
      broken.length,
    );
  }
  return envelope(req, { content: broken }, 'stop', broken.length);
}
