// The Markdown file users receive, rendered from the structured report. Pure: the same report and usage
// always give the same bytes. Every piece of text is sanitized and escaped on its way in (sanitizeText, then
// markdown-safe.ts: no link but the citations' own, decision 038) and the whole is cleaned on the way out
// (cleanText, decision 039). The whole is not sanitized again: rewriting links in finished Markdown would
// undo the escaping that keeps them whole.
import { FLAG_MARK } from './citations.js';
import type { ResearchReport, ResearchUsage, ReportSections, SubScore } from './contract.js';
import { DEPTH_PROFILES } from './depth.js';
import { evidenceRulesText } from './evidence.js';
import { escapeProse, markdownLink } from './markdown-safe.js';
import { sanitizeText } from './sanitize.js';
import { cleanText } from '../text/clean.js';

export const SANDBOX_NOTICE =
  '> ⚠️ **Synthetic report.** This research ran on the built-in sandbox providers: its sources and analysis are synthetic and say nothing about the real market.';

const SECTION_TITLES = {
  market: 'Market Analysis',
  competitors: 'Competitive Landscape',
  customers: 'Customer Insights',
} as const;

/** Escapes one piece of report text for the Markdown file; one line unless `multiline`. */
type Prose = (text: string, multiline?: boolean) => string;

function proseFor(report: ResearchReport): Prose {
  return (text, multiline = false) => {
    const escaped = escapeProse(sanitizeText(text), report.citations.length);
    return multiline ? escaped : escaped.replace(/\s*\n\s*/g, ' ');
  };
}

function bullets(p: Prose, items: string[], empty: string): string[] {
  return items.length ? items.map((i) => `- ${p(i)}`) : [`_${empty}_`];
}

function missing(p: Prose, report: ResearchReport, section: keyof typeof SECTION_TITLES): string[] | undefined {
  const gap = report.missingSections.find((m) => m.section === section);
  return gap ? [`_This section is missing: ${p(gap.reason)}_`] : undefined;
}

function marketSection(p: Prose, report: ResearchReport, s?: ReportSections): string[] {
  const gap = missing(p, report, 'market');
  if (gap) return gap;
  const m = s?.market;
  if (!m) return ['_No market analysis was produced for this report._'];
  if (!m.overview && m.size.length + m.growth.length + m.trends.length === 0)
    return [
      '_No evidence was found in the retrieved sources for the market: no cited claim about its size, growth or trends._',
    ];
  return [
    ...(m.overview ? [p(m.overview, true)] : []),
    '',
    '**Market size**',
    ...bullets(p, m.size, 'No market size figure was found in the sources.'),
    '',
    '**Growth and timing**',
    ...bullets(p, m.growth, 'No growth evidence was found in the sources.'),
    '',
    '**Trends**',
    ...bullets(p, m.trends, 'No trends were found in the sources.'),
  ];
}

function competitorSection(p: Prose, report: ResearchReport, s?: ReportSections): string[] {
  const gap = missing(p, report, 'competitors');
  if (gap) return gap;
  const c = s?.competitors;
  if (!c) return ['_No competitive analysis was produced for this report._'];
  if (c.competitors.length + c.gaps.length === 0)
    return [
      '_No evidence was found in the retrieved sources about competitors: no cited competitor, positioning, pricing or gap._',
    ];
  const cell = (t: string) => p(t).replace(/\|/g, '\\|');
  const table = c.competitors.length
    ? [
        '| Competitor | Positioning | Pricing |',
        '|---|---|---|',
        ...c.competitors.map((x) => `| ${cell(x.name)} | ${cell(x.positioning)} | ${cell(x.pricing ?? 'not found')} |`),
      ]
    : ['_No named competitors were found in the sources._'];
  return [...table, '', '**Gaps and whitespace**', ...bullets(p, c.gaps, 'No gaps were identified in the sources.')];
}

