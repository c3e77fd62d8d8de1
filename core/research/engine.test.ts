// The engine end to end on the sandbox providers (real SDK clients over HTTP), real Redis and PostgreSQL.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { END, START, StateGraph } from '@langchain/langgraph';
import { randomUUID } from 'node:crypto';
import { uniquePrefix } from '../../test/helpers/storage.js';
import { researchServers } from '../../test/helpers/research-servers.js';
import { sandboxEnv, sandboxProviders } from '../../test/helpers/research.js';
import { ENGINE_CHECKPOINTS, type CheckpointId } from './checkpoints.js';
import { ResearchError, type ResearchResult } from './contract.js';
import { DEPTH_PROFILES, DEPTHS } from './depth.js';
import { createResearchEngine } from './engine.js';
import { ResearchCheckpointSaver } from './langgraph-saver.js';
import { ResearchState } from './graph.js';
import type { GenerateArgs, Providers, StructuredLlm } from './providers/index.js';
import type { ExtractRequest, SearchRequest } from './providers/tavily.js';

const servers = researchServers();
beforeEach(() => {
  servers.sandbox.clearFaults();
  servers.sandbox.setLatency({ search: 0, extract: 0, llm: 0 });
});

const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';

type Recorded = { searches: SearchRequest[]; extracts: ExtractRequest[] };

/** Records what the engine asks the search provider for, and can rewrite queries (for the hostile corpus). */
function recording(p: Providers, rewrite: (q: string) => string = (q) => q): Providers & { seen: Recorded } {
  const seen: Recorded = { searches: [], extracts: [] };
  return {
    seen,
    llm: p.llm,
    search: {
      search: (req, meter, signal) => {
        const r = { ...req, query: rewrite(req.query) };
        seen.searches.push(r);
        return p.search.search(r, meter, signal);
      },
      extract: (req, meter, signal) => {
        seen.extracts.push(req);
        return p.search.extract(req, meter, signal);
      },
    },
  };
}

function engineWith(providers: Providers) {
  return createResearchEngine({ env: sandboxEnv(), redis: servers.redis, pg: servers.pg, providers, sandbox: true });
}

function providers(opts: { cachePrefix?: string; maxRetries?: number; timeoutMs?: number } = {}) {
  return recording(
    sandboxProviders(servers.sandbox, servers.redis, {
      cachePrefix: opts.cachePrefix ?? uniquePrefix('research'),
      maxRetries: opts.maxRetries ?? 2,
      timeoutMs: opts.timeoutMs ?? 10_000,
    }),
  );
}

function calls() {
  return { ...servers.sandbox.calls };
}

describe.each(DEPTHS)('depth %s', (depth) => {
  const profile = DEPTH_PROFILES[depth];

  it(`makes 3 searches and 3 extracts with the profile's parameters, spends ${profile.credits} credits cold and 0 warm`, async () => {
    const cachePrefix = uniquePrefix(`depth-${depth}`);
    const p = providers({ cachePrefix });
    const before = calls();
    const seen: CheckpointId[] = [];
    const cold = await engineWith(p).run(
      { runId: randomUUID(), idea: IDEA, depth },
      { onCheckpoint: (id) => void seen.push(id) },
    );
    const after = calls();

    expect(after.search - before.search).toBe(3);
    expect(after.extract - before.extract).toBe(3);
    expect(p.seen.searches).toHaveLength(3);
    for (const s of p.seen.searches) expect(s).toMatchObject({ searchDepth: profile.searchDepth, maxResults: 20 });
    expect(p.seen.extracts).toHaveLength(3);
    for (const e of p.seen.extracts) {
      expect(e.extractDepth).toBe(profile.extractDepth);
      expect(e.urls).toHaveLength(profile.urlsPerAgent);
      expect(new Set(e.urls).size).toBe(e.urls.length);
    }
    expect(cold.usage.tavilyCalls).toBe(6);
    expect(cold.usage.tavilyCredits).toBe(profile.credits);
    expect(cold.usage.cacheHits).toBe(0);
    expect([...seen].sort()).toEqual([...ENGINE_CHECKPOINTS].sort());
    expect(seen[0]).toBe('plan');
    expect(seen[1]).toBe('queries');
    expect(seen.at(-1)).toBe('report');

    const warm = await engineWith(providers({ cachePrefix })).run({ runId: randomUUID(), idea: IDEA, depth });
    expect(calls().search).toBe(after.search);
    expect(calls().extract).toBe(after.extract);
    expect(warm.usage.tavilyCredits).toBe(0);
    expect(warm.usage.tavilyCalls).toBe(0);
    expect(warm.usage.cacheHits).toBe(6);
    expect(warm.markdown).toMatch(/0 credits spent, 6 served from cache/);
  });
});

