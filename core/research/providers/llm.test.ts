// The LLM client against the sandbox over real HTTP: structured-output methods, fallback, coercion, errors and
// usage. Long because every documented server answer is a case here; they share one sandbox and one client.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { parseEnv } from '../../config/env.js';
import { testRedis, uniquePrefix } from '../../../test/helpers/storage.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { extractPage, searchResults } from '../../sandbox/corpus.js';
import { needsAdmin, ResearchError } from '../contract.js';
import { ReportDraftSchema } from '../schemas.js';
import type { LlmPersonality } from '../../sandbox/index.js';
import { createProviders } from './index.js';
import { classifyLlmError } from './llm-errors.js';
import { createStructuredLlm, inlineRefs, type LlmOptions, type StructuredOutputMode } from './llm.js';
import { abortableSleep, type Sleep } from './retry.js';
import { UsageMeter } from './usage.js';

let sandbox: Sandbox;
const redis = testRedis();
const prefix = uniquePrefix('llm');

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterEach(() => {
  sandbox.clearFaults();
  sandbox.setPersonality('strict');
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await sandbox.close();
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

function llm(overrides: Partial<Pick<LlmOptions, 'timeoutMs' | 'maxRetries' | 'structuredOutput' | 'sleep'>> = {}) {
  return createStructuredLlm({
    kind: 'openai',
    apiKey: 'sk-test',
    baseURL: sandbox.openaiUrl,
    model: 'gpt-4o-mini',
    timeoutMs: 5000,
    maxRetries: 3,
    sleep: async () => undefined,
    ...overrides,
  });
}

const pages = searchResults('dog sitter marketplace', 4).map((h) => extractPage(h.url));
const user = `Idea: an app that matches dog owners with sitters\n<sources>\n${pages
  .map((p, i) => `[S${i + 1}] ${p.title} (${p.url})\n${p.rawContent.slice(0, 3000)}`)
  .join('\n\n')}\n</sources>`;
const sourceIds = ['S1', 'S2', 'S3', 'S4'];

const claim = z.object({ text: z.string(), citations: z.array(z.string()).min(1).max(3) });
const SCHEMAS = {
  plan: z.object({
    product: z.string(),
    targetCustomer: z.string(),
    problem: z.string(),
    category: z.string(),
    queries: z.array(z.string()).length(3),
  }),
  market: z.object({
    summary: z.string(),
    marketSize: claim,
    trends: z.array(claim).min(2).max(5),
    risks: z.array(z.string()).max(3).optional(),
    confidence: z.enum(['low', 'medium', 'high']),
  }),
  score: z.object({
    subScores: z
      .array(
        z.object({
          key: z.enum(['demand', 'growth', 'whitespace', 'pain', 'willingness_to_pay']),
          score: z.number().int().min(0).max(20),
          rationale: z.string(),
          sourceIds: z.array(z.string()).min(1),
        }),
      )
      .length(5),
    total: z.number().int().min(0).max(100),
    recommendations: z.array(z.string()).min(3).max(5),
  }),
};

describe('structured output through ChatOpenAI', () => {
  it.each(Object.entries(SCHEMAS) as [string, z.ZodType<unknown>][])(
    'returns schema-valid %s output and records tokens for the node',
    async (name, schema) => {
      const meter = new UsageMeter();
      const out = await llm().generate({
        node: name,
        schemaName: name,
        schema,
        system: 'You are a market analyst.',
        user,
        meter,
      });
      expect(schema.safeParse(out).success).toBe(true);
      const usage = meter.snapshot().perNode[name]!;
      expect(usage.promptTokens).toBeGreaterThan(user.length / 4 - 10);
      expect(usage.completionTokens).toBeGreaterThan(0);
    },
  );

  it('cites only the sources the prompt listed', async () => {
    const out = await llm().generate({
      node: 'market',
      schemaName: 'market',
      schema: SCHEMAS.market,
      system: 's',
      user,
      meter: new UsageMeter(),
    });
    for (const c of [out.marketSize, ...out.trends]) expect(sourceIds).toEqual(expect.arrayContaining(c.citations));
  });

  it('works with the json_schema response format too, for strict-compatible schemas', async () => {
    const out = await llm({ structuredOutput: 'json_schema' }).generate({
      node: 'plan',
      schemaName: 'plan',
      schema: SCHEMAS.plan,
      system: 's',
      user,
      meter: new UsageMeter(),
    });
    expect(SCHEMAS.plan.safeParse(out).success).toBe(true);
  });

  it('is deterministic for the same prompt', async () => {
    const args = { node: 'plan', schemaName: 'plan', schema: SCHEMAS.plan, system: 's', user, meter: new UsageMeter() };
    expect(await llm().generate(args)).toEqual(await llm().generate(args));
  });
});

describe('malformed structured output', () => {
  it.each(['tools', 'json_schema'] as const)('is re-asked once and then accepted (%s)', async (method) => {
    sandbox.injectFault('llm', { kind: 'malformed' });
    const before = sandbox.calls.llm;
    const meter = new UsageMeter();
    const out = await llm({ structuredOutput: method }).generate({
      node: 'plan',
      schemaName: 'plan',
      schema: SCHEMAS.plan,
      system: 's',
      user,
      meter,
    });
    expect(SCHEMAS.plan.safeParse(out).success).toBe(true);
    expect(sandbox.calls.llm - before).toBe(2);
  });

  it('fails the step with a non-retryable ResearchError when the re-ask is malformed too', async () => {
    sandbox.injectFault('llm', { kind: 'malformed' }, 2);
    const before = sandbox.calls.llm;
    const meter = new UsageMeter();
    const err = await llm()
      .generate({ node: 'report', schemaName: 'score', schema: SCHEMAS.score, system: 's', user, meter })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResearchError);
    expect(err).toMatchObject({
      retryable: false,
      userMessage: expect.stringMatching(/wrong format/),
      detail: expect.stringMatching(/^llm report\/score: malformed structured output/),
    });
    expect(sandbox.calls.llm - before).toBe(2);
    // Both answers were paid for.
    expect(meter.snapshot().perNode.report!.completionTokens).toBeGreaterThan(0);
  });
});

describe('transport faults', () => {
  function recordingSleep(): { sleep: Sleep; waits: number[] } {
    const waits: number[] = [];
    return { waits, sleep: (ms, signal) => (waits.push(ms), abortableSleep(Math.min(ms, 1500), signal)) };
  }

  it('honours Retry-After on 429', async () => {
    const { sleep, waits } = recordingSleep();
    sandbox.injectFault('llm', { kind: 'rate_limit', retryAfterSeconds: 1 });
    const before = sandbox.calls.llm;
    await llm({ sleep }).generate({
      node: 'plan',
      schemaName: 'plan',
      schema: SCHEMAS.plan,
      system: 's',
      user,
      meter: new UsageMeter(),
    });
    expect(sandbox.calls.llm - before).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(waits[0]).toBeLessThanOrEqual(1100);
  });

  it('retries 500s with backoff and succeeds', async () => {
    const { sleep, waits } = recordingSleep();
    sandbox.injectFault('llm', { kind: 'server_error' }, 2);
    const before = sandbox.calls.llm;
    await llm({ sleep }).generate({
      node: 'plan',
      schemaName: 'plan',
      schema: SCHEMAS.plan,
      system: 's',
      user,
      meter: new UsageMeter(),
    });
    expect(sandbox.calls.llm - before).toBe(3);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(250);
    expect(waits[1]).toBeGreaterThanOrEqual(500);
  });

  it('retries a hang past the timeout and then fails with a retryable ResearchError', async () => {
    sandbox.injectFault('llm', { kind: 'hang' }, 2);
    const before = sandbox.calls.llm;
    const err = await llm({ timeoutMs: 300, maxRetries: 1 })
      .generate({ node: 'plan', schemaName: 'plan', schema: SCHEMAS.plan, system: 's', user, meter: new UsageMeter() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResearchError);
    // Under jest's VM modules the SDK cannot recognise its own timeout abort (another realm's DOMException)
    // and reports "Connection error"; under plain Node it is a TimeoutError. Both must be retried.
    expect(err).toMatchObject({
      retryable: true,
      detail: expect.stringMatching(
        /llm plan\/plan: transient: method tools, 2 attempt\(s\) \(exhausted\): (timed out|connection error)/,
      ),
    });
    expect(sandbox.calls.llm - before).toBe(2);
  });

  it('stops promptly on abort without retrying', async () => {
    sandbox.injectFault('llm', { kind: 'hang' }, 5);
    const before = sandbox.calls.llm;
    const controller = new AbortController();
    const run = llm({ timeoutMs: 30_000 }).generate({
      node: 'plan',
      schemaName: 'plan',
      schema: SCHEMAS.plan,
      system: 's',
      user,
      meter: new UsageMeter(),
      signal: controller.signal,
    });
    await waitFor(() => sandbox.calls.llm > before);
    const started = Date.now();
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(sandbox.calls.llm - before).toBe(1);
  });
});

describe('Azure OpenAI', () => {
  it('reaches the deployment URL with the api-key header through AzureChatOpenAI', async () => {
    const before = sandbox.calls.llm;
    const azure = createStructuredLlm({
      kind: 'azure',
      apiKey: 'az-key',
      endpoint: sandbox.tavilyUrl,
      deployment: 'gpt-4o-mini',
      apiVersion: '2024-10-21',
      timeoutMs: 5000,
      maxRetries: 0,
    });
    const meter = new UsageMeter();
    const out = await azure.generate({
      node: 'plan',
      schemaName: 'plan',
      schema: SCHEMAS.plan,
      system: 's',
      user,
      meter,
    });
    expect(SCHEMAS.plan.safeParse(out).success).toBe(true);
    expect(sandbox.calls.llm - before).toBe(1);
    expect(meter.snapshot().promptTokens).toBeGreaterThan(0);
  });
});

describe('createProviders', () => {
  it('wires Tavily and the LLM to the sandbox from the environment', async () => {
    const env = parseEnv({ ...process.env, PMF_SANDBOX: '1', OPENAI_API_KEY: '', TAVILY_API_KEY: '' });
    const { search, llm: model } = createProviders(
      env,
      redis,
      { tavilyUrl: sandbox.tavilyUrl, openaiUrl: sandbox.openaiUrl },
      { cachePrefix: prefix },
    );
    const meter = new UsageMeter();
    const hits = await search.search({ query: 'vertical farming kits', searchDepth: 'basic', maxResults: 5 }, meter);
    const { pages: extracted } = await search.extract({ urls: hits.map((h) => h.url), extractDepth: 'basic' }, meter);
    const out = await model.generate({
      node: 'market',
      schemaName: 'market',
      schema: SCHEMAS.market,
      system: 's',
      user: `Idea: vertical farming kits\n${extracted.map((p, i) => `[S${i + 1}] ${p.rawContent.slice(0, 1000)}`).join('\n')}`,
      meter,
    });
    expect(SCHEMAS.market.safeParse(out).success).toBe(true);
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 2, tavilyCredits: 2, cacheHits: 0 });
    expect(meter.snapshot().promptTokens).toBeGreaterThan(0);
  });
});

