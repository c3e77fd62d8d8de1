// The sandbox Tavily's manners, as Tavily documents them (docs.tavily.com API reference and help.tavily.com
// "Errors Code"): request parameters outside their documented ranges get 400, and injectable faults answer
// with the documented status, body and headers. See docs/decisions/027 and 028.
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';

/** A refusal the sandbox Tavily can be told to give: a documented error status, its body and headers. */
export type TavilyErrorFault = {
  kind: 'tavily_error';
  /** 400 invalid parameters, 401 bad key, 432 plan limit, 433 pay-as-you-go limit, or any 5xx. */
  status: number;
  /** A 5xx from a proxy in front of Tavily: a plain-text body instead of Tavily's JSON. */
  plain?: boolean;
  retryAfterSeconds?: number;
};

export const tavilyErrorFaultSchema = z.object({
  kind: z.literal('tavily_error'),
  status: z
    .number()
    .int()
    .refine((s) => [400, 401, 432, 433].includes(s) || (s >= 500 && s <= 599), {
      message: 'status must be 400, 401, 432, 433 or 5xx',
    }),
  plain: z.boolean().optional(),
  retryAfterSeconds: z.number().min(0).optional(),
});

/** Tavily's error bodies are `{"detail":{"error":"…"}}`; these are the documented messages. */
const DOCUMENTED: Record<number, string> = {
  400: 'Bad Request: the request parameters are invalid.',
  401: 'Unauthorized: missing or invalid API key.',
  429: 'Your request has been blocked due to excessive requests. Please reduce rate of requests.',
  432: "This request exceeds your plan's set usage limit. Please upgrade your plan or contact support@tavily.com",
  433: 'This request exceeds the pay-as-you-go limit. You can increase your limit on the Tavily dashboard.',
};

export type TavilyAnswer = { status: number; contentType: string; body: string; headers: Record<string, string> };

function tavilyErrorBody(message: string): string {
  return JSON.stringify({ detail: { error: message } });
}

export function tavilyErrorAnswer(fault: TavilyErrorFault): TavilyAnswer {
  const headers: Record<string, string> =
    fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
  if (fault.plain) {
    return {
      status: fault.status,
      contentType: 'text/plain; charset=utf-8',
      body: `${fault.status} ${STATUS_CODES[fault.status] ?? 'Server Error'}`,
      headers,
    };
  }
  const message = DOCUMENTED[fault.status] ?? STATUS_CODES[fault.status] ?? 'Internal Server Error';
  return { status: fault.status, contentType: 'application/json', body: tavilyErrorBody(message), headers };
}

/** 429 as Tavily sends it: the documented body and a Retry-After header (the body names no wait). */
export function tavilyRateLimitAnswer(retryAfterSeconds: number): TavilyAnswer {
  return {
    status: 429,
    contentType: 'application/json',
    body: tavilyErrorBody(DOCUMENTED[429]!),
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}

// Documented ranges. `.passthrough()`: Tavily ignores parameters it does not validate here.
const searchBodySchema = z
  .object({
    query: z
      .string()
      .trim()
      .min(1, 'query is required.')
      .max(400, 'Query is too long. Max query length is 400 characters.'),
    search_depth: z.enum(['basic', 'advanced', 'fast', 'ultra-fast']).optional(),
    max_results: z.number().int().min(0).max(20, 'max_results must be between 0 and 20.').optional(),
    chunks_per_source: z.number().int().min(1).max(3, 'chunks_per_source must be between 1 and 3.').optional(),
  })
  .passthrough();

const extractBodySchema = z
  .object({
    urls: z.union([z.string(), z.array(z.string()).max(20, 'Max 20 URLs are allowed.')]),
    extract_depth: z.enum(['basic', 'advanced']).optional(),
    format: z.enum(['markdown', 'text']).optional(),
    timeout: z
      .number()
      .min(1, 'timeout must be between 1.0 and 60.0 seconds.')
      .max(60, 'timeout must be between 1.0 and 60.0 seconds.')
      .optional(),
    chunks_per_source: z.number().int().min(1).max(5, 'chunks_per_source must be between 1 and 5.').optional(),
  })
  .passthrough();

export type SearchBody = z.infer<typeof searchBodySchema>;
export type ExtractBody = z.infer<typeof extractBodySchema>;

type Checked<T> = { ok: true; data: T } | { ok: false; answer: TavilyAnswer };

function check<T>(schema: z.ZodType<T>, body: unknown): Checked<T> {
  // The SDK sends `undefined` options as absent keys, but a client may send null for "not set".
  const cleaned =
    body && typeof body === 'object'
      ? Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([, v]) => v !== null))
      : body;
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const what = issue?.path.join('.') || 'body';
  const message = issue?.message.endsWith('.') ? issue.message : `Invalid ${what}: ${issue?.message ?? 'invalid'}.`;
  return {
    ok: false,
    answer: { status: 400, contentType: 'application/json', body: tavilyErrorBody(message), headers: {} },
  };
}

export const checkSearchBody = (body: unknown): Checked<SearchBody> => check(searchBodySchema, body);
export const checkExtractBody = (body: unknown): Checked<ExtractBody> => check(extractBodySchema, body);
