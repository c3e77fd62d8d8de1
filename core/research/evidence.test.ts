import { describe, expect, it } from '@jest/globals';
import type { SubScoreKey } from './contract.js';
import {
  assessDimension,
  decideVerdict,
  evidenceConfidence,
  evidenceLevel,
  evidenceRulesText,
  EVIDENCE_RULES,
  isInsufficient,
  lowerConfidence,
  SUB_SCORE_KEYS,
  type SupportedClaim,
} from './evidence.js';

const all = <T>(v: T) => Object.fromEntries(SUB_SCORE_KEYS.map((k) => [k, v])) as Record<SubScoreKey, T>;
/** `n` claims citing sources 1…`sources` in turn. */
const claims = (n: number, sources: number): SupportedClaim[] =>
  Array.from({ length: n }, (_, i) => ({ citations: [(i % sources) + 1] }));

describe('evidenceLevel', () => {
  it.each([
    [0, 0, 'none'],
    [1, 1, 'thin'],
    [3, 1, 'thin'],
    [1, 2, 'thin'],
    [2, 2, 'solid'],
    [5, 4, 'solid'],
  ] as const)('%i claims from %i sources is %s', (n, sources, level) => {
    expect(evidenceLevel(n, sources)).toBe(level);
  });

  it('counts distinct sources, not citations', () => {
    const e = assessDimension([{ citations: [1, 1] }, { citations: [1] }], 18);
    expect(e).toEqual({ claims: 2, sources: 1, level: 'thin', cap: EVIDENCE_RULES.cap.thin, modelScore: 18 });
  });
});

describe('evidenceConfidence and lowerConfidence', () => {
  it.each([
    [['solid', 'solid', 'solid', 'solid', 'solid'], 'high'],
    [['solid', 'solid', 'solid', 'thin', 'thin'], 'medium'],
    [['solid', 'solid', 'solid', 'solid', 'none'], 'low'],
    [['solid', 'solid', 'thin', 'thin', 'thin'], 'low'],
    [['none', 'none', 'none', 'none', 'none'], 'low'],
  ] as const)('%j → %s', (levels, want) => {
    expect(evidenceConfidence([...levels])).toBe(want);
  });

  it('the model can lower the confidence, never raise it', () => {
    expect(lowerConfidence('high', 'low')).toBe('low');
    expect(lowerConfidence('low', 'high')).toBe('low');
    expect(lowerConfidence('medium', 'high')).toBe('medium');
  });
});

describe('isInsufficient', () => {
  it.each([
    [['thin', 'thin', 'thin', 'none', 'none'], 3, false],
    [['thin', 'thin', 'none', 'none', 'none'], 5, true],
    [['solid', 'solid', 'solid', 'solid', 'solid'], 2, true],
  ] as const)('%j with %i sources → %s', (levels, sources, want) => {
    expect(isInsufficient([...levels], sources)).toBe(want);
  });
});

describe('decideVerdict', () => {
  it('a terse model with no evidence gets no band, low confidence and capped scores', () => {
    const v = decideVerdict({ modelScores: all(15), modelConfidence: 'high', claims: all([]) });
    expect(v.band).toBe('insufficient evidence');
    expect(v.confidence).toBe('low');
    expect(v.total).toBe(5 * EVIDENCE_RULES.cap.none);
    for (const k of SUB_SCORE_KEYS) expect(v.evidence[k]).toMatchObject({ level: 'none', modelScore: 15 });
  });

  it('solid evidence everywhere keeps the model scores and the model confidence', () => {
    const v = decideVerdict({ modelScores: all(14), modelConfidence: 'medium', claims: all(claims(3, 3)) });
    expect(v.scores).toEqual(all(14));
    expect(v.total).toBe(70);
    expect(v.band).toBe('strong');
    expect(v.confidence).toBe('medium');
  });

  it('thin evidence caps a dimension; a score below the cap is left alone', () => {
    const v = decideVerdict({
      modelScores: { demand: 19, growth: 8, whitespace: 16, pain: 16, willingness_to_pay: 16 },
      modelConfidence: 'high',
      claims: {
        ...all(claims(2, 2)),
        demand: claims(1, 1),
        growth: claims(1, 1),
        pain: [{ citations: [3] }, { citations: [4] }],
      },
    });
    expect(v.scores.demand).toBe(EVIDENCE_RULES.cap.thin);
    expect(v.scores.growth).toBe(8);
    expect(v.total).toBe(12 + 8 + 16 * 3);
    expect(v.confidence).toBe('medium');
    expect(v.band).toBe('strong');
  });

  it('evidence from too few distinct sources is insufficient however many claims there are', () => {
    const v = decideVerdict({ modelScores: all(18), modelConfidence: 'high', claims: all(claims(4, 1)) });
    expect(v.sources).toBe(1);
    expect(v.band).toBe('insufficient evidence');
  });

  it('the Methodology text states the thresholds the code uses', () => {
    const text = evidenceRulesText().join(' ');
    expect(text).toContain(`${EVIDENCE_RULES.cap.none}/20`);
    expect(text).toContain(`${EVIDENCE_RULES.cap.thin}/20`);
    expect(text).toContain(`fewer than ${EVIDENCE_RULES.minDimensions} dimensions`);
    expect(text).toContain('insufficient evidence');
  });
});
