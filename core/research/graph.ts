// The research graph. planner → {market, competitor, customer} × (search → extract → analysis) → report.
// Each agent is one node whose search and extract are LangGraph tasks: a task's result is stored as soon as
// it is in hand, so a resumed run replays nothing that finished, in particular no Tavily call, and each
// agent goes on to its next step as soon as its own previous one is done, not when the slowest agent's is
// (decision 117). Agent steps catch their own failures and record them in `failures`, so one agent failing
// for good leaves a report written from the other two — except a refusal only an admin can fix (bad key,
// unknown model, exhausted plan), which ends the run at once with its cause intact (decision 027).
import { Annotation, END, START, StateGraph, task, type LangGraphRunnableConfig } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { AGENTS, type Agent, type CheckpointId } from './checkpoints.js';
import { assembleReport, type Assembled } from './assemble-report.js';
import { domainOf, figureIndex, type RetrievedSource } from './citations.js';
import { ResearchError, needsAdmin } from './contract.js';
import { DEPTH_PROFILES, type Depth } from './depth.js';
import { selectPassages } from './passages.js';
import { agentPrompt, plannerPrompt, reportPrompt, type PromptSource } from './prompts.js';
import { UsageMeter, type UsageSnapshot } from './providers/usage.js';
import type { SearchHit, SearchProvider } from './providers/tavily.js';
import type { StructuredLlm } from './providers/llm.js';
import { defangUrls } from './markdown-safe.js';
import { fenceSafe, sanitizeText } from './sanitize.js';
import { cleanDeep, cleanText } from '../text/clean.js';
import { ANALYSIS_SCHEMAS, PlanSchema, ReportDraftSchema, type AgentAnalysis, type Plan } from './schemas.js';
import { chooseUrls } from './select-sources.js';

/** Tokens of web passages each agent's analysis may read; sized so a standard report stays under 60k tokens. */
export const PASSAGE_BUDGET: Record<Depth, number> = { essential: 5_000, standard: 7_000, deep: 11_000 };

/** Source ids are `S<n>`; each agent numbers in its own block so parallel agents never collide. */
const ID_OFFSET: Record<Agent, number> = { market: 0, competitor: 20, customer: 40 };

type Hit = Omit<SearchHit, 'content'>;
/** A retrieved page as the state keeps it: `text` holds only the figures it states (for the checker). */
export type StoredSource = RetrievedSource & { excerpt: string };

type AgentRecord<T> = Partial<Record<Agent, T>>;
/** What one agent step adds to the state. */
type StepFindings = {
  hits?: AgentRecord<Hit[]>;
  pages?: AgentRecord<StoredSource[]>;
  analyses?: AgentRecord<AgentAnalysis[Agent]>;
  failures?: AgentRecord<string>;
};
type StepUpdate = StepFindings & { usage: UsageSnapshot; done: CheckpointId[] };
const mergeRecords = <T>() => Annotation<AgentRecord<T>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) });

function emptyUsage(): UsageSnapshot {
  return {
    tavilyCalls: 0,
    tavilyCredits: 0,
    cacheHits: 0,
    promptTokens: 0,
    completionTokens: 0,
    tokensEstimated: false,
    perNode: {},
  };
}

function addUsage(a: UsageSnapshot, b: UsageSnapshot): UsageSnapshot {
  const perNode = { ...a.perNode };
  for (const [k, v] of Object.entries(b.perNode)) {
    const p = perNode[k] ?? { promptTokens: 0, completionTokens: 0, ms: 0 };
    perNode[k] = {
      promptTokens: p.promptTokens + v.promptTokens,
      completionTokens: p.completionTokens + v.completionTokens,
      ms: p.ms + v.ms,
    };
  }
  return {
    tavilyCalls: a.tavilyCalls + b.tavilyCalls,
    tavilyCredits: a.tavilyCredits + b.tavilyCredits,
    cacheHits: a.cacheHits + b.cacheHits,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    // Checkpoints written before the flag existed lack it.
    tokensEstimated: Boolean(a.tokensEstimated || b.tokensEstimated),
    perNode,
  };
}