let tag = 0;
/** A client whose model name selects the sandbox personality; the tag keeps each test's learned method its own. */
function personality(p: LlmPersonality, structuredOutput: StructuredOutputMode = 'auto', sleep?: Sleep) {
  tag += 1;
  return createStructuredLlm({
    kind: 'openai',
    apiKey: 'sk-test',
    baseURL: sandbox.openaiUrl,
    model: `sandbox:${p}:t${tag}`,
    timeoutMs: 5000,
    maxRetries: 2,
    structuredOutput,
    sleep: sleep ?? (async () => undefined),
  });
}

const reportArgs = (meter = new UsageMeter()) => ({
  node: 'report',
  schemaName: 'pmf_report',
  schema: ReportDraftSchema,
  system: 'You write the report.',
  user,
  meter,
});

async function failureOf(run: Promise<unknown>): Promise<ResearchError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ResearchError);
  return err as ResearchError;
}

describe('answers where the JSON is not a tool call', () => {
  it.each(['json-in-content', 'fenced-json', 'prose-json'] as const)(
    '%s: read from content on the first call, in auto and in tools mode',
    async (p) => {
      for (const mode of ['auto', 'tools'] as const) {
        const before = sandbox.calls.llm;
        const out = await personality(p, mode).generate(reportArgs());
        expect(ReportDraftSchema.safeParse(out).success).toBe(true);
        expect(sandbox.calls.llm - before).toBe(1);
      }
    },
  );

  it('sloppy types are coerced, not re-asked', async () => {
    const before = sandbox.calls.llm;
    const out = await personality('sloppy').generate(reportArgs());
    expect(sandbox.calls.llm - before).toBe(1);
    expect(out.confidence).toMatch(/^(low|medium|high)$/);
    for (const s of Object.values(out.subScores)) expect(typeof s.score).toBe('number');
    expect(out).not.toHaveProperty('sandbox_note');
  });

  it('out-of-range scores are clamped into 0–20, not re-asked', async () => {
    const before = sandbox.calls.llm;
    const out = await personality('out-of-range').generate(reportArgs());
    expect(sandbox.calls.llm - before).toBe(1);
    expect(Object.values(out.subScores).map((s) => s.score)).toEqual([20, 20, 20, 20, 20]);
  });

  it('terse answers are valid and delivered as they are', async () => {
    const out = await personality('terse').generate(reportArgs());
    expect(out.keyFindings).toEqual([]);
    expect(out.confidence).toBe('high');
  });

  it('a missing usage is estimated from characters and marked as an estimate', async () => {
    const meter = new UsageMeter();
    await personality('no-usage').generate(reportArgs(meter));
    const snap = meter.snapshot();
    expect(snap.tokensEstimated).toBe(true);
    expect(snap.promptTokens).toBeGreaterThan(user.length / 4);
    expect(snap.completionTokens).toBeGreaterThan(50);
    const exact = new UsageMeter();
    await personality('strict').generate(reportArgs(exact));
    expect(exact.snapshot().tokensEstimated).toBe(false);
  });
});

