// The engine end to end against every sandbox LLM personality, through the real @langchain/openai and
// @tavily/core clients: each ends in a delivered report or in a refusal that names its cause before any
// search credit is spent. The local-server rows back the README's "Use a local model" section.
import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { LlmPersonality } from '../sandbox/index.js';
import { uniquePrefix } from '../../test/helpers/storage.js';
import { researchServers } from '../../test/helpers/research-servers.js';
import { sandboxEnv } from '../../test/helpers/research.js';
import { ResearchError, type ResearchResult } from './contract.js';
import type { Depth } from './depth.js';
import { createResearchEngine } from './engine.js';
import { createStructuredLlm, type StructuredOutputMode } from './providers/llm.js';
import { createTavilySearch } from './providers/tavily.js';

const servers = researchServers();

const IDEA = 'A subscription service that delivers refurbished office chairs to remote workers';

let tag = 0;

/** One research run against `personality`; what Tavily returned is recorded to check the citations against. */
async function research(
  personality: LlmPersonality,
  structuredOutput: StructuredOutputMode = 'auto',
  depth: Depth = 'essential',
): Promise<{ result?: ResearchResult; error?: ResearchError; returned: Set<string>; searches: number }> {
  tag += 1;
  const tavily = createTavilySearch({
    apiKey: 'tvly-sandbox',
    apiUrl: servers.sandbox.tavilyUrl,
    redis: servers.redis,
    cacheTtlSeconds: 600,
    timeoutMs: 10_000,
    maxRetries: 1,
    cachePrefix: uniquePrefix(`personality-${personality}`),
  });
  const returned = new Set<string>();
  let searches = 0;
  const llm = createStructuredLlm({
    kind: 'openai',
    apiKey: 'sk-sandbox',
    baseURL: servers.sandbox.openaiUrl,
    model: `sandbox:${personality}:run${tag}`,
    timeoutMs: 10_000,
    maxRetries: 1,
    structuredOutput,
  });
  const engine = createResearchEngine({
    env: sandboxEnv(),
    redis: servers.redis,
    pg: servers.pg,
    sandbox: true,
    providers: {
      llm,
      search: {
        search: async (req, meter, signal) => {
          searches += 1;
          const hits = await tavily.search(req, meter, signal);
          hits.forEach((h) => returned.add(h.url));
          return hits;
        },
        extract: async (req, meter, signal) => {
          const out = await tavily.extract(req, meter, signal);
          out.pages.forEach((p) => returned.add(p.url));
          return out;
        },
      },
    },
  });
  try {
    const result = await engine.run({ runId: randomUUID(), idea: IDEA, depth });
    return { result, returned, searches };
  } catch (err) {
    if (!(err instanceof ResearchError)) throw err;
    return { error: err, returned, searches };
  }
}

function expectDelivered(run: Awaited<ReturnType<typeof research>>): ResearchResult {
  expect(run.error).toBeUndefined();
  const r = run.result!;
  expect(r.markdown).toContain('## Methodology');
  for (const s of r.report.score.subScores) expect(s.score).toBeGreaterThanOrEqual(0);
  for (const s of r.report.score.subScores) expect(s.score).toBeLessThanOrEqual(20);
  // Every cited link is one Tavily returned in this run.
  for (const c of r.report.citations) expect(run.returned).toContain(c.url);
  return r;
}

function expectRefused(run: Awaited<ReturnType<typeof research>>, cause: RegExp): ResearchError {
  expect(run.result).toBeUndefined();
  expect(run.error).toBeInstanceOf(ResearchError);
  const { userMessage, detail, failure } = run.error!;
  expect([userMessage, detail, failure?.setting ?? ''].join('\n')).toMatch(cause);
  // Refused at the planner: no search was made, so no credit was spent.
  expect(run.searches).toBe(0);
  return run.error!;
}

describe('personalities that deliver a report', () => {
  it.each([
    'strict',
    'json-in-content',
    'fenced-json',
    'prose-json',
    'sloppy',
    'out-of-range',
    'terse',
    'rejects-tools',
    'rejects-response-format',
  ] as const)('%s', async (p) => {
    expectDelivered(await research(p));
  });

  it('out-of-range scores are clamped to 20 each', async () => {
    const r = expectDelivered(await research('out-of-range'));
    expect(r.report.score.subScores.every((s) => s.score <= 20)).toBe(true);
  });

  it('no usage: the Methodology shows the token count as an estimate', async () => {
    const r = expectDelivered(await research('no-usage'));
    expect(r.usage.tokensEstimated).toBe(true);
    expect(r.usage.promptTokens).toBeGreaterThan(1000);
    expect(r.markdown).toMatch(/- LLM tokens: ≈[\d,]+ \(≈[\d,]+ prompt, ≈[\d,]+ completion; estimated/);
    const exact = expectDelivered(await research('strict'));
    expect(exact.markdown).not.toMatch(/LLM tokens: ≈/);
  });

  it('a standard-depth run on the JSON-in-prose personality delivers too', async () => {
    expectDelivered(await research('prose-json', 'auto', 'standard'));
  });
});

describe('personalities that are refused with a named cause', () => {
  it.each([
    ['empty', /did not answer in the structured form/],
    ['truncated', /cut off at its length limit/],
    ['bad-key', /OPENAI_API_KEY/],
    ['unknown-model', /OPENAI_MODEL/],
    ['quota-exhausted', /quota/],
    ['context-too-long', /more text than the AI model can read/],
    ['rate-limited', /too many requests/],
    ['server-error', /temporarily unavailable/],
  ] as const)('%s', async (p, cause) => {
    expectRefused(await research(p), cause);
  });
});

// README "Use a local model": each server's documented OpenAI compatibility, and the setting it needs.
describe('local model servers', () => {
  it.each([
    ['ollama', 'auto'],
    ['ollama', 'json_schema'],
    ['lmstudio', 'auto'],
    ['lmstudio', 'json_schema'],
    ['vllm', 'tools'],
    ['vllm', 'json_schema'],
    ['llamacpp', 'auto'],
    ['llamacpp', 'json_schema'],
  ] as const)('%s with LLM_STRUCTURED_OUTPUT=%s delivers', async (p, mode) => {
    expectDelivered(await research(p, mode));
  });

  it.each([
    ['ollama', 'tools'],
    ['lmstudio', 'json_object'],
    ['llamacpp', 'tools'],
  ] as const)('%s with LLM_STRUCTURED_OUTPUT=%s is refused, naming the setting', async (p, mode) => {
    expectRefused(await research(p, mode), /LLM_STRUCTURED_OUTPUT/);
  });
});
