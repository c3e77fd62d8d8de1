// The Markdown file users receive, rendered from the structured report. Pure: the same report and usage
// always give the same bytes, and everything passes through sanitizeText on the way out.
import { FLAG_MARK } from './citations.js';
import type { ResearchReport, ResearchUsage, ReportSections } from './contract.js';
import { DEPTH_PROFILES } from './depth.js';
import { sanitizeText } from './sanitize.js';

export const SANDBOX_NOTICE =
  '> ⚠️ **Synthetic report.** This research ran on the built-in sandbox providers: its sources and analysis are synthetic and say nothing about the real market.';

const SECTION_TITLES = {
  market: 'Market Analysis',
  competitors: 'Competitive Landscape',
  customers: 'Customer Insights',
} as const;

function bullets(items: string[], empty: string): string[] {
  return items.length ? items.map((i) => `- ${i}`) : [`_${empty}_`];
}

function missing(report: ResearchReport, section: keyof typeof SECTION_TITLES): string[] | undefined {
  const gap = report.missingSections.find((m) => m.section === section);
  return gap ? [`_This section is missing: ${gap.reason}_`] : undefined;
}

function marketSection(report: ResearchReport, s?: ReportSections): string[] {
  const gap = missing(report, 'market');
  if (gap) return gap;
  const m = s?.market;
  if (!m) return ['_No market analysis was produced for this report._'];
  return [
    m.overview,
    '',
    '**Market size**',
    ...bullets(m.size, 'No market size figure was found in the sources.'),
    '',
    '**Growth and timing**',
    ...bullets(m.growth, 'No growth evidence was found in the sources.'),
    '',
    '**Trends**',
    ...bullets(m.trends, 'No trends were found in the sources.'),
  ];
}

function competitorSection(report: ResearchReport, s?: ReportSections): string[] {
  const gap = missing(report, 'competitors');
  if (gap) return gap;
  const c = s?.competitors;
  if (!c) return ['_No competitive analysis was produced for this report._'];
  const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const table = c.competitors.length
    ? [
        '| Competitor | Positioning | Pricing |',
        '|---|---|---|',
        ...c.competitors.map((x) => `| ${cell(x.name)} | ${cell(x.positioning)} | ${cell(x.pricing ?? 'not found')} |`),
      ]
    : ['_No named competitors were found in the sources._'];
  return [...table, '', '**Gaps and whitespace**', ...bullets(c.gaps, 'No gaps were identified.')];
}

function customerSection(report: ResearchReport, s?: ReportSections): string[] {
  const gap = missing(report, 'customers');
  if (gap) return gap;
  const c = s?.customers;
  if (!c) return ['_No customer analysis was produced for this report._'];
  return [
    '**Segments**',
    ...(c.segments.length
      ? c.segments.map((x) => `- **${x.name}** — ${x.description}`)
      : ['_No segments were identified._']),
    '',
    '**Pains**',
    ...bullets(c.pains, 'No pains were found in the sources.'),
    '',
    '**Willingness to pay**',
    ...bullets(c.willingnessToPay, 'No willingness-to-pay evidence was found in the sources.'),
  ];
}

function scoreSection(report: ResearchReport): string[] {
  const { total, band, confidence, subScores } = report.score;
  return [
    `**${total}/100 — ${band}** (confidence: ${confidence})`,
    '',
    '| Dimension | Score |',
    '|---|---|',
    ...subScores.map((s) => `| ${s.label} | ${s.score}/20 |`),
    '',
    ...subScores.flatMap((s) => [`**${s.label} (${s.score}/20).** ${s.rationale}`, '']),
  ];
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function methodology(report: ResearchReport, usage: ResearchUsage): string[] {
  const profile = DEPTH_PROFILES[report.depth];
  const queries = report.sections?.queries ?? [];
  const tokens = usage.promptTokens + usage.completionTokens;
  // Counts estimated from characters (the server sent no `usage`) are marked as such.
  const approx = usage.tokensEstimated ? '≈' : '';
  return [
    `- Depth: ${profile.label} (${profile.searchDepth} search, ${profile.extractDepth} extract, ${profile.urlsPerAgent} pages per agent)`,
    ...(queries.length ? ['- Queries:', ...queries.map((q) => `  - ${q.agent}: “${q.query}”`)] : []),
    `- Sources used: ${usage.sourcesUsed}`,
    `- Tavily: ${usage.tavilyCalls} calls, ${usage.tavilyCredits} credits spent, ${usage.cacheHits} served from cache (no credit)`,
    `- LLM tokens: ${approx}${tokens.toLocaleString('en-US')} (${approx}${usage.promptTokens.toLocaleString('en-US')} prompt, ${approx}${usage.completionTokens.toLocaleString('en-US')} completion${approx ? '; estimated, the AI server reported no usage' : ''})`,
    `- Duration: ${seconds(usage.durationMs)}`,
    `- Citations removed (pointing at nothing this run retrieved): ${usage.citationsRemoved}`,
    `- Figures flagged ${FLAG_MARK} (not found in the cited source's text): ${usage.figuresFlagged}`,
    ...(report.missingSections.length
      ? [
          `- Missing sections: ${report.missingSections.map((m) => `${SECTION_TITLES[m.section]} (${m.reason})`).join('; ')}`,
        ]
      : []),
    '- Web pages were treated as untrusted data: fenced in the prompts, stripped of HTML, links and mentions.',
  ];
}

export function renderReportMarkdown(report: ResearchReport, usage: ResearchUsage): string {
  const s = report.sections;
  const lines = [
    `# ${report.title}`,
    '',
    ...(report.sandbox ? [SANDBOX_NOTICE, ''] : []),
    `> ${report.idea.replace(/\n/g, ' ')}`,
    '',
    `**PMF ${report.score.total}/100 — ${report.score.band}** · confidence ${report.score.confidence} · ${DEPTH_PROFILES[report.depth].label} depth`,
    '',
    '## Executive Summary',
    '',
    report.summary,
    '',
    ...(report.keyFindings.length
      ? [
          '**Key findings**',
          ...report.keyFindings.map((f) => `- ${f.text}${f.citations.map((n) => ` [${n}]`).join('')}`),
          '',
        ]
      : []),
    '## Market Analysis',
    '',
    ...marketSection(report, s),
    '',
    '## Competitive Landscape',
    '',
    ...competitorSection(report, s),
    '',
    '## Customer Insights',
    '',
    ...customerSection(report, s),
    '',
    '## PMF Score',
    '',
    ...scoreSection(report),
    '## Strategic Recommendations',
    '',
    ...(s?.recommendations.length
      ? s.recommendations.map((r, i) => `${i + 1}. ${r}`)
      : ['_No recommendations were produced._']),
    '',
    '## Citations',
    '',
    ...(report.citations.length
      ? report.citations.map((c) => `${c.n}. [${c.title.replace(/[[\]]/g, '')}](${c.url}) — ${c.domain}`)
      : ['_No sources were cited._']),
    '',
    '## Methodology',
    '',
    ...methodology(report, usage),
    '',
  ];
  return sanitizeText(lines.join('\n'));
}
