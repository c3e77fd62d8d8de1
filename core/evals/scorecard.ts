// The scorecard of a run: per-idea table, totals against the targets, the configuration, and a hand-written
// SVG bar chart of the five headline figures per idea (no chart dependency: it is a few rects and labels).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvalConfig, IdeaScore, RunOutcome } from './runner.js';
import { mean, RUBRIC_KEYS } from './scoring.js';
import { TARGETS } from './targets.js';

export { TARGETS };

export type Totals = {
  ideas: number;
  failed: number;
  citationPrecision: number | null;
  supportedPerReport: number | null;
  citationsChecked: number;
  figureFidelity: number | null;
  coverage: number | null;
  rubric: Record<(typeof RUBRIC_KEYS)[number] | 'mean', number | null>;
  tokensPerReport: number | null;
  creditsPerReport: number | null;
  wallMsPerReport: number | null;
  moneyPerReport: number | null;
  moneyTotal: number;
  judgeTokens: number;
};

export type Scorecard = {
  version: 1;
  config: EvalConfig;
  finishedAt: string;
  totals: Totals;
  targets: typeof TARGETS;
  ideas: IdeaScore[];
  failed: { id: string; error: string }[];
};

export function totalsOf(scores: IdeaScore[], failed: number): Totals {
  const checked = scores.reduce((s, x) => s + x.citation.checked, 0);
  const credited = scores.reduce((s, x) => s + x.citation.supported + x.citation.partly / 2, 0);
  const figures = scores.reduce((s, x) => s + x.figures.figures, 0);
  const inPage = scores.reduce((s, x) => s + x.figures.inPage, 0);
  return {
    ideas: scores.length,
    failed,
    // Pooled over all citations (as FACT reports it), so a report with 40 citations weighs more than one with 3.
    citationPrecision: checked ? credited / checked : null,
    supportedPerReport: mean(scores.map((x) => x.citation.supported)),
    citationsChecked: checked,
    figureFidelity: figures ? inPage / figures : null,
    coverage: mean(scores.map((x) => x.coverage.share)),
    rubric: {
      comprehensiveness: mean(scores.map((x) => x.rubric.comprehensiveness)),
      insight: mean(scores.map((x) => x.rubric.insight)),
      usefulness: mean(scores.map((x) => x.rubric.usefulness)),
      readability: mean(scores.map((x) => x.rubric.readability)),
      mean: mean(scores.map((x) => x.rubric.mean)),
    },
    tokensPerReport: mean(scores.map((x) => x.cost.tokens)),
    creditsPerReport: mean(scores.map((x) => x.cost.tavilyCredits)),
    wallMsPerReport: mean(scores.map((x) => x.cost.wallMs)),
    moneyPerReport: mean(scores.map((x) => x.cost.money)),
    moneyTotal: scores.reduce((s, x) => s + x.cost.money, 0),
    judgeTokens: scores.reduce((s, x) => s + x.judgeTokens, 0),
  };
}

export function buildScorecard(config: EvalConfig, outcome: RunOutcome, finishedAt: Date): Scorecard {
  const ideas = [...outcome.scores].sort((a, b) => a.id.localeCompare(b.id));
  return {
    version: 1,
    config,
    finishedAt: finishedAt.toISOString(),
    totals: totalsOf(ideas, outcome.failed.length),
    targets: TARGETS,
    ideas,
    failed: outcome.failed,
  };
}

/** The five figures charted per idea, each as a 0–1 share (tokens as a share of the 60k budget). */
function chartFigures(s: IdeaScore): { label: string; value: number | null }[] {
  return [
    { label: 'citation support', value: s.citation.precision },
    { label: 'figure fidelity', value: s.figures.share },
    { label: 'coverage', value: s.coverage.share },
    { label: 'rubric ÷ 10', value: s.rubric.mean / 10 },
    { label: 'tokens ÷ 60k', value: s.cost.tokens / TARGETS.tokensPerReport },
  ];
}

