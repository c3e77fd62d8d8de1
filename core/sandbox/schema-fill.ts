// The sandbox LLM's brain: builds a value that is valid for whatever JSON Schema the request carries,
// with field-name-aware text made from the sources quoted in the prompt (read by prompt-context.ts).
// Keeping it schema-driven means the engine's zod schemas can change without the sandbox changing
// (decision 020).
import { createRng, hashSeed, type Rng } from './rng.js';
import type { PromptContext, PromptSource } from './prompt-context.js';

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
  description?: string;
  default?: unknown;
  additionalProperties?: boolean | JsonSchema;
};

type Ctx = {
  rng: Rng;
  prompt: PromptContext;
  root: JsonSchema;
  focus?: PromptSource;
  /** Property names from the root to the current value: `queries.market` is a query, `segments.name` a segment. */
  path: string[];
  /** The current property's `description`, which often says what the text is for ("search query", "inline"). */
  description: string;
  /** Names already given, so competitors are not listed twice. */
  used: Set<string>;
};

export function generateFromSchema(schema: unknown, prompt: PromptContext, seedText: string): unknown {
  const root = (schema ?? {}) as JsonSchema;
  const ctx: Ctx = {
    rng: createRng(hashSeed('llm', seedText)),
    prompt,
    root,
    path: [],
    description: '',
    used: new Set(),
  };
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
  ctx.description = raw.description ?? s.description ?? ctx.description;
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
  if (depth > 12) return {};
  // Each object quotes one focus source, so its text and its citation field agree.
  const saved = ctx.focus;
  if (ctx.prompt.sources.length > 0) ctx.focus = ctx.rng.pick(ctx.prompt.sources);
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    ctx.path.push(name);
    ctx.description = '';
    out[name] = gen(prop, name, ctx, depth + 1);
    ctx.path.pop();
  }
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
  // Two to four items unless the schema says otherwise; recursive schemas bottom out at depth 10.
  const wanted = depth > 10 ? min : Math.min(max, ctx.rng.int(Math.max(min, 2), Math.max(min, 4)));
  const out: unknown[] = [];
  for (let i = 0; i < wanted; i++) {
    let item = gen(itemSchema, singular(field), ctx, depth + 1);
    // Lists read badly with repeats; a few re-draws usually find a distinct item.
    const seen = (x: unknown): boolean => out.some((o) => JSON.stringify(o) === JSON.stringify(x));
    for (let tries = 0; seen(item) && tries < 5; tries++) item = gen(itemSchema, singular(field), ctx, depth + 1);
    out.push(item);
  }
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
  const within = (re: RegExp): boolean => re.test(field) || ctx.path.some((p) => re.test(p));
  if (within(/quer/i) || /search query/i.test(ctx.description)) {
    // An idea that says "hostile" keeps the word in its queries, so the sandbox search serves the hostile corpus.
    const marker = /\bhostile\b/i.test(ctx.prompt.idea) ? ' hostile' : '';
    return `${topic} ${queryFacet(field, ctx.description)}${marker}`;
  }
  if (/^(id|key|slug)$/i.test(field)) return `${ctx.prompt.topic.join('-')}-${r.int(1, 99)}`;
  if (within(/segment|persona|audience/i) && /name|label|title/i.test(field)) {
    return r.pick([
      'Urban professionals',
      'Small business owners',
      'Budget-conscious families',
      'Early adopters',
      'Students',
    ]);
  }
  if (/product|idea/i.test(field)) return `A service for ${topic}: ${ctx.prompt.idea.slice(0, 160)}`;
  if (/customer|audience|segment|persona|user/i.test(field)) {
    return r.pick([
      `Busy urban professionals aged 25–44 who need ${topic}`,
      `Small businesses that rely on ${topic}`,
      `Families looking for trustworthy ${topic} options`,
    ]);
  }
  if (/problem|pain/i.test(field))
    return `Finding reliable, affordable ${topic} takes too long and quality is inconsistent.`;
  if (/category|industry|sector/i.test(field)) return `${T} marketplace`;
  if (/pric/i.test(field))
    return ctx.focus?.figureSentences.find((x) => x.includes('$')) ?? 'Not stated by the sources.';
  if (/(^|_)name$|company|competitor|brand/i.test(field)) {
    const names = ctx.prompt.topic.flatMap((w) =>
      ['ly', 'Hub', 'Go', 'Nest', 'Pal', 'ify', 'Wise'].map((x) => `${w.replace(/^\w/, (c) => c.toUpperCase())}${x}`),
    );
    const fresh = names.filter((n) => !ctx.used.has(n));
    const name = r.pick(fresh.length > 0 ? fresh : names.length > 0 ? names : ['Marketly']);
    ctx.used.add(name);
    return name;
  }
  if (/title|headline|heading|label/i.test(field)) {
    return `${T}: ${r.pick(['market outlook', 'competitive landscape', 'customer insights', 'opportunity assessment'])}`;
  }
  if (within(/recommend|action|next_?step/i)) {
    const inline = /inline/i.test(ctx.description) && ctx.focus ? ` [${ctx.focus.id}]` : '';
    return `${r.pick(RECOMMENDATIONS)(topic)}${inline}`;
  }
  return sentence(ctx);
}

function queryFacet(field: string, description: string): string {
  const hint = `${field} ${description}`;
  if (/compet|alternativ/i.test(hint)) return 'competitors alternatives pricing';
  if (/customer|user|pain|review|willing/i.test(hint)) return 'customer pain points reviews willingness to pay';
  if (/market|size|growth|trend/i.test(hint)) return 'market size growth trends 2024';
  return 'industry analysis 2024';
}

const RECOMMENDATIONS: ((topic: string) => string)[] = [
  (t) => `Validate the ${t} offer with a small paid pilot before scaling acquisition spend.`,
  (t) => `Lead with trust features (verification, insurance, reviews) that incumbents in ${t} under-deliver.`,
  (t) => `Start in one dense metro area to build ${t} supply before expanding.`,
  (t) => `Test a subscription tier for repeat ${t} customers alongside per-transaction pricing.`,
  (t) => `Partner with adjacent brands to lower ${t} customer acquisition costs.`,
  (t) => `Track retention cohorts monthly; repeat usage is the clearest ${t} PMF signal.`,
];

/** A claim sentence: quotes a figure from the focus source when there is one, so citations can be checked. */
function sentence(ctx: Ctx): string {
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
  // A field described as citing "inline" gets the id after the quoted sentence, as the prompt asked.
  const inline = /inline/i.test(ctx.description) && ctx.focus ? ` [${ctx.focus.id}]` : '';
  if (quoted) return `${quoted}${inline} ${lead} ${opinion}`;
  return `${lead} ${opinion}`;
}
