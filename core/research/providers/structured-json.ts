// Pure helpers for reading a model's structured answer wherever it put it, and for repairing the slips whose
// meaning is unambiguous before zod judges it (decision 024). No I/O: table-tested in structured-json.test.ts.
import { z } from 'zod';

export type Extracted = { ok: true; value: unknown } | { ok: false; reason: string };

/** Reasoning models served by Ollama, vLLM or llama.cpp often think aloud before answering. */
const THINKING = /<think>[\s\S]*?<\/think>/gi;
const FENCE = /```[ \t]*(?:json|JSON|json5)?[ \t]*\r?\n?([\s\S]*?)```/g;

function tryParse(text: string): { ok: true; value: unknown } | undefined {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    const repaired = repairJson(text);
    if (repaired === text) return undefined;
    try {
      return { ok: true, value: JSON.parse(repaired) as unknown };
    } catch {
      return undefined;
    }
  }
}

/**
 * The two slips small models make most that have only one reading: a trailing comma before `}` or `]`, and a
 * raw line break inside a string. Fixed outside and inside strings respectively; nothing else is touched.
 */
function repairJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      if (c === '\\') {
        out += c + (text[i + 1] ?? '');
        i++;
      } else if (c === '"') {
        inString = false;
        out += c;
      } else if (c === '\n') out += '\\n';
      else if (c === '\r') out += '\\r';
      else if (c === '\t') out += '\\t';
      else out += c;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ',' && /^\s*[}\]]/.test(text.slice(i + 1))) continue;
    out += c;
  }
  return out;
}