describe('auto falls back and remembers what worked', () => {
  it('a server that rejects tools (Ollama) is asked with json_schema, then straight away next time', async () => {
    const llmClient = personality('rejects-tools');
    let before = sandbox.calls.llm;
    expect(ReportDraftSchema.safeParse(await llmClient.generate(reportArgs())).success).toBe(true);
    expect(sandbox.calls.llm - before).toBe(2);
    before = sandbox.calls.llm;
    await llmClient.generate(reportArgs());
    expect(sandbox.calls.llm - before).toBe(1);
  });

  it('llama.cpp’s 500 for tools is a refused method, not an outage to retry', async () => {
    const before = sandbox.calls.llm;
    await personality('llamacpp').generate(reportArgs());
    expect(sandbox.calls.llm - before).toBe(2);
  });

  it('a plain chat server (prose for tools, 400 for response_format) ends with the schema in the prompt', async () => {
    const llmClient = personality('rejects-response-format');
    let before = sandbox.calls.llm;
    expect(ReportDraftSchema.safeParse(await llmClient.generate(reportArgs())).success).toBe(true);
    expect(sandbox.calls.llm - before).toBe(4);
    before = sandbox.calls.llm;
    await llmClient.generate(reportArgs());
    expect(sandbox.calls.llm - before).toBe(1);
  });

  it('an explicit method the server refuses is a named refusal, not a fallback', async () => {
    const before = sandbox.calls.llm;
    const err = await failureOf(personality('lmstudio', 'json_object').generate(reportArgs()));
    expect(sandbox.calls.llm - before).toBe(1);
    expect(err.retryable).toBe(false);
    expect(err.userMessage).toMatch(/LLM_STRUCTURED_OUTPUT/);
    expect(err.detail).toMatch(/unsupported_method: method json_object.*must be 'json_schema' or 'text'/);
  });

  it('an empty answer to every method is a refusal that says so', async () => {
    const before = sandbox.calls.llm;
    const err = await failureOf(personality('empty').generate(reportArgs()));
    expect(sandbox.calls.llm - before).toBe(4);
    expect(err.detail).toMatch(/no JSON in the answer \(methods tools, json_schema, json_object, text\)/);
  });
});

