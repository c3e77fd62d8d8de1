// The sandbox LLM's brain: builds a value that is valid for whatever JSON Schema the request carries,
// with field-name-aware text made from the sources quoted in the prompt. Keeping it schema-driven means
// the engine's zod schemas can change without the sandbox changing (decision 020).
import { createRng, hashSeed, type Rng } from './rng.js';
import { topicWords } from './corpus.js';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  nullable?: boolean;
  default?: unknown;
  additionalProperties?: boolean | JsonSchema;
};

export type PromptSource = { id: string; text: string; figureSentences: string[]; url?: string };

export type PromptContext = { sources: PromptSource[]; topic: string[]; idea: string };

const MAX_SOURCE_TEXT = 20_000;

/** Finds the sources the prompt lists, as `[S3]`, `id: "S3"` or `"id": "S3"`, with the text that follows each. */
export function parsePrompt(prompt: string): PromptContext {
  const marker = /\[(S\d{1,3})\]|"?\bid"?\s*:\s*"(S?\d{1,3})"/g;
  const hits: { id: string; index: number; end: number }[] = [];
  for (const m of prompt.matchAll(marker)) {
    const id = m[1] ?? m[2];
    if (id) hits.push({ id, index: m.index ?? 0, end: (m.index ?? 0) + m[0].length });
  }
  const byId = new Map<string, PromptSource>();
  hits.forEach((h, i) => {
    const next = hits.slice(i + 1).find((n) => n.id !== h.id);
    const text = prompt.slice(h.end, Math.min(next ? next.index : prompt.length, h.end + MAX_SOURCE_TEXT));
    const existing = byId.get(h.id);
    const merged = existing ? `${existing.text} ${text}` : text;
    const url = /https?:\/\/[^\s"'<>)\]]+/.exec(merged)?.[0];
    byId.set(h.id, { id: h.id, text: merged, figureSentences: figureSentences(merged), ...(url ? { url } : {}) });
  });
  const ideaLine = /idea[^:\n]*:\s*([^\n]+)/i.exec(prompt)?.[1] ?? prompt.slice(0, 300);
  return { sources: [...byId.values()], topic: topicWords(ideaLine), idea: ideaLine.trim().slice(0, 300) };
}

/** Sentences that carry a number, so a quoted claim gives the citation checker something to verify. */
function figureSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z])/)
    .map((s) => s.trim())
    .filter((s) => /\d/.test(s) && s.length >= 40 && s.length <= 300 && !/[<>`#|]/.test(s) && /[.!?]$/.test(s));
}

type Ctx = { rng: Rng; prompt: PromptContext; root: JsonSchema; focus?: PromptSource };

export function generateFromSchema(schema: unknown, prompt: PromptContext, seedText: string): unknown {
  const root = (schema ?? {}) as JsonSchema;
  const ctx: Ctx = { rng: createRng(hashSeed('llm', seedText)), prompt, root };
  return gen(root, '', ctx, 0);
}

function resolve(s: JsonSchema, ctx: Ctx): JsonSchema {
  let cur = s;
  for (let i = 0; i < 20 && cur.$ref; i++) {
    const path = cur.$ref
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p.replace(/~1/g, '/').replace(/~0/g, '~')));
    let target: unknown = ctx.root;
    for (const p of path)
      target = target && typeof target === 'object' ? (target as Record<string, unknown>)[p] : undefined;
    cur = (target ?? {}) as JsonSchema;
  }
  if (cur.allOf?.length) {
    const merged = cur.allOf
      .map((x) => resolve(x, ctx))
      .reduce<JsonSchema>(
        (a, b) => ({
          ...a,
          ...b,
          properties: { ...a.properties, ...b.properties },
          required: [...(a.required ?? []), ...(b.required ?? [])],
        }),
        {},
      );
    const { allOf: _drop, ...rest } = cur;
    void _drop;
    cur = { ...merged, ...rest, properties: { ...merged.properties, ...rest.properties } };
  }
  return cur;
}

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null') ?? 'null';
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.items) return 'array';
  return undefined;
}

function gen(raw: JsonSchema, field: string, ctx: Ctx, depth: number): unknown {
  const s = resolve(raw, ctx);
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return pickEnum(s.enum, field, ctx);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.length) {
    const nonNull = alternatives.filter((a) => resolve(a, ctx).type !== 'null');
    return gen(nonNull[0] ?? alternatives[0] ?? {}, field, ctx, depth);
  }
  switch (typeOf(s)) {
    case 'object':
      return genObject(s, ctx, depth);
    case 'array':
      return genArray(s, field, ctx, depth);
    case 'integer':
      return genNumber(s, field, ctx, true);
    case 'number':
      return genNumber(s, field, ctx, false);
    case 'boolean':
      return ctx.rng.next() < 0.7;
    case 'null':
      return null;
    case 'string':
      return genString(s, field, ctx);
    default:
      return depth > 6 ? null : genString(s, field, ctx);
  }
}

function genObject(s: JsonSchema, ctx: Ctx, depth: number): Record<string, unknown> {
  // Each object quotes one focus source, so its text and its citation field agree.
  const saved = ctx.focus;
  if (ctx.prompt.sources.length > 0 && depth > 0) ctx.focus = ctx.rng.pick(ctx.prompt.sources);
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(s.properties ?? {})) out[name] = gen(prop, name, ctx, depth + 1);
  ctx.focus = saved;
  return out;
}

const CITATION_FIELD = /(citation|source|reference|evidence)(s|_?ids?)?$|^(cites|refs)$/i;

function genArray(s: JsonSchema, field: string, ctx: Ctx, depth: number): unknown[] {
  const itemSchema = resolve((Array.isArray(s.items) ? s.items[0] : s.items) ?? {}, ctx);
  const min = s.minItems ?? 0;
  const max = s.maxItems ?? Math.max(min, 5);
  if (
    CITATION_FIELD.test(field) &&
    (typeOf(itemSchema) === 'string' || typeOf(itemSchema) === 'integer') &&
    !itemSchema.enum
  ) {
    return citationIds(itemSchema, min, max, ctx);
  }
  const wanted = Math.min(max, Math.max(min, Math.min(max, ctx.rng.int(Math.max(min, 2), Math.max(min, 4)))));
  const out: unknown[] = [];
  for (let i = 0; i < wanted; i++) out.push(gen(itemSchema, singular(field), ctx, depth + 1));
  return out;
}

function citationIds(item: JsonSchema, min: number, max: number, ctx: Ctx): unknown[] {
  const ids = ctx.prompt.sources.map((x) => x.id);
  const focus = ctx.focus?.id;
  const ordered = focus
    ? [
        focus,
        ...ctx.rng.sample(
          ids.filter((i) => i !== focus),
          ids.length,
        ),
      ]
    : ctx.rng.sample(ids, ids.length);
  const count = Math.min(max, Math.max(min, Math.min(ordered.length, ctx.rng.int(1, 2))));
  const chosen = ordered.slice(0, count);
  while (chosen.length < count || chosen.length < min) chosen.push(ids[0] ?? 'S1');
  if (typeOf(item) === 'integer') return chosen.map((id) => clampInt(Number(id.replace(/\D/g, '')) || 1, item));
  return chosen.map((id) => fitString(id, item));
}

function singular(field: string): string {
  return field.endsWith('ies') ? `${field.slice(0, -3)}y` : field.replace(/s$/, '');
}

function pickEnum(values: unknown[], field: string, ctx: Ctx): unknown {
  // Confidence-like enums lean to the middle so sandbox reports look neither empty nor certain.
  if (/confidence/i.test(field) && values.includes('medium')) return 'medium';
  return ctx.rng.pick(values);
}

function bounds(s: JsonSchema, integer: boolean): [number, number] {
  const step = integer ? 1 : 0.01;
  let lo = s.minimum ?? (typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + step : -Infinity);
  let hi = s.maximum ?? (typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - step : Infinity);
  if (!Number.isFinite(lo) && !Number.isFinite(hi)) [lo, hi] = [0, 100];
  else if (!Number.isFinite(lo)) lo = Math.min(0, hi);
  else if (!Number.isFinite(hi)) hi = lo + 100;
  return integer ? [Math.ceil(lo), Math.floor(hi)] : [lo, hi];
}

function genNumber(s: JsonSchema, field: string, ctx: Ctx, integer: boolean): number {
  const [lo, hi] = bounds(s, integer);
  // Scores sit in the upper-middle of their range: plausible, and never a suspicious 0 or max.
  const [from, to] = /score|rating/i.test(field) ? [0.45, 0.8] : [0, 1];
  const x = lo + (hi - lo) * (from + (to - from) * ctx.rng.next());
  let v = integer ? Math.round(x) : Math.round(x * 100) / 100;
  if (s.multipleOf) v = Math.round(v / s.multipleOf) * s.multipleOf;
  return Math.min(hi, Math.max(lo, v));
}

function clampInt(v: number, s: JsonSchema): number {
  const [lo, hi] = bounds(s, true);
  return Math.min(hi, Math.max(lo, v));
}

function fitString(text: string, s: JsonSchema): string {
  let out = text;
  const min = s.minLength ?? 0;
  while (out.length < min) out += ` ${text}`;
  if (s.maxLength !== undefined && out.length > s.maxLength) {
    const cut = out.slice(0, s.maxLength);
    const lastSpace = cut.lastIndexOf(' ');
    out = lastSpace > s.maxLength * 0.6 ? cut.slice(0, lastSpace) : cut;
  }
  return out.length < min ? out.padEnd(min, '.') : out;
}

function genString(s: JsonSchema, field: string, ctx: Ctx): string {
  return fitString(stringFor(s, field, ctx), s);
}

function stringFor(s: JsonSchema, field: string, ctx: Ctx): string {
  const r = ctx.rng;
  const topic = ctx.prompt.topic.join(' ');
  const T = topic.replace(/\b\w/g, (c) => c.toUpperCase());
  switch (s.format) {
    case 'uri':
    case 'url':
      return ctx.focus?.url ?? `https://www.${ctx.prompt.topic[0] ?? 'market'}-insights.example/`;
    case 'email':
      return 'analyst@sandbox.example';
    case 'date-time':
      return '2025-01-15T00:00:00.000Z';
    case 'date':
      return '2025-01-15';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    default:
      break;
  }
  if (CITATION_FIELD.test(field)) return ctx.focus?.id ?? ctx.prompt.sources[0]?.id ?? 'S1';
  if (/url|link/i.test(field))
    return ctx.focus?.url ?? `https://www.${ctx.prompt.topic[0] ?? 'market'}-insights.example/`;
  if (/quer/i.test(field))
    return `${topic} ${r.pick(['market size growth 2024', 'competitors pricing comparison', 'customer pain points reviews', 'willingness to pay survey', 'industry trends forecast'])}`;
  if (/^(id|key|slug)$/i.test(field)) return `${ctx.prompt.topic.join('-')}-${r.int(1, 99)}`;
  if (/product|idea/i.test(field)) return `A service for ${topic}: ${ctx.prompt.idea.slice(0, 160)}`;
  if (/customer|audience|segment|persona|user/i.test(field))
    return r.pick([
      `Busy urban professionals aged 25–44 who need ${topic}`,
      `Small businesses that rely on ${topic}`,
      `Families looking for trustworthy ${topic} options`,
    ]);
  if (/problem|pain/i.test(field))
    return `Finding reliable, affordable ${topic} takes too long and quality is inconsistent.`;
  if (/category|industry|sector/i.test(field)) return `${T} marketplace`;
  if (/(^|_)name$|company|competitor|brand/i.test(field))
    return `${(ctx.prompt.topic[0] ?? 'Market').replace(/^\w/, (c) => c.toUpperCase())}${r.pick(['ly', 'Hub', 'Go', 'Nest', 'Pal'])}`;
  if (/title|headline|heading|label/i.test(field))
    return `${T}: ${r.pick(['market outlook', 'competitive landscape', 'customer insights', 'opportunity assessment'])}`;
  return sentence(field, ctx);
}

/** A claim sentence: quotes a figure from the focus source when there is one, so citations can be checked. */
function sentence(field: string, ctx: Ctx): string {
  const r = ctx.rng;
  const topic = ctx.prompt.topic.join(' ');
  const quoted = ctx.focus?.figureSentences.length ? r.pick(ctx.focus.figureSentences) : undefined;
  const lead = r.pick(['Evidence suggests', 'Sources indicate', 'Research shows', 'The data suggests']);
  const opinion = r.pick([
    `demand for ${topic} is real but fragmented across many small providers.`,
    `customers value trust and convenience in ${topic} above price alone.`,
    `there is room for a focused entrant in ${topic} that solves reliability.`,
    `incumbents in ${topic} compete mostly on price, leaving quality under-served.`,
  ]);
  if (/recommend|action|next|step/i.test(field))
    return `Validate the ${topic} offer with a small paid pilot before scaling acquisition spend.`;
  if (quoted) return `${quoted} ${lead} ${opinion}`;
  return `${lead} ${opinion}`;
}
