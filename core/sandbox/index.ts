// Local Tavily- and OpenAI-compatible servers: synthetic but deterministic research providers for
// sandbox mode (PMF_SANDBOX=1), tests and benchmarks. The real SDK clients talk to them over HTTP.
// One HTTP server serves both APIs: Tavily at `/search` and `/extract`, OpenAI at `/v1/chat/completions`
// (and Azure's `/openai/deployments/<d>/chat/completions`). Control endpoints for out-of-process tests:
// POST /_sandbox/faults `{ target, fault, times? }` or `{ clear: true }`, POST /_sandbox/latency
// `{ search?, extract?, llm? }` (ms), GET /_sandbox/calls, POST /_sandbox/personality `{ personality, times? }`
// (the LLM's manners; also per request by `model: "sandbox:<personality>"` or an `x-sandbox-personality`
// header, so an out-of-process CLI run can choose one). See docs/decisions/020, 021 and 024. The sandbox
// Tavily answers errors and out-of-range parameters as Tavily documents them (tavily-api.ts, decision 027).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { extractPage, isBrokenUrl, searchResults } from './corpus.js';
import {
  checkExtractBody,
  checkSearchBody,
  tavilyErrorAnswer,
  tavilyErrorFaultSchema,
  tavilyRateLimitAnswer,
  type ExtractBody,
  type SearchBody,
  type TavilyAnswer,
  type TavilyErrorFault,
} from './tavily-api.js';
import { chatReply, malformedCompletion, type ChatRequest } from './chat.js';
import { isPersonality, LLM_PERSONALITIES, type LlmPersonality } from './llm-personalities.js';

export { LLM_PERSONALITIES, type LlmPersonality } from './llm-personalities.js';

export type SandboxTarget = 'search' | 'extract' | 'llm';

export type Fault =
  | { kind: 'rate_limit'; retryAfterSeconds: number }
  | { kind: 'server_error' }
  | { kind: 'hang' }
  | { kind: 'malformed' }
  | TavilyErrorFault;

export type SandboxLatency = { search: number; extract: number; llm: number };

export type Sandbox = {
  /** Pass as TAVILY_API_URL / apiBaseURL. Also serves POST /_sandbox/faults. */
  tavilyUrl: string;
  /** Pass as OPENAI_BASE_URL (ends in /v1). */
  openaiUrl: string;
  injectFault(target: SandboxTarget, fault: Fault, times?: number): void;
  clearFaults(): void;
  /** Requests received per target (faulted ones included). */
  calls: { search: number; extract: number; llm: number };
  setLatency(l: Partial<SandboxLatency>): void;
  /** The LLM's manners for the next `times` requests (default: until changed); 'strict' is today's OpenAI. */
  setPersonality(personality: LlmPersonality, times?: number): void;
  close(): Promise<void>;
};

export type SandboxOptions = { port?: number; latencyMs?: Partial<SandboxLatency> };

