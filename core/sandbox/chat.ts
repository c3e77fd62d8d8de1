// OpenAI chat-completions responses for the sandbox: function calling (`tools` + `tool_choice`),
// `response_format: json_schema`, `json_object` and plain text, with usage ≈ characters / 4.
import { generateFromSchema, parsePrompt } from './schema-fill.js';
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

type Shape =
  | { mode: 'tool'; name: string; schema: unknown }
  | { mode: 'json_schema'; name: string; schema: unknown }
  | { mode: 'json_object' }
  | { mode: 'text' };

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('\n');
  return '';
}

function promptText(req: ChatRequest): string {
  return (req.messages ?? []).map((m) => textOf(m.content)).join('\n\n');
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
  if (rf?.type === 'json_object') return { mode: 'json_object' };
  return { mode: 'text' };
}

const tokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4));

function envelope(
  req: ChatRequest,
  message: Record<string, unknown>,
  finish: string,
  completionChars: number,
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
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
    system_fingerprint: 'sandbox',
  };
}

export function chatCompletion(req: ChatRequest): unknown {
  const prompt = promptText(req);
  const shape = shapeOf(req);
  const messages = req.messages ?? [];
  const context = parsePrompt(
    messages
      .filter((m) => m.role !== 'system' && m.role !== 'developer')
      .map((m) => textOf(m.content))
      .join('\n\n'),
    messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => textOf(m.content))
      .join('\n\n'),
  );
  if (shape.mode === 'tool') {
    const args = JSON.stringify(generateFromSchema(shape.schema, context, `${shape.name}\n${prompt}`));
    const call = {
      id: `call_${shortHash(prompt + shape.name, 16)}`,
      type: 'function',
      function: { name: shape.name, arguments: args },
    };
    return envelope(req, { content: null, tool_calls: [call] }, 'tool_calls', args.length);
  }
  if (shape.mode === 'json_schema') {
    const content = JSON.stringify(generateFromSchema(shape.schema, context, `${shape.name}\n${prompt}`));
    return envelope(req, { content }, 'stop', content.length);
  }
  if (shape.mode === 'json_object') {
    const content = JSON.stringify({ summary: generateFromSchema({ type: 'string' }, context, prompt) });
    return envelope(req, { content }, 'stop', content.length);
  }
  const content = `Sandbox answer about ${context.topic.join(' ')}: this response is synthetic.`;
  return envelope(req, { content }, 'stop', content.length);
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