describe('answers cut off at the length limit', () => {
  it('are re-asked shorter once, and the cut-off is named if it persists', async () => {
    const before = sandbox.calls.llm;
    const err = await failureOf(personality('truncated').generate(reportArgs()));
    expect(sandbox.calls.llm - before).toBe(2);
    expect(err.userMessage).toMatch(/cut off at its length limit/);
    expect(err.detail).toMatch(/cut off at its length limit \(finish_reason length\)/);
  });

  it.each(['tools', 'json_schema', 'text'] as const)(
    'a single cut-off is recovered by the shorter re-ask (%s)',
    async (mode) => {
      sandbox.setPersonality('truncated', 1);
      const before = sandbox.calls.llm;
      const out = await llm({ structuredOutput: mode }).generate(reportArgs());
      expect(ReportDraftSchema.safeParse(out).success).toBe(true);
      expect(sandbox.calls.llm - before).toBe(2);
    },
  );
});

describe('provider refusals are named (OpenAI’s documented errors)', () => {
  it.each([
    ['bad-key', 'bad_credentials', 'OPENAI_API_KEY'],
    ['unknown-model', 'unknown_model', 'OPENAI_MODEL'],
    ['quota-exhausted', 'quota_exhausted', undefined],
  ] as const)('%s: %s, needs an admin, no retry, no secret', async (p, kind, setting) => {
    const before = sandbox.calls.llm;
    const err = await failureOf(personality(p).generate(reportArgs()));
    expect(sandbox.calls.llm - before).toBe(1);
    expect(err.failure).toMatchObject({ provider: 'llm', kind, ...(setting ? { setting } : {}) });
    expect(needsAdmin(err.failure)).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.userMessage).toMatch(/admin/);
    if (setting) expect(err.userMessage).toContain(setting);
    expect(err.userMessage).not.toMatch(/sk-|sandb\*/);
  });

  it('context too long: named, not retried, not an admin problem', async () => {
    const err = await failureOf(personality('context-too-long').generate(reportArgs()));
    expect(err.failure).toMatchObject({ provider: 'llm', kind: 'context_too_long' });
    expect(needsAdmin(err.failure)).toBe(false);
    expect(err.retryable).toBe(false);
    expect(err.userMessage).toMatch(/more text than the AI model can read/);
  });

  it('rate limited: retry-after-ms is honoured, then the call succeeds', async () => {
    const waits: number[] = [];
    sandbox.setPersonality('rate-limited', 1);
    const before = sandbox.calls.llm;
    const out = await llm({ sleep: async (ms) => void waits.push(ms) }).generate(reportArgs());
    expect(ReportDraftSchema.safeParse(out).success).toBe(true);
    expect(sandbox.calls.llm - before).toBe(2);
    // retry-after-ms (20) wins over retry-after (1 s).
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(20);
    expect(waits[0]).toBeLessThan(100);
  });

  it.each([
    ['rate-limited', 'rate_limited'],
    ['server-error', 'transient'],
  ] as const)('%s for good: %s, retryable, after every retry', async (p, kind) => {
    const before = sandbox.calls.llm;
    const err = await failureOf(personality(p).generate(reportArgs()));
    expect(sandbox.calls.llm - before).toBe(3);
    expect(err.failure).toMatchObject({ provider: 'llm', kind });
    expect(err.retryable).toBe(true);
    expect(needsAdmin(err.failure)).toBe(false);
  });

  it('Azure names its own key variable', async () => {
    sandbox.setPersonality('bad-key', 1);
    const azure = createStructuredLlm({
      kind: 'azure',
      apiKey: 'az-key',
      endpoint: sandbox.tavilyUrl,
      deployment: 'gpt-4o-mini',
      apiVersion: '2024-10-21',
      timeoutMs: 5000,
      maxRetries: 0,
    });
    const err = await failureOf(azure.generate(reportArgs()));
    expect(err.failure).toMatchObject({ kind: 'bad_credentials', setting: 'AZURE_OPENAI_API_KEY' });
  });

  it.each([
    [{ status: 404, message: '404 Not Found' }, 'unknown_model'],
    [
      { status: 400, message: "This model's maximum context length is 4096 tokens. However, you requested 5000" },
      'context_too_long',
    ],
    [{ status: 400, message: 'the request exceeds the available context size, try increasing it' }, 'context_too_long'],
    [{ status: 500, message: '500 tools param requires --jinja flag' }, 'unsupported_method'],
    [{ status: 400, message: '400 registry.ollama.ai/library/gemma3:4b does not support tools' }, 'unsupported_method'],
    [{ status: 400, message: '400 invalid value for temperature' }, 'bad_request'],
    [{ status: 429, code: 'insufficient_quota', message: 'x' }, 'quota_exhausted'],
    [{ status: 502, message: 'Bad gateway' }, 'transient'],
  ])('classifies %j as %s', (fields, kind) => {
    expect(classifyLlmError(Object.assign(new Error(fields.message), fields))).toMatchObject({ kind });
  });
});

describe('inlineRefs', () => {
  it('replaces local $refs by their targets, keeping the referring node’s own keywords', () => {
    const root = {
      type: 'object',
      properties: {
        a: { type: 'object', properties: { text: { type: 'string', maxLength: 9 } } },
        b: { $ref: '#/properties/a/properties/text', description: 'mine' },
        c: { type: 'array', items: { $ref: '#/properties/a' } },
      },
    };
    expect(inlineRefs(root, root)).toEqual({
      type: 'object',
      properties: {
        a: root.properties.a,
        b: { type: 'string', maxLength: 9, description: 'mine' },
        c: { type: 'array', items: root.properties.a },
      },
    });
  });
});