const targetSchema = z.enum(['search', 'extract', 'llm']);
export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rate_limit'), retryAfterSeconds: z.number().min(0) }),
  z.object({ kind: z.literal('server_error') }),
  z.object({ kind: z.literal('hang') }),
  z.object({ kind: z.literal('malformed') }),
  tavilyErrorFaultSchema,
]);
const faultRequestSchema = z.union([
  z.object({ clear: z.literal(true) }),
  z
    .object({ target: targetSchema, fault: faultSchema, times: z.number().int().min(1).default(1) })
    .refine((f) => f.target !== 'llm' || f.fault.kind !== 'tavily_error', {
      message: 'a tavily_error fault applies to search or extract only',
    }),
]);
const personalitySchema = z.object({
  personality: z.enum(LLM_PERSONALITIES),
  times: z.number().int().min(1).optional(),
});
const latencySchema = z
  .object({ search: z.number().min(0), extract: z.number().min(0), llm: z.number().min(0) })
  .partial()
  .strict();

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const latency: SandboxLatency = { search: 0, extract: 0, llm: 0, ...opts.latencyMs };
  const calls = { search: 0, extract: 0, llm: 0 };
  const faults: Record<SandboxTarget, { fault: Fault; remaining: number }[]> = { search: [], extract: [], llm: [] };
  const timers = new Set<NodeJS.Timeout>();
  let personality: { name: LlmPersonality; remaining?: number } = { name: 'strict' };
  const setPersonality = (name: LlmPersonality, times?: number): void => {
    personality = times === undefined ? { name } : { name, remaining: times };
  };
  /** The request's model name (`sandbox:json-in-content`, optionally `:any-tag`) wins, then the header, then the server's setting. */
  const personalityFor = (req: IncomingMessage, body: ChatRequest): LlmPersonality => {
    const fromModel = /^sandbox:([a-z-]+)(?::.*)?$/.exec(body.model ?? '')?.[1];
    if (fromModel && isPersonality(fromModel)) return fromModel;
    const fromHeader = req.headers['x-sandbox-personality'];
    if (typeof fromHeader === 'string' && isPersonality(fromHeader)) return fromHeader;
    const current = personality.name;
    if (personality.remaining !== undefined && --personality.remaining <= 0) personality = { name: 'strict' };
    return current;
  };

  const injectFault = (target: SandboxTarget, fault: Fault, times = 1): void => {
    if (target === 'llm' && fault.kind === 'tavily_error')
      throw new Error('a tavily_error fault applies to search or extract only');
    faults[target].push({ fault, remaining: times });
  };
  const clearFaults = (): void => {
    (Object.keys(faults) as SandboxTarget[]).forEach((t) => (faults[t] = []));
  };
  const takeFault = (target: SandboxTarget): Fault | undefined => {
    const head = faults[target][0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) faults[target].shift();
    return head.fault;
  };
  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.add(t);
        });
  // The configured latency is the whole answer time, as a remote provider's is: the time a request waited for
  // this one thread, and the time spent making and serializing the answer, count toward it instead of being
  // added after it (a benchmark's ideal path assumes exactly it, also with 60 requests in at once).
  const answerWithin = async (arrived: number, ms: number, make: () => unknown): Promise<string> => {
    // Making an answer blocks this thread; requests that came in together first all note their arrival.
    await new Promise((resolve) => setImmediate(resolve));
    const text = JSON.stringify(make());
    await sleep(ms - (performance.now() - arrived));
    return text;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const body = err instanceof HttpError ? err.body : { error: String(err) };
      if (!res.headersSent) sendJson(res, status, body);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    if (req.method === 'GET' && path === '/_sandbox/calls') return sendJson(res, 200, calls);
    if (req.method !== 'POST') throw new HttpError(404, { detail: { error: `No route ${req.method} ${path}` } });
    const body = await readJson(req);
    if (path === '/_sandbox/faults') return controlFaults(body, res);
    if (path === '/_sandbox/personality') {
      const parsed = personalitySchema.safeParse(body);
      if (!parsed.success)
        throw new HttpError(400, { error: `expected { personality: ${LLM_PERSONALITIES.join(' | ')}, times? }` });
      setPersonality(parsed.data.personality, parsed.data.times);
      return sendJson(res, 200, { ok: true, ...personality });
    }
    if (path === '/_sandbox/latency') {
      const parsed = latencySchema.safeParse(body);
      if (!parsed.success) throw new HttpError(400, { error: 'expected { search?, extract?, llm? } in milliseconds' });
      Object.assign(latency, parsed.data);
      return sendJson(res, 200, latency);
    }
    if (path === '/search' || path === '/extract') {
      const target = path === '/search' ? 'search' : 'extract';
      requireBearer(req, 'tavily');
      calls[target] += 1;
      const fault = takeFault(target);
      if (fault) return sendTavilyFault(res, fault);
      // Parameters outside Tavily's documented ranges get its 400, as the real API answers them.
      const checked = target === 'search' ? checkSearchBody(body) : checkExtractBody(body);
      if (!checked.ok) return sendTavilyAnswer(res, checked.answer);
      const answer = await answerWithin(arrived, latency[target], () =>
        target === 'search' ? searchResponse(checked.data as SearchBody) : extractResponse(checked.data as ExtractBody),
      );
      return sendJsonText(res, 200, answer);
    }
    if (path.endsWith('/chat/completions')) {
      requireBearer(req, 'openai');
      calls.llm += 1;
      const fault = takeFault('llm');
      const request = body as ChatRequest;
      if (fault?.kind === 'malformed') {
        return sendJsonText(res, 200, await answerWithin(arrived, latency.llm, () => malformedCompletion(request)));
      }
      if (fault) return sendOpenAiFault(res, fault);
      const manners = personalityFor(req, request);
      let reply: ReturnType<typeof chatReply> | undefined;
      const text = await answerWithin(arrived, latency.llm, () => (reply = chatReply(request, manners)).body);
      return sendJsonText(res, reply?.status ?? 200, text, reply?.headers);
    }
    throw new HttpError(404, { error: { message: `No route POST ${path}`, type: 'invalid_request_error' } });
  }

  function controlFaults(body: unknown, res: ServerResponse): void {
    const parsed = faultRequestSchema.safeParse(body);
    if (!parsed.success) throw new HttpError(400, { error: parsed.error.issues.map((i) => i.message).join('; ') });
    if ('clear' in parsed.data) clearFaults();
    else injectFault(parsed.data.target, parsed.data.fault, parsed.data.times);
    sendJson(res, 200, { ok: true });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  return {
    tavilyUrl: base,
    openaiUrl: `${base}/v1`,
    injectFault,
    clearFaults,
    calls,
    setLatency: (l) => Object.assign(latency, l),
    setPersonality,
    close: async () => {
      timers.forEach((t) => clearTimeout(t));
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hung requests would otherwise keep the server open forever.
        server.closeAllConnections();
      });
    },
  };
}

