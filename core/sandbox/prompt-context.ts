// What the sandbox LLM reads out of a prompt: the sources it lists (with the text after each and the
// sentences that carry a figure, so a quoted claim gives the citation checker something to verify), the
// idea and its topic words. schema-fill.ts writes its answer from this.
import { topicWords } from './corpus.js';

export type PromptSource = { id: string; text: string; figureSentences: string[]; url?: string };

export type PromptContext = { sources: PromptSource[]; topic: string[]; idea: string };

const MAX_SOURCE_TEXT = 20_000;

/** `<source id="S3">`, `id: "S3"`, `"id": "S3"`: markers that unambiguously open a source. */
const STRUCTURED_MARKER = /<source\b[^>]*?\bid="(S?\d{1,3})"[^>]*>|"?\bid"?\s*:\s*"(S?\d{1,3})"/g;
/** `[S3] Title` at the start of a line: the fallback when no structured marker is present. */
const LINE_MARKER = /^[ \t]*\[(S\d{1,3})\]/gm;
/** A claim already attributed in the prompt (e.g. an agent's JSON analysis shown to the report writer). */
const JSON_CLAIM =
  /"((?:[^"\\]|\\.){30,400})"\s*,\s*"(?:sources|citations|sourceIds|source_ids|refs)"\s*:\s*\[([^\]]*)\]/g;
const INLINE_CLAIM = /([A-Z](?:[^.!?\n[\]]|\.(?=\d)){29,300}?)\s*\[(S\d{1,3})\]/g;

/**
 * Finds the sources the user messages list and the text that follows each, plus the topic. Only the
 * user text is searched for sources: system prompts quote example ids ("cite like [S3]").
 */
export function parsePrompt(userText: string, systemText = ''): PromptContext {
  const structured = [...userText.matchAll(STRUCTURED_MARKER)];
  const matches = structured.length > 0 ? structured : [...userText.matchAll(LINE_MARKER)];
  const hits = matches.map((m) => ({
    id: (m[1] ?? m[2]) as string,
    index: m.index ?? 0,
    end: (m.index ?? 0) + m[0].length,
  }));
  const texts = new Map<string, string>();
  const extra = new Map<string, string[]>();
  hits.forEach((h, i) => {
    const next = hits.slice(i + 1).find((n) => n.id !== h.id);
    const text = userText.slice(h.end, Math.min(next ? next.index : userText.length, h.end + MAX_SOURCE_TEXT));
    texts.set(h.id, `${texts.get(h.id) ?? ''} ${text}`);
  });
  const attribute = (sentence: string, ids: string[]): void => {
    const clean = sentence.replace(/\\"/g, '"').trim();
    const id = ids[0];
    if (!id || !/\d/.test(clean)) return;
    extra.set(id, [...(extra.get(id) ?? []), clean]);
  };
  for (const m of userText.matchAll(JSON_CLAIM)) attribute(m[1] ?? '', (m[2] ?? '').match(/S?\d{1,3}/g) ?? []);
  for (const m of userText.matchAll(INLINE_CLAIM)) attribute(m[1] ?? '', [m[2] ?? '']);
  const ids = [...new Set([...texts.keys(), ...extra.keys()])];
  const sources = ids.map((id) => {
    const text = `${texts.get(id) ?? ''} ${(extra.get(id) ?? []).join(' ')}`;
    const url = /https?:\/\/[^\s"'<>)\]‹›]+/.exec(text)?.[0];
    const sentences = [
      ...new Set([...figureSentences(texts.get(id) ?? ''), ...(extra.get(id) ?? []).filter(isQuotable)]),
    ];
    return { id, text, figureSentences: sentences, ...(url ? { url } : {}) };
  });
  const topicLine =
    /^[ \t]*(?:idea|product)\s*:\s*(.+)$/im.exec(userText)?.[1] ??
    /^[ \t]*(?:idea|product)\s*:\s*(.+)$/im.exec(systemText)?.[1] ??
    userText.slice(0, 300);
  return { sources, topic: topicWords(topicLine), idea: topicLine.trim().slice(0, 300) };
}

function isQuotable(s: string): boolean {
  return /\d/.test(s) && s.length >= 30 && s.length <= 400 && !/[<>`#|‹›]/.test(s);
}

/** Sentences that carry a number, so a quoted claim gives the citation checker something to verify. */
function figureSentences(text: string): string[] {
  return text
    .replace(/<[^>\n]*>/g, '\n')
    .split('\n')
    .filter((line) => !/^\s*\[S?\d{1,3}\]/.test(line)) // `[S3] Title` lines are titles, not prose
    .flatMap((line) => line.trim().split(/(?<=[.!?])\s+(?=[A-Z])/))
    .map((x) => x.trim())
    .filter((x) => isQuotable(x) && x.length >= 40 && x.length <= 300 && /[.!?]$/.test(x));
}
