// The sandbox LLM as an evaluation judge (core/evals/judge.ts): answers the four judge tasks from the fenced
// data alone, deterministically, so `PMF_SANDBOX=1 npm run eval` gives verdicts that mean something — a
// claim whose figures or key terms are missing from its passage is not supported — instead of the random
// but schema-valid values generateFromSchema would give.
import { figuresIn, sourceContainsFigure } from '../research/citations.js';

const STOP = new Set(
  'about above after again against also among been before being below between both could does doing down during each from further have having here into itself just more most other over same should some such than that their them then there these they this those through under until very were what when where which while with would your will'.split(
    ' ',
  ),
);

function fenced(prompt: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>\\n?([\\s\\S]*?)\\n?</${tag}>`).exec(prompt);
  return m?.[1];
}

/** Content words, cut to five letters so "pricing" meets "priced" and "owners" meets "owner". */
function keyTerms(text: string): string[] {
  const words = text.toLowerCase().match(/\p{L}[\p{L}\p{N}-]{3,}/gu) ?? [];
  return [...new Set(words.filter((w) => !STOP.has(w)).map((w) => w.slice(0, 5)))];
}

function termShare(from: string, within: string): number {
  const wanted = keyTerms(from);
  if (wanted.length === 0) return 0;
  const have = new Set(keyTerms(within));
  return wanted.filter((w) => have.has(w)).length / wanted.length;
}

/** supported iff every figure is in the passage and ≥ 60% of the key terms are; partly from 35%. */
export function sandboxCitationVerdict(claim: string, passage: string): 'supported' | 'partly' | 'not_supported' {
  const share = termShare(claim, passage);
  const figuresOk = figuresIn(claim).every((f) => sourceContainsFigure(passage, f));
  if (figuresOk && share >= 0.6) return 'supported';
  if (share >= 0.35) return 'partly';
  return 'not_supported';
}

/** Scores 1–10 from what the text shows: breadth of vocabulary, reasoning words, advice, sentence length. */
function sandboxRubric(text: string) {
  const clamp = (n: number) => Math.max(1, Math.min(10, Math.round(n)));
  const sentences = text.split(/(?<=[.!?])\s+/).filter((s) => s.trim());
  const words = text.split(/\s+/).filter(Boolean).length;
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  const meanLength = sentences.length ? words / sentences.length : 0;
  return {
    comprehensiveness: clamp(keyTerms(text).length / 40),
    insight: clamp(1 + count(/\b(because|however|gap|risk|whereas|unless|therefore)\b/gi) / 2),
    usefulness: clamp(1 + count(/\b(should|recommend\w*|test|launch|start|focus|prioriti\w*|validate)\b/gi) / 2),
    readability: clamp(10 - Math.abs(meanLength - 20) / 3),
    rationale: 'Sandbox judge: scored from the text’s breadth, reasoning words, advice and sentence length.',
  };
}

const rubricTotal = (text: string): number => {
  const r = sandboxRubric(text);
  return r.comprehensiveness + r.insight + r.usefulness + r.readability;
};

/** The judge's answer for a prompt from core/evals/judge.ts, or undefined for any other prompt. */
export function sandboxJudgeAnswer(fullPrompt: string): unknown {
  const opening = /<eval task="(citation|coverage|rubric|compare)">/.exec(fullPrompt);
  const task = opening?.[1];
  // Only the user message's data counts: the system prompt names the same tags when it explains them.
  const prompt = fullPrompt.slice(opening?.index ?? 0);
  switch (task) {
    case 'citation': {
      const verdict = sandboxCitationVerdict(fenced(prompt, 'claim') ?? '', fenced(prompt, 'passage') ?? '');
      return { verdict, reason: `Sandbox judge: the passage's terms and figures make this ${verdict}.` };
    }
    case 'coverage': {
      const report = fenced(prompt, 'report') ?? '';
      const items = [...prompt.matchAll(/<requirement index="(\d+)">([^<]*)<\/requirement>/g)].map((m) => ({
        index: Number(m[1]),
        covered: termShare(m[2] ?? '', report) >= 0.5,
      }));
      return { items };
    }
    case 'rubric':
      return sandboxRubric(fenced(prompt, 'report') ?? '');
    case 'compare': {
      const a = rubricTotal(fenced(prompt, 'report_a') ?? '');
      const b = rubricTotal(fenced(prompt, 'report_b') ?? '');
      return { winner: a > b ? 'A' : b > a ? 'B' : 'tie', reason: `Sandbox judge: rubric totals ${a} and ${b}.` };
    }
    default:
      return undefined;
  }
}