function searchResponse(body: SearchBody): unknown {
  const hits = searchResults(body.query, body.max_results ?? 5);
  const credits = body.search_depth === 'advanced' ? 2 : 1;
  return {
    query: body.query,
    answer: null,
    images: [],
    follow_up_questions: null,
    results: hits.map((h) => ({
      title: h.title,
      url: h.url,
      content: h.content,
      score: h.score,
      raw_content: null,
      published_date: h.publishedDate,
    })),
    response_time: 0.42,
    usage: { credits },
    request_id: `sandbox-${Date.now().toString(36)}`,
  };
}

function extractResponse(body: ExtractBody): unknown {
  const urls = Array.isArray(body.urls) ? body.urls : [body.urls];
  const ok = urls.filter((u) => !isBrokenUrl(u));
  const perGroup = body.extract_depth === 'advanced' ? 2 : 1;
  return {
    results: ok.map((u) => {
      const page = extractPage(u);
      return { url: u, title: page.title, raw_content: page.rawContent, images: [] };
    }),
    failed_results: urls.filter(isBrokenUrl).map((u) => ({ url: u, error: 'Failed to fetch url' })),
    response_time: 0.87,
    usage: { credits: Math.ceil(ok.length / 5) * perGroup },
    request_id: `sandbox-${Date.now().toString(36)}`,
  };
}

function sendTavilyAnswer(res: ServerResponse, answer: TavilyAnswer): void {
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'content-length': Buffer.byteLength(answer.body),
    ...answer.headers,
  });
  res.end(answer.body);
}

function sendTavilyFault(res: ServerResponse, fault: Fault): void {
  switch (fault.kind) {
    case 'rate_limit':
      return sendTavilyAnswer(res, tavilyRateLimitAnswer(fault.retryAfterSeconds));
    case 'tavily_error':
      return sendTavilyAnswer(res, tavilyErrorAnswer(fault));
    case 'server_error':
      // Tavily's documented 500 carries its usual JSON body, which @tavily/core turns into a bare message.
      return sendTavilyAnswer(res, tavilyErrorAnswer({ kind: 'tavily_error', status: 500 }));
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"results": [ {"url": "https://truncated');
      return;
    case 'hang':
      return; // never answer: the client's timeout must fire.
  }
}

function sendOpenAiFault(res: ServerResponse, fault: Exclude<Fault, { kind: 'malformed' }>): void {
  switch (fault.kind) {
    case 'rate_limit':
      return sendJson(
        res,
        429,
        {
          error: {
            message: 'Rate limit reached for requests (sandbox fault).',
            type: 'requests',
            code: 'rate_limit_exceeded',
          },
        },
        { 'retry-after': String(fault.retryAfterSeconds) },
      );
    case 'server_error':
      return sendJson(res, 500, {
        error: {
          message: 'The server had an error while processing your request (sandbox fault).',
          type: 'server_error',
        },
      });
    case 'hang':
      return;
  }
}

function requireBearer(req: IncomingMessage, api: 'tavily' | 'openai'): void {
  const auth = req.headers.authorization ?? '';
  const azureKey = req.headers['api-key'];
  if (/^Bearer \S+/.test(auth) || (api === 'openai' && typeof azureKey === 'string' && azureKey.length > 0)) return;
  throw new HttpError(
    401,
    api === 'tavily'
      ? { detail: { error: 'Unauthorized: missing or invalid API key.' } }
      : { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } },
  );
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, { detail: { error: 'Request body is not valid JSON.' } });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

function sendJsonText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