function customerSection(p: Prose, report: ResearchReport, s?: ReportSections): string[] {
  const gap = missing(p, report, 'customers');
  if (gap) return gap;
  const c = s?.customers;
  if (!c) return ['_No customer analysis was produced for this report._'];
  if (c.segments.length + c.pains.length + c.willingnessToPay.length === 0)
    return [
      '_No evidence was found in the retrieved sources about customers: no cited segment, pain or willingness to pay._',
    ];
  return [
    '**Segments**',
    ...(c.segments.length
      ? c.segments.map((x) => `- **${p(x.name).replace(/\*/g, '\\*')}** — ${p(x.description)}`)
      : ['_No segments were identified in the sources._']),
    '',
    '**Pains**',
    ...bullets(p, c.pains, 'No pains were found in the sources.'),
    '',
    '**Willingness to pay**',
    ...bullets(p, c.willingnessToPay, 'No willingness-to-pay evidence was found in the sources.'),
  ];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The evidence behind a sub-score, in words: what was found and, when it bit, the cap. */
function evidenceNote(s: SubScore): string {
  const e = s.evidence;
  if (!e) return '';
  const found =
    e.level === 'none'
      ? 'no evidence found'
      : `${plural(e.claims, 'supported claim')} from ${plural(e.sources, 'source')} (${e.level})`;
  return e.modelScore > e.cap ? `${found}; capped at ${e.cap} (model proposed ${e.modelScore})` : found;
}

function insufficientNote(report: ResearchReport): string[] {
  if (report.score.band !== 'insufficient evidence') return [];
  const withEvidence = report.score.subScores.filter((s) => s.evidence && s.evidence.level !== 'none').length;
  const sources = report.score.evidenceSources ?? 0;
  return [
    `**Insufficient evidence.** The retrieved sources support cited claims for ${withEvidence} of the 5 dimensions, from ${plural(sources, 'distinct source')}. The score below is capped by the evidence rules (see Methodology) and says little about product-market fit.`,
    '',
  ];
}

function scoreSection(p: Prose, report: ResearchReport): string[] {
  const { total, band, confidence, subScores } = report.score;
  const withEvidence = subScores.some((s) => s.evidence);
  const rationale = (s: SubScore) =>
    s.rationale
      ? p(s.rationale, true)
      : s.evidence?.level === 'none'
        ? '_No evidence was found in the retrieved sources for this dimension._'
        : '_No rationale was given._';
  return [
    `**${total}/100 — ${band}** (confidence: ${confidence})`,
    '',
    ...(withEvidence
      ? [
          '| Dimension | Score | Evidence |',
          '|---|---|---|',
          ...subScores.map((s) => `| ${s.label} | ${s.score}/20 | ${evidenceNote(s)} |`),
        ]
      : ['| Dimension | Score |', '|---|---|', ...subScores.map((s) => `| ${s.label} | ${s.score}/20 |`)]),
    '',
    ...subScores.flatMap((s) => [`**${s.label} (${s.score}/20).** ${rationale(s)}`, '']),
  ];
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function methodology(p: Prose, report: ResearchReport, usage: ResearchUsage): string[] {
  const profile = DEPTH_PROFILES[report.depth];
  const queries = report.sections?.queries ?? [];
  const tokens = usage.promptTokens + usage.completionTokens;
  // Counts estimated from characters (the server sent no `usage`) are marked as such.
  const approx = usage.tokensEstimated ? '≈' : '';
  const { modelConfidence, confidence } = report.score;
  return [
    `- Depth: ${profile.label} (${profile.searchDepth} search, ${profile.extractDepth} extract, ${profile.urlsPerAgent} pages per agent)`,
    ...(queries.length ? ['- Queries:', ...queries.map((q) => `  - ${q.agent}: “${p(q.query)}”`)] : []),
    `- Sources used: ${usage.sourcesUsed}`,
    `- Tavily: ${usage.tavilyCalls} calls, ${usage.tavilyCredits} credits spent, ${usage.cacheHits} served from cache (no credit)`,
    `- LLM tokens: ${approx}${tokens.toLocaleString('en-US')} (${approx}${usage.promptTokens.toLocaleString('en-US')} prompt, ${approx}${usage.completionTokens.toLocaleString('en-US')} completion${approx ? '; estimated, the AI server reported no usage' : ''})`,
    `- Duration: ${seconds(usage.durationMs)}`,
    `- Citations removed (markers, links and URLs pointing at nothing this run retrieved): ${usage.citationsRemoved}`,
    `- Figures flagged ${FLAG_MARK} (not found in the cited source's text, or every citation they had was removed): ${usage.figuresFlagged}`,
    ...(report.missingSections.length
      ? [
          `- Missing sections: ${report.missingSections.map((m) => `${SECTION_TITLES[m.section]} (${p(m.reason)})`).join('; ')}`,
        ]
      : []),
    ...(report.score.subScores.some((s) => s.evidence)
      ? [
          '- Evidence rules (the score is capped and the confidence set by the evidence, not by the model):',
          ...evidenceRulesText().map((rule) => `  - ${rule}`),
          ...(modelConfidence && modelConfidence !== confidence
            ? [`  - The model said its confidence was ${modelConfidence}; the evidence allows ${confidence}.`]
            : []),
        ]
      : []),
    '- Web pages were treated as untrusted data: fenced in the prompts, stripped of HTML, control characters, links and mentions.',
  ];
}

export function renderReportMarkdown(report: ResearchReport, usage: ResearchUsage): string {
  const s = report.sections;
  const p = proseFor(report);
  const lines = [
    `# ${p(report.title)}`,
    '',
    ...(report.sandbox ? [SANDBOX_NOTICE, ''] : []),
    `> ${p(report.idea)}`,
    '',
    `**PMF ${report.score.total}/100 — ${report.score.band}** · confidence ${report.score.confidence} · ${DEPTH_PROFILES[report.depth].label} depth`,
    '',
    '## Executive Summary',
    '',
    ...insufficientNote(report),
    report.summary ? p(report.summary, true) : '_No executive summary was written._',
    '',
    ...(report.keyFindings.length
      ? [
          '**Key findings**',
          ...report.keyFindings.map((f) => `- ${p(f.text)}${f.citations.map((n) => ` [${n}]`).join('')}`),
          '',
        ]
      : []),
    '## Market Analysis',
    '',
    ...marketSection(p, report, s),
    '',
    '## Competitive Landscape',
    '',
    ...competitorSection(p, report, s),
    '',
    '## Customer Insights',
    '',
    ...customerSection(p, report, s),
    '',
    '## PMF Score',
    '',
    ...scoreSection(p, report),
    '## Strategic Recommendations',
    '',
    ...(s?.recommendations.length
      ? s.recommendations.map((r, i) => `${i + 1}. ${p(r)}`)
      : ['_No recommendations were produced._']),
    '',
    '## Citations',
    '',
    ...(report.citations.length
      ? report.citations.map((c) => `${c.n}. ${markdownLink(sanitizeText(c.title), c.url, c.domain)} — ${p(c.domain)}`)
      : ['_No sources were cited._']),
    '',
    '## Methodology',
    '',
    ...methodology(p, report, usage),
    '',
  ];
  return cleanText(lines.join('\n'));
}