function expectCompleteReport(r: ResearchResult) {
  expect(r.report.missingSections).toEqual([]);
  expect(r.report.score.subScores).toHaveLength(5);
  expect(r.report.score.total).toBe(r.report.score.subScores.reduce((s, x) => s + x.score, 0));
  for (const s of r.report.score.subScores) expect(s.score).toBeGreaterThanOrEqual(0);
  for (const s of r.report.score.subScores) expect(s.score).toBeLessThanOrEqual(20);
  expect(r.report.citations.map((c) => c.n)).toEqual(r.report.citations.map((_, i) => i + 1));
  for (const h of [
    '## Executive Summary',
    '## Market Analysis',
    '## Competitive Landscape',
    '## Customer Insights',
    '## PMF Score',
    '## Strategic Recommendations',
    '## Citations',
    '## Methodology',
  ]) {
    expect(r.markdown).toContain(h);
  }
}

describe('report', () => {
  it('is complete, synthetic-labelled, cites only retrieved pages with contiguous numbers, and accounts per node', async () => {
    const r = await engineWith(providers()).run({ runId: randomUUID(), idea: IDEA, depth: 'standard' });
    expectCompleteReport(r);
    expect(r.report.sandbox).toBe(true);
    expect(r.markdown.split('\n').slice(0, 4).join('\n')).toMatch(/synthetic/i);
    const cited = new Set([...r.markdown.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
    for (const n of cited) expect(n).toBeLessThanOrEqual(r.report.citations.length);
    expect(r.usage.sourcesUsed).toBeGreaterThan(0);
    for (const node of ['plan', 'market_analysis', 'competitor_analysis', 'customer_analysis', 'report']) {
      expect(r.usage.perNode[node]?.promptTokens).toBeGreaterThan(0);
    }
    expect(r.usage.promptTokens + r.usage.completionTokens).toBeLessThan(60_000);
    expect(r.markdown).toMatch(/Citations removed.*: \d+/);
    expect(r.markdown).toMatch(/Figures flagged.*: \d+/);
  });
});

describe('faults', () => {
  it.each([
    ['search', { kind: 'rate_limit', retryAfterSeconds: 1 }],
    ['search', { kind: 'server_error' }],
    ['extract', { kind: 'server_error' }],
    ['extract', { kind: 'hang' }],
    ['llm', { kind: 'rate_limit', retryAfterSeconds: 1 }],
    ['llm', { kind: 'malformed' }],
  ] as const)('a transient %s %o is retried and the report is complete', async (target, fault) => {
    servers.sandbox.injectFault(target, fault, 1);
    const r = await engineWith(providers({ timeoutMs: 1_500 })).run({
      runId: randomUUID(),
      idea: IDEA,
      depth: 'essential',
    });
    expectCompleteReport(r);
  });

  it('an agent whose search fails for good is reported missing; the report is written from the other two', async () => {
    // maxRetries 1: the three first attempts all fail, then one retry fails too → exactly one agent gives up.
    servers.sandbox.injectFault('search', { kind: 'server_error' }, 4);
    const r = await engineWith(providers({ maxRetries: 1 })).run({
      runId: randomUUID(),
      idea: IDEA,
      depth: 'essential',
    });
    expect(r.report.missingSections).toHaveLength(1);
    const gap = r.report.missingSections[0]!;
    expect(gap.reason).toMatch(/search failed/);
    expect(r.markdown).toContain('This section is missing');
    expect(r.report.score.subScores).toHaveLength(5);
  });

  it('a planner that fails for good fails the run with a clear ResearchError and spends nothing', async () => {
    servers.sandbox.injectFault('llm', { kind: 'server_error' }, 2);
    const before = calls();
    const err = await engineWith(providers({ maxRetries: 1 }))
      .run({ runId: randomUUID(), idea: IDEA, depth: 'essential' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResearchError);
    // The provider's own words reach the requester; the detail says which step stopped the run.
    expect((err as ResearchError).userMessage).toMatch(/temporarily unavailable; nothing was charged/);
    expect((err as ResearchError).detail).toMatch(/^planner: /);
    expect((err as ResearchError).retryable).toBe(true);
    expect(calls().search).toBe(before.search);
  });
});

describe('abort', () => {
  it('stops within a second of the signal, mid-LLM call', async () => {
    servers.sandbox.setLatency({ llm: 20_000 });
    const controller = new AbortController();
    const run = engineWith(providers()).run(
      { runId: randomUUID(), idea: IDEA, depth: 'essential' },
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    controller.abort();
    const err = await run.catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(ResearchError);
    expect((err as ResearchError).detail).toMatch(/abort/);
  });
});

describe('resume', () => {
  it('a run killed after the market agent resumes with the same runId without repeating any Tavily call', async () => {
    const runId = randomUUID();
    const controller = new AbortController();
    // The report's LLM call must still be in flight when the abort lands.
    servers.sandbox.setLatency({ llm: 300 });
    const first = engineWith(providers()).run(
      { runId, idea: IDEA, depth: 'standard' },
      {
        signal: controller.signal,
        onCheckpoint: (id) => {
          // Let the step's write land, then "kill" the run before the report.
          if (id === 'market_analysis') setTimeout(() => controller.abort(), 30);
        },
      },
    );
    const err = await first.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResearchError);

    const before = calls();
    const seen: CheckpointId[] = [];
    // A fresh cache prefix: any repeated Tavily call would reach the sandbox, not the cache.
    const p = providers({ cachePrefix: uniquePrefix('resume') });
    const second = await engineWith(p).run(
      { runId, idea: IDEA, depth: 'standard' },
      { onCheckpoint: (id) => void seen.push(id) },
    );
    expect(calls().search - before.search).toBe(0);
    expect(calls().extract - before.extract).toBe(0);
    expect(p.seen.searches).toHaveLength(0);
    expect(p.seen.extracts).toHaveLength(0);
    expect(calls().llm - before.llm).toBeLessThanOrEqual(3);
    expectCompleteReport(second);
    expect(second.usage.tavilyCredits).toBe(12);
    expect([...new Set(seen)].sort()).toEqual([...ENGINE_CHECKPOINTS].sort());

    // A finished run asked again returns its report without spending anything.
    const llmBefore = calls().llm;
    const again = await engineWith(providers()).run({ runId, idea: IDEA, depth: 'standard' });
    expect(calls().llm).toBe(llmBefore);
    expect(again.report.score.total).toBe(second.report.score.total);
  }, 240_000);
});

describe('agents run at their own pace', () => {
  it("an agent extracts as soon as its own search is done, not when a slower agent's search is", async () => {
    const base = providers();
    const order: string[] = [];
    let issued = 0;
    const paced: Providers = {
      llm: base.llm,
      search: {
        search: async (req, meter, signal) => {
          const slow = issued++ === 0;
          const hits = await base.search.search(req, meter, signal);
          // The first search issued answers 600 ms late, as a slow provider call would.
          if (slow) await new Promise((r) => setTimeout(r, 600));
          order.push(slow ? 'slow search answered' : 'search answered');
          return hits;
        },
        extract: (req, meter, signal) => {
          order.push('extract issued');
          return base.search.extract(req, meter, signal);
        },
      },
    };
    expectCompleteReport(await engineWith(paced).run({ runId: randomUUID(), idea: IDEA, depth: 'standard' }));
    expect(order.indexOf('extract issued')).toBeLessThan(order.indexOf('slow search answered'));
  }, 60_000);

  it('a run killed between its searches and its extracts resumes without searching again', async () => {
    const runId = randomUUID();
    const controller = new AbortController();
    // The extracts must still be in flight when the abort lands.
    servers.sandbox.setLatency({ extract: 400 });
    const searched = new Set<CheckpointId>();
    const first = engineWith(providers()).run(
      { runId, idea: IDEA, depth: 'standard' },
      {
        signal: controller.signal,
        onCheckpoint: (id) => {
          if (id.endsWith('_search')) searched.add(id);
          // Let the last search's stored result land, then "kill" the run mid-extract.
          if (searched.size === 3) setTimeout(() => controller.abort(), 100);
        },
      },
    );
    expect(await first.catch((e: unknown) => e)).toBeInstanceOf(ResearchError);

    servers.sandbox.setLatency({ extract: 0 });
    const before = calls();
    const p = providers({ cachePrefix: uniquePrefix('resume-mid-agent') });
    const second = await engineWith(p).run({ runId, idea: IDEA, depth: 'standard' });
    expect(p.seen.searches).toHaveLength(0);
    expect(calls().search - before.search).toBe(0);
    expect(p.seen.extracts).toHaveLength(3);
    expectCompleteReport(second);
    expect(second.usage.tavilyCredits).toBe(12);
  }, 120_000);
});

describe('a run stopped under the earlier graph layout', () => {
  it('starts again and delivers its report instead of waiting for nodes that no longer exist', async () => {
    const runId = randomUUID();
    const saver = new ResearchCheckpointSaver(servers.pg);
    // The layout before decision 117: one node per agent step. This run stopped before its market search.
    const earlier = new StateGraph(ResearchState)
      .addNode({
        planner: async () => ({}),
        market_search: async (): Promise<Record<string, never>> => {
          throw new Error('restarted');
        },
      })
      .addEdge(START, 'planner')
      .addEdge('planner', 'market_search')
      .addEdge('market_search', END)
      .compile({ checkpointer: saver });
    await expect(
      earlier.invoke({ idea: IDEA, depth: 'standard' }, { configurable: { thread_id: runId } }),
    ).rejects.toThrow(/restarted/);
    expectCompleteReport(await engineWith(providers()).run({ runId, idea: IDEA, depth: 'standard' }));
  }, 60_000);
});

describe('hostile sources', () => {
  it('prompt injection, mass mentions, HTML and script links come out inert', async () => {
    const base = sandboxProviders(servers.sandbox, servers.redis, { cachePrefix: uniquePrefix('hostile') });
    const p = recording(base, (q) => `${q} hostile`);
    const r = await engineWith(p).run({
      runId: randomUUID(),
      idea: `${IDEA} <!channel> @everyone <script>alert(1)</script>`,
      depth: 'essential',
    });
    const extractedUgc = p.seen.extracts.flatMap((e) => e.urls).filter((u) => u.includes('/ugc/'));
    expect(extractedUgc.length).toBeGreaterThan(0);
    const all = `${r.markdown}\n${JSON.stringify(r.report)}`;
    expect(all).not.toMatch(/<!channel>|<!here>|<!everyone>|@everyone|@here|<@U/i);
    expect(all).not.toMatch(/<script|<img|<iframe|onerror=|javascript:|vbscript:/i);
    expect(r.report.citations.every((c) => /^https:\/\//.test(c.url) && !c.url.includes('evil.example'))).toBe(true);
    // Every link is a citation: an https destination in angle brackets (decision 038).
    expect(r.markdown).not.toMatch(/\]\((?!<https:\/\/)/);
  });
});

/**
 * A model that answers every call validly and says nothing: "n/a" everywhere, every sub-score 15, confidence
 * high. What a very terse real model does; the sandbox's own terse personality is tested with the LLM client.
 */
function terseLlm(): StructuredLlm & { calls: string[] } {
  const na = { text: 'n/a', sources: [] };
  const answers: Record<string, unknown> = {
    research_plan: {
      product: 'dog sitter app',
      targetCustomer: 'n/a',
      problem: 'n/a',
      category: 'pet care',
      queries: { market: 'dog sitting market', competitor: 'dog sitting apps', customer: 'dog owners sitters' },
    },
    market_analysis: { overview: na, size: [na], growth: [], trends: [na] },
    competitor_analysis: { competitors: [{ name: 'N/A', positioning: 'n/a', pricing: null, sources: [] }], gaps: [] },
    customer_analysis: { segments: [], pains: [na], willingnessToPay: [{ text: 'Unknown.', sources: [] }] },
    pmf_report: {
      title: 'n/a',
      summary: 'N/A',
      keyFindings: [na, na, na],
      subScores: Object.fromEntries(
        ['demand', 'growth', 'whitespace', 'pain', 'willingness_to_pay'].map((k) => [
          k,
          { score: 15, rationale: 'n/a', sources: [] },
        ]),
      ),
      confidence: 'high',
      recommendations: ['n/a'],
    },
  };
  const calls: string[] = [];
  return {
    calls,
    generate: <T>(args: GenerateArgs<T>) => {
      calls.push(args.schemaName);
      args.meter.recordTokens(args.node, 400, 40);
      return Promise.resolve(args.schema.parse(answers[args.schemaName]));
    },
  };
}

describe('a terse model', () => {
  it('gets a report that says no evidence was found and "insufficient evidence", never "n/a" or "strong"', async () => {
    const base = providers();
    const llm = terseLlm();
    const r = await engineWith({ search: base.search, llm }).run({
      runId: randomUUID(),
      idea: IDEA,
      depth: 'standard',
    });
    expect(llm.calls.sort()).toEqual([
      'competitor_analysis',
      'customer_analysis',
      'market_analysis',
      'pmf_report',
      'research_plan',
    ]);
    expectCompleteReport(r);
    expect(r.report.score.band).toBe('insufficient evidence');
    expect(r.report.score.confidence).toBe('low');
    expect(r.report.score.total).toBeLessThanOrEqual(25);
    expect(r.markdown).toContain('insufficient evidence');
    expect(r.markdown).not.toMatch(/n\/a|strong|exceptional/i);
    expect(r.markdown).toContain('No evidence was found in the retrieved sources for the market');
    expect(r.markdown).toContain('No evidence was found in the retrieved sources about competitors');
    expect(r.markdown).toContain('No evidence was found in the retrieved sources about customers');
    expect(r.markdown).toMatch(/## Methodology[\s\S]*Evidence rules/);
  });
});

describe('hostile URLs and titles from the search provider', () => {
  const TAILS = [')](https://evil.example/a', '<b> c\\d', '\n[x](https://evil.example)', '`e` ]('];
  it('every link in the report is one of the returned URLs, whole, and no control or bidi character survives', async () => {
    const base = providers();
    const returned = new Set<string>();
    const search: Providers['search'] = {
      search: (req, meter, signal) => base.search.search(req, meter, signal),
      extract: async (req, meter, signal) => {
        const res = await base.search.extract(req, meter, signal);
        const pages = res.pages.map((page, i) => {
          const url = `${page.url}/${TAILS[i % TAILS.length]}`;
          returned.add(url);
          return {
            url,
            title: `T${i} [x](https://evil.example) \u202e\x1b[31m ${TAILS[i % TAILS.length]}`,
            rawContent: `${page.rawContent}\n\x1b]0;owned\x07\u2066 NUL\x00 here`,
          };
        });
        return { ...res, pages };
      },
    };
    const r = await engineWith({ search, llm: base.llm }).run({ runId: randomUUID(), idea: IDEA, depth: 'essential' });
    const { marked } = await import('marked');
    const hrefs: string[] = [];
    marked.walkTokens(marked.lexer(r.markdown, { gfm: true }), (t) => {
      if (t.type === 'link') hrefs.push(decodeURI(t.href));
    });
    expect(hrefs.length).toBeGreaterThan(0);
    expect(hrefs).toEqual(r.report.citations.map((c) => c.url));
    for (const href of hrefs) expect(returned.has(href)).toBe(true);
    expect(`${r.markdown}\n${JSON.stringify(r.report)}`).not.toMatch(
      // eslint-disable-next-line no-control-regex -- looking for control characters is the point
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/,
    );
  });
});
