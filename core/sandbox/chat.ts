// OpenAI chat-completions responses for the sandbox: function calling (`tools` + `tool_choice`),
// `response_format: json_schema`, `json_object` and plain text, with usage ≈ characters / 4. A personality
// gives it the manners of the servers people really run: JSON in `content`, fenced or inside prose, sloppy
// types, out-of-range scores, cut-off answers, no `usage`, refusing `tools` or `response_format` the way
// Ollama, LM Studio and llama.cpp do, and OpenAI's documented error bodies (decision 024, 025); what each one
// does is in llm-personalities.ts, how the answer is built here.
import { extractJson } from '../research/providers/structured-json.js';
import { parsePrompt, type PromptContext } from './prompt-context.js';
import { generateFromSchema } from './schema-fill.js';
import { sandboxJudgeAnswer } from './judge.js';
import { bendAnswer, CONTENT_STYLE, refusal, type ChatReply, type LlmPersonality } from './llm-personalities.js';
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
  // An evaluation judge's question is answered from its fenced data; everything else from the schema.
  const value = bendAnswer(
    sandboxJudgeAnswer(prompt) ?? generateFromSchema(schema, context, `${name}\n${prompt}`),
    schema,
    personality,
  );
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