export const ResearchState = Annotation.Root({
  idea: Annotation<string>,
  depth: Annotation<Depth>,
  plan: Annotation<Plan | null>({ reducer: (_a, b) => b, default: () => null }),
  hits: mergeRecords<Hit[]>(),
  pages: mergeRecords<StoredSource[]>(),
  analyses: mergeRecords<AgentAnalysis[Agent]>(),
  failures: mergeRecords<string>(),
  usage: Annotation<UsageSnapshot>({ reducer: addUsage, default: emptyUsage }),
  done: Annotation<CheckpointId[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  result: Annotation<Assembled | null>({ reducer: (_a, b) => b, default: () => null }),
});

export type State = typeof ResearchState.State;
type Update = typeof ResearchState.Update;

export type GraphDeps = {
  search: SearchProvider;
  llm: StructuredLlm;
  checkpointer: BaseCheckpointSaver;
  sandbox: boolean;
  onCheckpoint: (id: CheckpointId) => Promise<void>;
};

function reason(err: unknown): string {
  if (err instanceof ResearchError) return err.userMessage;
  const message = err instanceof Error ? err.message : String(err);
  return sanitizeText(message).slice(0, 200);
}

/** A provider refusal no retry or other agent can get past: rethrown as it is, so its cause reaches the user. */
function rethrowIfAdminNeeded(err: unknown): void {
  if (err instanceof ResearchError && needsAdmin(err.failure)) throw err;
}

/**
 * A step the whole run depends on failed: a provider's own words (a cut-off answer, a rate limit, a context
 * too long) tell the requester more than a generic line, so they are kept; anything else gets `generic`.
 */
function stepFailure(step: string, err: unknown, generic: string): ResearchError {
  if (err instanceof ResearchError)
    return new ResearchError(err.userMessage, `${step}: ${err.detail}`, err.retryable, err.failure);
  return new ResearchError(generic, `${step}: ${reason(err)}`, true);
}

function aborted(signal: AbortSignal | undefined, err?: unknown): boolean {
  return Boolean(signal?.aborted) || (err instanceof Error && err.name === 'AbortError');
}

export function buildResearchGraph(deps: GraphDeps) {
  /** Wraps a step: its own meter (usage is state, so it survives a resume), timing, checkpoint report. */
  function step(
    id: CheckpointId,
    body: (state: State, meter: UsageMeter, signal?: AbortSignal) => Promise<Update>,
    node: string = id,
  ) {
    return async (state: State, config: LangGraphRunnableConfig): Promise<Update> => {
      const meter = new UsageMeter();
      const t0 = performance.now();
      const update = await body(state, meter, config.signal);
      meter.recordTime(node, performance.now() - t0);
      // A resumed run may hold steps finished before the crash whose writes were not yet in the checkpoint
      // the engine re-reported at start; report them first (the engine drops repeats).
      for (const earlier of state.done) await deps.onCheckpoint(earlier);
      await deps.onCheckpoint(id);
      return { ...update, usage: meter.snapshot(), done: [...((update.done as CheckpointId[] | undefined) ?? []), id] };
    };
  }

  /**
   * One step of an agent, with its own meter and timing: skipped once its agent has failed; a failure (not an
   * abort) is recorded, not thrown. Skipped steps still count as passed, as the progress report expects.
   */
  async function agentStep(
    agent: Agent,
    kind: 'search' | 'extract' | 'analysis',
    failed: boolean,
    signal: AbortSignal | undefined,
    body: (meter: UsageMeter) => Promise<StepFindings>,
  ): Promise<StepUpdate> {
    const id: CheckpointId = `${agent}_${kind}`;
    const meter = new UsageMeter();
    const t0 = performance.now();
    let update: StepFindings = {};
    if (!failed) {
      try {
        update = await body(meter);
      } catch (err) {
        if (aborted(signal, err)) throw err;
        rethrowIfAdminNeeded(err);
        update = { failures: { [agent]: `the ${agent} ${kind} failed: ${reason(err)}` } };
      }
    }
    meter.recordTime(id, performance.now() - t0);
    return { ...update, usage: meter.snapshot(), done: [id] };
  }

  /** A step whose result LangGraph stores when it ends: a resumed node gets it back instead of running it again. */
  const durable = async (name: string, run: () => Promise<StepUpdate>): Promise<StepUpdate> => await task(name, run)();

  // One LLM call yields both the restated plan and the queries: `plan` is reported as soon as it is in hand,
  // `queries` by the step wrapper when the node completes.
  const planner = step(
    'queries',
    async (state, meter, signal) => {
      try {
        const { system, user } = plannerPrompt(state.idea);
        const plan = await deps.llm.generate({
          node: 'plan',
          schemaName: 'research_plan',
          schema: PlanSchema,
          system,
          user,
          meter,
          signal,
        });
        await deps.onCheckpoint('plan');
        // Model output is cleaned where it is parsed (decision 039): it feeds searches, prompts and the report.
        return { plan: cleanDeep(plan), done: ['plan'] };
      } catch (err) {
        if (aborted(signal, err)) throw err;
        throw stepFailure(
          'planner',
          err,
          'The research could not be planned. Nothing was spent on searches; please try again.',
        );
      }
    },
    'plan',
  );

  const nodes: Record<string, (state: State, config: LangGraphRunnableConfig) => Promise<Update>> = { planner };
  const search = async (agent: Agent, state: State, meter: UsageMeter, signal?: AbortSignal): Promise<StepFindings> => {
    const profile = DEPTH_PROFILES[state.depth];
    const query = state.plan?.queries[agent] ?? state.idea;
    const found = await deps.search.search(
      { query, searchDepth: profile.searchDepth, maxResults: profile.maxResults },
      meter,
      signal,
    );
    if (found.length === 0) throw new ResearchError('the web search found nothing', 'no hits', false);
    // Snippets are not used downstream; keeping them out keeps every checkpoint small.
    return { hits: { [agent]: found.map((h) => ({ url: h.url, title: cleanText(h.title), score: h.score })) } };
  };

  const extract = async (
    agent: Agent,
    state: State,
    hits: Hit[],
    meter: UsageMeter,
    signal?: AbortSignal,
  ): Promise<StepFindings> => {
    const profile = DEPTH_PROFILES[state.depth];
    const plan = state.plan!;
    const chosen = chooseUrls(hits, profile.urlsPerAgent);
    const { pages } = await deps.search.extract(
      { urls: chosen.map((h) => h.url), extractDepth: profile.extractDepth },
      meter,
      signal,
    );
    const titleOf = new Map(chosen.map((h) => [h.url, h.title]));
    // Page text is cleaned as it is retrieved (decision 039), before anything reads it.
    const read = pages
      .map((p) => ({ ...p, rawContent: cleanText(p.rawContent) }))
      .filter((p) => p.rawContent.trim().length > 0)
      .map((p, i) => ({ id: `S${ID_OFFSET[agent] + i + 1}`, page: p }));
    if (read.length === 0)
      throw new ResearchError('none of the chosen pages could be read', 'extract returned no pages', false);
    // Whole pages never enter the state (it is checkpointed after every step): only the passages the
    // analysis will read, and the sentences with figures the citation checker needs.
    const query = `${plan.queries[agent]} ${plan.product} ${plan.category} ${plan.problem}`;
    const passages = selectPassages(
      read.map((r) => ({ sourceId: r.id, text: r.page.rawContent })),
      query,
      PASSAGE_BUDGET[state.depth],
    );
    const sources: StoredSource[] = read.map(({ id, page }) => ({
      id,
      url: page.url,
      // A title never carries a live link: the only links a report holds are its citations (decision 038).
      title: defangUrls(sanitizeText(page.title ?? titleOf.get(page.url) ?? domainOf(page.url))),
      text: figureIndex(page.rawContent),
      excerpt: passages
        .filter((p) => p.sourceId === id)
        .map((p) => p.text)
        .join('\n…\n'),
    }));
    return { pages: { [agent]: sources } };
  };

  const analyse = async (
    agent: Agent,
    state: State,
    sources: StoredSource[],
    meter: UsageMeter,
    signal?: AbortSignal,
  ): Promise<StepFindings> => {
    const plan = state.plan!;
    const passages = sources.map((s, index) => ({ sourceId: s.id, index, text: s.excerpt, tokens: 0, score: 0 }));
    const { system, user } = agentPrompt(agent, plan, sources, passages);
    const analysis = await deps.llm.generate<AgentAnalysis[Agent]>({
      node: `${agent}_analysis`,
      schemaName: `${agent}_analysis`,
      schema: ANALYSIS_SCHEMAS[agent] as never,
      system,
      user,
      meter,
      signal,
    });
    return { analyses: { [agent]: cleanDeep(analysis) } };
  };

  /**
   * An agent's three steps in one node. Search and extract are durable tasks; the analysis is the node's own
   * end, stored with the node's writes. Each step's checkpoint is reported as it passes.
   */
  const agentNode =
    (agent: Agent) =>
    async (state: State, config: LangGraphRunnableConfig): Promise<Update> => {
      const { signal } = config;
      // A resumed run may hold steps finished before the crash whose writes were not yet in the checkpoint
      // the engine re-reported at start; report them first (the engine drops repeats).
      for (const earlier of state.done) await deps.onCheckpoint(earlier);
      const searched = await durable(`${agent}_search`, () =>
        agentStep(agent, 'search', Boolean(state.failures[agent]), signal, (meter) =>
          search(agent, state, meter, signal),
        ),
      );
      await deps.onCheckpoint(`${agent}_search`);
      const hits = searched.hits?.[agent] ?? [];
      const extracted = await durable(`${agent}_extract`, () =>
        agentStep(agent, 'extract', Boolean(searched.failures?.[agent]), signal, (meter) =>
          extract(agent, state, hits, meter, signal),
        ),
      );
      await deps.onCheckpoint(`${agent}_extract`);
      const sources = extracted.pages?.[agent] ?? [];
      const analysed = await agentStep(agent, 'analysis', Boolean(extracted.failures?.[agent]), signal, (meter) =>
        analyse(agent, state, sources, meter, signal),
      );
      await deps.onCheckpoint(`${agent}_analysis`);
      const steps = [searched, extracted, analysed];
      return {
        ...searched,
        ...extracted,
        ...analysed,
        failures: Object.assign({}, ...steps.map((u) => u.failures ?? {})) as AgentRecord<string>,
        usage: steps.map((u) => u.usage).reduce(addUsage),
        done: steps.flatMap((u) => u.done),
      };
    };
  for (const agent of AGENTS) nodes[agent] = agentNode(agent);

  nodes.report = step('report', async (state, meter, signal) => {
    const plan = state.plan!;
    const available = AGENTS.filter((a) => state.analyses[a] && !state.failures[a]);
    if (available.length === 0) {
      throw new ResearchError(
        'None of the research agents could gather evidence, so no report was written. Please try again later.',
        `all agents failed: ${AGENTS.map((a) => `${a}: ${state.failures[a] ?? 'no analysis'}`).join('; ')}`,
        true,
      );
    }
    const sources = AGENTS.filter((a) => available.includes(a)).flatMap((a) => state.pages[a] ?? []);
    const analyses = AGENTS.map((a) =>
      available.includes(a)
        ? `<analysis agent="${a}">\n${fenceSafe(JSON.stringify(state.analyses[a]))}\n</analysis>`
        : `<analysis agent="${a}">MISSING: ${fenceSafe(state.failures[a] ?? 'no analysis')}</analysis>`,
    ).join('\n');
    const list: PromptSource[] = sources.map((s) => ({ id: s.id, url: s.url, title: s.title }));
    const { system, user } = reportPrompt(state.idea, plan, analyses, list);
    let draft;
    try {
      draft = await deps.llm.generate({
        node: 'report',
        schemaName: 'pmf_report',
        schema: ReportDraftSchema,
        system,
        user,
        meter,
        signal,
      });
    } catch (err) {
      if (aborted(signal, err)) throw err;
      throw stepFailure('report', err, 'The report could not be written. Please try again.');
    }
    draft = cleanDeep(draft);
    const failures: AgentRecord<string> = { ...state.failures };
    for (const a of AGENTS) if (!available.includes(a) && !failures[a]) failures[a] = 'the agent produced no analysis';
    const result = assembleReport({
      idea: state.idea,
      depth: state.depth,
      sandbox: deps.sandbox,
      plan,
      analyses: Object.fromEntries(available.map((a) => [a, state.analyses[a]])) as Partial<AgentAnalysis>,
      failures,
      draft,
      sources,
    });
    return { result };
  });

  let graph = new StateGraph(ResearchState).addNode(nodes);
  graph = graph.addEdge(START, 'planner');
  for (const agent of AGENTS) graph = graph.addEdge('planner', agent);
  // Three plain edges, not a join edge: the three agent nodes run in the same superstep, so `report` runs
  // once, after all three. A join edge would be safer against uneven branches but LangGraph 1.7 does not fire
  // it after a resume in which one side had finished before the crash (see langgraph-saver.test.ts).
  for (const agent of AGENTS) graph = graph.addEdge(agent, 'report');
  graph = graph.addEdge('report', END);
  return graph.compile({ checkpointer: deps.checkpointer });
}
