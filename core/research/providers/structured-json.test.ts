import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CompetitorAnalysisSchema, PlanSchema, ReportDraftSchema } from '../schemas.js';
import { coerceToSchema, extractJson } from './structured-json.js';

describe('extractJson', () => {
  it.each([
    ['plain JSON', '{"a": 1}', { a: 1 }],
    ['JSON with whitespace', '\n  {"a": [1, 2]}  \n', { a: [1, 2] }],
    ['a ```json fence', 'Sure!\n```json\n{"a": "x"}\n```\n', { a: 'x' }],
    ['an unlabelled fence', '```\n{"a": true}\n```', { a: true }],
    ['prose around one object', 'Here is the analysis you asked for: {"a": "b}"} Let me know!', { a: 'b}' }],
    ['braces inside strings', 'Result {"text": "a { b [ c", "n": 2} end', { text: 'a { b [ c', n: 2 }],
    ['escaped quotes', 'x {"t": "say \\"hi\\" {"} y', { t: 'say "hi" {' }],
    ['a thinking block first', '<think>maybe {"a": 0}?</think>\n{"a": 1}', { a: 1 }],
    ['a top-level array', 'The list: [1, 2, 3].', [1, 2, 3]],
    ['the first parseable object when a brace is stray', 'a {b} then {"ok": 1}', { ok: 1 }],
    ['trailing commas', '{"a": [1, 2,], "b": {"c": 1,},}', { a: [1, 2], b: { c: 1 } }],
    [
      'a raw line break inside a string',
      '{"text": "line one\nline two", "n": 1}',
      { text: 'line one\nline two', n: 1 },
    ],
    ['a comma inside a string, kept', '{"t": "a,}", }', { t: 'a,}' }],
  ])('reads %s', (_name, text, expected) => {
    expect(extractJson(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['empty', '', /empty/],
    ['a think block only', '<think>{"a":1}</think>', /empty/],
    ['prose without JSON', 'I cannot help with that.', /no JSON/],
    ['a truncated object', '{"summary": "The market is growing at 12.5% a year and', /never closes/],
    ['a bare number', '42', /no JSON/],
  ])('refuses %s, saying why', (_name, text, reason) => {
    const out = extractJson(text);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.reason).toMatch(reason);
  });
});

describe('coerceToSchema', () => {
  const sub = { score: 15, rationale: 'r', sources: ['S1'] };
  const draft = {
    title: 't',
    summary: 's',
    keyFindings: [{ text: 'k', sources: ['S1'] }],
    subScores: { demand: sub, growth: sub, whitespace: sub, pain: sub, willingness_to_pay: sub },
    confidence: 'medium',
    recommendations: ['r'],
  };

  it('leaves a valid answer as it is', () => {
    expect(coerceToSchema(ReportDraftSchema, draft)).toEqual(draft);
  });

  it('turns numeric strings into numbers and clamps sub-scores into 0–20', () => {
    const sloppy = {
      ...draft,
      subScores: {
        ...draft.subScores,
        demand: { ...sub, score: '18' },
        growth: { ...sub, score: 25 },
        whitespace: { ...sub, score: 100 },
        pain: { ...sub, score: ' -3 ' },
        willingness_to_pay: { ...sub, score: '12.0' },
      },
    };
    const out = ReportDraftSchema.parse(coerceToSchema(ReportDraftSchema, sloppy));
    expect(Object.values(out.subScores).map((s) => s.score)).toEqual([18, 20, 20, 0, 12]);
    const score = z.number().int().min(0).max(20);
    expect(coerceToSchema(score, '15/20')).toBe(15);
    expect(coerceToSchema(score, '15 / 20')).toBe(15);
    expect(coerceToSchema(score, '75/100')).toBe('75/100');
  });

  it('matches enum values regardless of case and whitespace, and only when one option fits', () => {
    expect(coerceToSchema(ReportDraftSchema, { ...draft, confidence: ' HIGH ' })).toMatchObject({ confidence: 'high' });
    const e = z.enum(['willingness_to_pay', 'pain']);
    expect(coerceToSchema(e, 'Willingness to pay')).toBe('willingness_to_pay');
    expect(coerceToSchema(e, 'medium')).toBe('medium');
  });

  it('fills a missing nullable field with null, drops extra fields and renames snake_case keys', () => {
    const answer = {
      competitors: [{ name: 'A', positioning: 'p', sources: ['S2'], founded: 2019 }],
      gaps: [],
      notes: 'extra',
    };
    const out = coerceToSchema(CompetitorAnalysisSchema, answer);
    expect(out).toEqual({ competitors: [{ name: 'A', positioning: 'p', pricing: null, sources: ['S2'] }], gaps: [] });
    expect(CompetitorAnalysisSchema.safeParse(out).success).toBe(true);
    const plan = coerceToSchema(PlanSchema, {
      product: 'p',
      target_customer: 'c',
      Problem: 'x',
      category: 'k',
      queries: { market: 'm', competitor: 'c', customer: 'u' },
    });
    expect(PlanSchema.safeParse(plan).success).toBe(true);
  });

  it('makes a missing list empty, a lone item a one-item list, and cuts a list to its maximum', () => {
    const s = z.object({ sources: z.array(z.string()), top: z.array(z.number()).max(2) });
    expect(coerceToSchema(s, { top: ['1', 2, 3] })).toEqual({ sources: [], top: [1, 2] });
    expect(coerceToSchema(s, { sources: 'S3', top: [] })).toEqual({ sources: ['S3'], top: [] });
  });

  it('reads an object or list that arrived as a JSON string', () => {
    const s = z.object({ a: z.object({ b: z.number() }), c: z.array(z.string()) });
    expect(coerceToSchema(s, { a: '{"b": "2"}', c: '["x"]' })).toEqual({ a: { b: 2 }, c: ['x'] });
  });

  it('unwraps an answer a small model put inside one envelope key', () => {
    const plan = {
      product: 'p',
      targetCustomer: 'c',
      problem: 'x',
      category: 'k',
      queries: { market: 'm', competitor: 'c', customer: 'u' },
    };
    for (const wrapped of [{ properties: plan }, { arguments: plan }, { research_plan: plan, type: 'object' }])
      expect(coerceToSchema(PlanSchema, wrapped)).toEqual(plan);
    // Two candidate envelopes: ambiguous, left alone.
    expect(PlanSchema.safeParse(coerceToSchema(PlanSchema, { a: plan, b: plan })).success).toBe(false);
  });

  it('leaves what it cannot fix for zod to report', () => {
    const s = z.object({ n: z.number().int(), score: z.number().min(0), name: z.string() });
    const out = coerceToSchema(s, { n: '14.5 points', score: -4, name: null });
    expect(out).toEqual({ n: '14.5 points', score: -4, name: null });
    expect(s.safeParse(out).success).toBe(false);
    expect(coerceToSchema(z.number().int(), 14.5)).toBe(14.5);
  });

  it('keeps unknown keys when the schema passes them through, and works inside unions and optionals', () => {
    const s = z.object({ a: z.number().optional(), u: z.union([z.number(), z.boolean()]) }).passthrough();
    expect(coerceToSchema(s, { u: 'true', x: 1 })).toEqual({ u: true, x: 1 });
    expect(coerceToSchema(s, { a: '3', u: '4' })).toEqual({ a: 3, u: 4 });
  });
});
