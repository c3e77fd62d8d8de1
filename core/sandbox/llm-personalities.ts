// The sandbox LLM's personalities: the manners of the servers people really run. Each one either refuses a
// request the way that server does (OpenAI's documented error bodies; Ollama, LM Studio and llama.cpp
// refusing `tools` or `response_format`), or bends a valid answer: sloppy types, out-of-range scores, empty
// values, JSON in `content`, fenced or inside prose (decision 024, 025). chat.ts speaks the protocol and
// applies them.

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

/** A valid answer bent the way `personality` would bend it (unchanged for the others). */
export function bendAnswer(value: unknown, schema: unknown, personality: LlmPersonality): unknown {
  const root = schema as JsonSchema;
  if (personality === 'sloppy') return sloppy(value, root);
  if (personality === 'out-of-range') return outOfRange(value, root);
  if (personality === 'terse') return terse(value, root);
  return value;
}

/** What a refusal looks at in a chat-completions request. */
type RefusableRequest = { model?: string; tools?: readonly unknown[]; response_format?: { type?: string } };

function openAiError(status: number, message: string, type: string, code: string | null, param: string | null = null) {
  return { status, body: { error: { message, type, param, code } } };
}

/** OpenAI's documented error answers, and the refusals of the compatible servers, for `personality`. */
export function refusal(req: RefusableRequest, personality: LlmPersonality): ChatReply | undefined {
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

/** How the personalities that ignore `tools` put the JSON in the message content. */
export const CONTENT_STYLE: Partial<Record<LlmPersonality, (json: string) => string>> = {
  'json-in-content': (json) => json,
  'fenced-json': (json) => `\`\`\`json\n${json}\n\`\`\``,
  'prose-json': (json) =>
    `Here is the analysis you asked for, based on the sources provided.\n\n${json}\n\nLet me know if you need anything else.`,
};
