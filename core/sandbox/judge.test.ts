// The sandbox as an evaluation judge: its verdicts must follow the fenced data, or a sandbox eval means nothing.
import { describe, expect, it } from '@jest/globals';
import { CITATION_SYSTEM, citationPrompt, comparePrompt, coveragePrompt, rubricPrompt } from '../evals/judge.js';
import { sandboxCitationVerdict, sandboxJudgeAnswer } from './judge.js';

const PASSAGE =
  'The dog sitting market in Germany reached $1.2 billion in 2024, driven by urban owners who work long hours.';

describe('sandbox citation verdicts', () => {
  it('supports a claim whose terms and figures are in the passage', () => {
    expect(sandboxCitationVerdict('The German dog sitting market reached $1.2 billion in 2024.', PASSAGE)).toBe(
      'supported',
    );
  });
  it('gives partly when a figure is missing but the claim is about the passage', () => {
    expect(sandboxCitationVerdict('The German dog sitting market reached $4.8 billion in 2024.', PASSAGE)).toBe(
      'partly',
    );
  });
  it('does not support a claim about something else, or an empty passage', () => {
    expect(sandboxCitationVerdict('Quantum batteries will replace lithium cells by 2030.', PASSAGE)).toBe(
      'not_supported',
    );
    expect(sandboxCitationVerdict('The dog sitting market reached $1.2 billion.', '')).toBe('not_supported');
  });
});

describe('sandboxJudgeAnswer', () => {
  it('reads the claim from the user message, not from the tag names the system prompt mentions', () => {
    const prompt = `${CITATION_SYSTEM}\n\n${citationPrompt('The dog sitting market reached $1.2 billion in 2024.', PASSAGE)}`;
    expect(sandboxJudgeAnswer(prompt)).toMatchObject({ verdict: 'supported' });
  });

  it('covers a requirement whose words the report uses, and not one it ignores', () => {
    const answer = sandboxJudgeAnswer(
      coveragePrompt('dog sitters', 'Rover and Wag are the named competitors; pricing is per visit.', [
        { item: 'named competitors', keywords: ['Rover'] },
        { item: 'regulation of insurance', keywords: ['insurance'] },
      ]),
    );
    expect(answer).toEqual({
      items: [
        { index: 1, covered: true },
        { index: 2, covered: false },
      ],
    });
  });

  it('scores a richer report higher and prefers it in a comparison, either way round', () => {
    const thin = 'Dogs exist.';
    const rich =
      'Demand is growing because urban owners work long hours; however, trust is the main gap. ' +
      'Rover dominates, whereas local sitters compete on price. Therefore you should launch in one city, ' +
      'validate pricing per visit, and focus on vetted supply before you start paid acquisition.';
    expect(sandboxJudgeAnswer(comparePrompt('x', rich, thin))).toMatchObject({ winner: 'A' });
    expect(sandboxJudgeAnswer(comparePrompt('x', thin, rich))).toMatchObject({ winner: 'B' });
    const r = sandboxJudgeAnswer(rubricPrompt('x', rich)) as Record<string, number>;
    for (const k of ['comprehensiveness', 'insight', 'usefulness', 'readability']) {
      expect(r[k]).toBeGreaterThanOrEqual(1);
      expect(r[k]).toBeLessThanOrEqual(10);
    }
  });

  it('leaves every other prompt to the schema filler', () => {
    expect(sandboxJudgeAnswer('<idea>\nIdea: dog sitters\n</idea>')).toBeUndefined();
  });
});