const COLORS = ['#2f6fde', '#1a9e63', '#d08a12', '#8a4fd1', '#c2413b'];

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** Grouped horizontal bars: one group per idea, five bars each, 0–100% (tokens may run past 100%, clipped). */
export function renderChartSvg(ideas: IdeaScore[]): string {
  const labelW = 190;
  const barW = 420;
  const barH = 9;
  const groupH = 5 * barH + 14;
  const top = 44;
  const height = top + Math.max(1, ideas.length) * groupH + 10;
  const width = labelW + barW + 70;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  chartFigures(ideas[0] ?? emptyScore()).forEach((f, i) =>
    parts.push(
      `<rect x="${labelW + i * 90}" y="8" width="10" height="10" fill="${COLORS[i]}"/>`,
      `<text x="${labelW + i * 90 + 14}" y="17">${escapeXml(f.label)}</text>`,
    ),
  );
  for (const pct of [0, 0.5, 1])
    parts.push(
      `<line x1="${labelW + pct * barW}" y1="${top - 6}" x2="${labelW + pct * barW}" y2="${height - 6}" stroke="#ddd"/>`,
      `<text x="${labelW + pct * barW}" y="${top - 9}" text-anchor="middle" fill="#777">${pct * 100}%</text>`,
    );
  ideas.forEach((s, g) => {
    const y0 = top + g * groupH;
    parts.push(`<text x="${labelW - 8}" y="${y0 + groupH / 2}" text-anchor="end">${escapeXml(s.id)}</text>`);
    chartFigures(s).forEach((f, i) => {
      const y = y0 + i * barH;
      if (f.value === null) {
        parts.push(`<text class="bar" x="${labelW + 4}" y="${y + barH - 1}" fill="#999" font-size="9">n/a</text>`);
        return;
      }
      const w = Math.max(0, Math.min(1, f.value)) * barW;
      parts.push(
        `<rect class="bar" x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${COLORS[i]}"><title>${escapeXml(`${s.id} · ${f.label}: ${(f.value * 100).toFixed(0)}%`)}</title></rect>`,
        `<text x="${labelW + w + 4}" y="${y + barH - 2}" font-size="9" fill="#444">${(f.value * 100).toFixed(0)}%</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function emptyScore(): IdeaScore {
  return {
    id: '',
    kind: '',
    idea: '',
    pmfScore: 0,
    citation: {
      checked: 0,
      supported: 0,
      partly: 0,
      notSupported: 0,
      precision: null,
      supportedPerReport: 0,
      unsupported: [],
    },
    figures: { figures: 0, inPage: 0, share: null, notInPage: [] },
    coverage: { items: 0, keyword: 0, judge: 0, share: 0, missing: [] },
    rubric: { comprehensiveness: 0, insight: 0, usefulness: 0, readability: 0, mean: 0 },
    cost: { promptTokens: 0, completionTokens: 0, tokens: 0, tavilyCredits: 0, cacheHits: 0, wallMs: 0, money: 0 },
    judgeTokens: 0,
  };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null, digits = 1) => (x === null ? 'n/a' : x.toFixed(digits));
const int = (x: number | null) => (x === null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const secs = (ms: number | null) => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
const cash = (x: number | null, priced: boolean) => (!priced || x === null ? 'n/a' : `$${x.toFixed(4)}`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderScorecardMarkdown(card: Scorecard): string {
  const c = card.config;
  const t = card.totals;
  const priced = c.prices.in > 0 || c.prices.out > 0 || c.prices.credit > 0;
  const mark = (ok: boolean | null) => (ok === null ? '' : ok ? ' ✓' : ' ✗');
  const lines = [
    `# PMF Scout evaluation — ${c.startedAt}`,
    '',
    c.sandbox
      ? '> **Sandbox run**: synthetic sources and a deterministic sandbox judge. These figures test the harness, not a model.'
      : `> Real providers: model \`${c.model}\`, judge \`${c.judgeModel}\`.`,
    '',
    '## Totals',
    '',
    '| Figure | Value | Target | Published anchor |',
    '|---|---|---|---|',
    `| Citation support precision | ${pct(t.citationPrecision)}${mark(t.citationPrecision === null ? null : t.citationPrecision >= TARGETS.citationPrecision)} | ≥ 85% | DeepResearch Bench FACT: Gemini 2.5 Pro DR 78.3%, OpenAI DR 75.0%, GPT Researcher 56.0% |`,
    `| Supported citations per report | ${num(t.supportedPerReport)} (${t.citationsChecked} checked in all) | — | GPT Researcher 35.2 |`,
    `| Figure fidelity | ${pct(t.figureFidelity)}${mark(t.figureFidelity === null ? null : t.figureFidelity >= TARGETS.figureFidelity)} | ≥ 95% | — |`,
    `| Coverage of required items | ${pct(t.coverage)} | — | — |`,
    `| Rubric (1–10): comprehensiveness / insight / usefulness / readability | ${num(t.rubric.comprehensiveness)} / ${num(t.rubric.insight)} / ${num(t.rubric.usefulness)} / ${num(t.rubric.readability)} (mean ${num(t.rubric.mean)}) | — | — |`,
    `| Tokens per report | ${int(t.tokensPerReport)}${mark(t.tokensPerReport === null ? null : t.tokensPerReport <= TARGETS.tokensPerReport)} | ≤ 60,000 | Open Deep Research ≈ 580,000 |`,
    `| Tavily credits per report | ${num(t.creditsPerReport)} | — | — |`,
    `| Wall time per report | ${secs(t.wallMsPerReport)} | — | — |`,
    `| Money per report / total | ${cash(t.moneyPerReport, priced)} / ${cash(t.moneyTotal, priced)} | — | — |`,
    `| Judge tokens (all ideas) | ${int(t.judgeTokens)} | — | — |`,
    '',
    `Ideas scored: ${t.ideas}; failed: ${t.failed}.`,
    '',
    '![Five figures per idea](chart.svg)',
    '',
    '## Per idea',
    '',
    '| Idea | Kind | PMF | Citation support | Supported | Figure fidelity | Coverage | Rubric | Tokens | Credits | Wall | Money |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...card.ideas.map(
      (s) =>
        `| ${cell(s.id)} | ${cell(s.kind)} | ${s.pmfScore} | ${pct(s.citation.precision)} (${s.citation.checked}) | ${s.citation.supported} | ${pct(s.figures.share)} (${s.figures.figures}) | ${pct(s.coverage.share)} | ${num(s.rubric.mean)} | ${int(s.cost.tokens)} | ${s.cost.tavilyCredits}${s.cost.cacheHits ? ` (+${s.cost.cacheHits} cached)` : ''} | ${secs(s.cost.wallMs)} | ${cash(s.cost.money, priced)} |`,
    ),
    ...card.failed.map((f) => `| ${cell(f.id)} | failed: ${cell(f.error)} | | | | | | | | | | |`),
    '',
    '## Configuration',
    '',
    `- Idea set: \`${c.set}\`${c.limit !== null ? ` (first ${c.limit})` : ''}`,
    `- Depth: ${c.depth}; concurrency: ${c.concurrency}`,
    `- Research model: \`${c.model}\`; judge model: \`${c.judgeModel}\``,
    `- Providers: ${c.sandbox ? 'sandbox (PMF_SANDBOX=1)' : 'real'}`,
    `- Prices: $${c.prices.in}/M prompt tokens, $${c.prices.out}/M completion tokens, $${c.prices.credit}/Tavily credit${priced ? '' : ' (none given: money not computed)'}`,
    `- Version: ${c.version}`,
    `- Started ${c.startedAt}, finished ${card.finishedAt}`,
    '',
    '## What the judge rejected (up to 5 per idea) and what was not covered',
    '',
    ...card.ideas.flatMap((s) =>
      s.citation.unsupported.length + s.figures.notInPage.length + s.coverage.missing.length === 0
        ? []
        : [
            `### ${s.id}`,
            ...s.citation.unsupported.map(
              (u) => `- not supported: “${u.sentence}” → ${u.url ?? 'a citation with no page'}`,
            ),
            ...s.figures.notInPage.map((f) => `- figure not in its page: **${f.figure}** in “${f.sentence}”`),
            ...(s.coverage.missing.length ? [`- not covered: ${s.coverage.missing.join('; ')}`] : []),
            '',
          ],
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export async function writeScorecard(dir: string, card: Scorecard): Promise<void> {
  await writeFile(path.join(dir, 'scorecard.json'), `${JSON.stringify(card, null, 2)}\n`, 'utf8');
  await writeFile(path.join(dir, 'scorecard.md'), renderScorecardMarkdown(card), 'utf8');
  await writeFile(path.join(dir, 'chart.svg'), renderChartSvg(card.ideas), 'utf8');
}