/** The end index (exclusive) of the JSON object or array opening at `start`, or -1 when it never closes. */
function balancedEnd(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Finds the one JSON value a model meant as its answer: the whole text, a fenced ```json block, or the first
 * balanced `{…}` inside prose ("Here is the analysis: {…} Hope this helps"). Objects win over arrays.
 */
export function extractJson(raw: string): Extracted {
  const text = raw.replace(THINKING, '').trim();
  if (!text) return { ok: false, reason: 'the answer was empty' };
  const whole = tryParse(text);
  if (whole && whole.value !== null && typeof whole.value === 'object') return whole;
  for (const m of text.matchAll(FENCE)) {
    const inner = tryParse((m[1] ?? '').trim());
    if (inner && inner.value !== null && typeof inner.value === 'object') return inner;
  }
  let unterminated = false;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) {
      const end = balancedEnd(text, i);
      if (end === -1) {
        unterminated = true;
        continue;
      }
      const found = tryParse(text.slice(i, end));
      if (found) return found;
    }
  }
  return {
    ok: false,
    reason: unterminated ? 'the JSON in the answer never closes (cut off?)' : 'the answer holds no JSON object',
  };
}

/** Keys compared without case, `_`, `-` or spaces: `target_customer` is `targetCustomer`. */
const keyOf = (k: string): string => k.toLowerCase().replace(/[\s_-]/g, '');

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Repairs what a sloppy model gets wrong where only one reading is possible, walking the zod schema:
 * numeric strings (and "15/20" out of the declared maximum) become numbers, numbers are clamped into a declared min–max, enum values match
 * case-insensitively, a missing nullable field becomes null, a missing list becomes empty, a lone item
 * where a list is expected becomes a one-item list, lists are cut to their maximum, unknown keys are
 * dropped and keys match regardless of case or snake_case. Anything else is left for zod to report.
 */
export function coerceToSchema(schema: z.ZodTypeAny, value: unknown): unknown {
  if (schema instanceof z.ZodOptional) return value === undefined ? undefined : coerceToSchema(schema.unwrap(), value);
  if (schema instanceof z.ZodNullable) {
    if (value === undefined || value === null || (typeof value === 'string' && value.trim().toLowerCase() === 'null'))
      return null;
    return coerceToSchema(schema.unwrap(), value);
  }
  if (schema instanceof z.ZodDefault)
    return value === undefined ? undefined : coerceToSchema(schema.removeDefault(), value);
  if (schema instanceof z.ZodEffects) return coerceToSchema(schema.innerType(), value);
  if (schema instanceof z.ZodBranded || schema instanceof z.ZodReadonly)
    return coerceToSchema(schema.unwrap() as z.ZodTypeAny, value);
  if (schema instanceof z.ZodLazy) return coerceToSchema(schema.schema, value);
  if (schema instanceof z.ZodObject) return coerceObject(schema, value);
  if (schema instanceof z.ZodArray) return coerceArray(schema, value);
  if (schema instanceof z.ZodNumber) return coerceNumber(schema, value);
  if (schema instanceof z.ZodString)
    return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
  if (schema instanceof z.ZodBoolean) {
    if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
    return value;
  }
  if (schema instanceof z.ZodEnum) return matchOption(schema.options as string[], value);
  if (schema instanceof z.ZodLiteral) {
    const literal: unknown = schema.value;
    return typeof literal === 'string' ? matchOption([literal], value) : value;
  }
  if (schema instanceof z.ZodRecord) {
    if (!isPlainObject(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerceToSchema(schema.valueSchema, v)]));
  }
  if (schema instanceof z.ZodUnion || schema instanceof z.ZodDiscriminatedUnion) {
    const options = (schema.options as z.ZodTypeAny[]) ?? [];
    if (options.some((o) => o.safeParse(value).success)) return value;
    for (const option of options) {
      const candidate = coerceToSchema(option, value);
      if (option.safeParse(candidate).success) return candidate;
    }
    return value;
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function acceptsNull(s: z.ZodTypeAny): boolean {
  return s.safeParse(null).success;
}

function isArraySchema(s: z.ZodTypeAny): boolean {
  let cur: z.ZodTypeAny = s;
  while (cur instanceof z.ZodEffects || cur instanceof z.ZodDefault) {
    cur = cur instanceof z.ZodEffects ? cur.innerType() : cur.removeDefault();
  }
  return cur instanceof z.ZodArray;
}

function coerceObject(schema: z.AnyZodObject, value: unknown): unknown {
  let found: unknown = value;
  // Some models put the object inside a string ("arguments": "{\"a\":1}" twice encoded).
  if (typeof found === 'string') {
    const parsed = extractJson(found);
    if (parsed.ok) found = parsed.value;
  }
  if (!isPlainObject(found)) return value;
  const shape = schema.shape as Record<string, z.ZodTypeAny>;
  const obj = unwrapEnvelope(found, shape);
  const byKey = new Map<string, string[]>();
  for (const k of Object.keys(obj)) byKey.set(keyOf(k), [...(byKey.get(keyOf(k)) ?? []), k]);
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(shape)) {
    let raw: unknown = obj[name];
    if (raw === undefined) {
      const alike = byKey.get(keyOf(name)) ?? [];
      if (alike.length === 1) raw = obj[alike[0] as string];
    }
    if (raw === undefined) {
      if (field.isOptional()) continue;
      if (acceptsNull(field)) out[name] = null;
      else if (isArraySchema(field)) out[name] = coerceToSchema(field, []);
      continue;
    }
    out[name] = coerceToSchema(field, raw);
  }
  // Unknown keys are dropped unless the schema keeps them.
  if (schema._def.unknownKeys === 'passthrough') {
    for (const [k, v] of Object.entries(obj)) if (!(k in shape) && !(k in out)) out[k] = v;
  }
  return out;
}

/**
 * Small models often wrap the answer: `{"properties": {…}}` (echoing the schema), `{"arguments": {…}}` or
 * `{"pmf_report": {…}}`. When none of the expected keys is present and exactly one key holds an object that
 * has some of them, that object is the answer.
 */
function unwrapEnvelope(obj: Record<string, unknown>, shape: Record<string, z.ZodTypeAny>): Record<string, unknown> {
  const expected = new Set(Object.keys(shape).map(keyOf));
  if (Object.keys(obj).some((k) => expected.has(keyOf(k)))) return obj;
  const inner = Object.values(obj).filter(
    (v): v is Record<string, unknown> => isPlainObject(v) && Object.keys(v).some((k) => expected.has(keyOf(k))),
  );
  return inner.length === 1 ? (inner[0] as Record<string, unknown>) : obj;
}

function coerceArray(schema: z.ZodArray<z.ZodTypeAny>, value: unknown): unknown {
  let list: unknown = value;
  if (list === null || list === undefined) list = [];
  else if (!Array.isArray(list)) {
    // A list sent as a JSON string, or a lone item where a list is expected.
    const parsed = typeof list === 'string' ? extractJson(list) : undefined;
    list = parsed?.ok && Array.isArray(parsed.value) ? parsed.value : [list];
  }
  const items = (list as unknown[]).map((item) => coerceToSchema(schema.element, item));
  const max = schema._def.maxLength?.value ?? schema._def.exactLength?.value;
  return max !== undefined && items.length > max ? items.slice(0, max) : items;
}

function coerceNumber(schema: z.ZodNumber, value: unknown): unknown {
  let n: unknown = value;
  if (typeof n === 'string') {
    const t = n.trim();
    // "15/20" out of the declared maximum means 15; out of anything else it is left for zod.
    const ratio = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(t);
    if (ratio && schema.maxValue !== null && Number(ratio[2]) === schema.maxValue) n = Number(ratio[1]);
    else if (NUMERIC.test(t)) n = Number(t);
    else return value;
  }
  if (typeof n !== 'number' || !Number.isFinite(n)) return value;
  const min = schema.minValue;
  const max = schema.maxValue;
  // Only a range declared at both ends is clamped: "0 to 20" says what 25 must mean; a lone bound does not.
  if (min !== null && max !== null) n = Math.min(max, Math.max(min, n as number));
  if (schema.isInt && Number.isInteger(Math.round((n as number) * 1e9) / 1e9)) n = Math.round(n as number);
  return n;
}

function matchOption(options: string[], value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (options.includes(value)) return value;
  const norm = (s: string): string =>
    s
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_');
  const hits = options.filter((o) => norm(o) === norm(value));
  return hits.length === 1 ? hits[0] : value;
}
