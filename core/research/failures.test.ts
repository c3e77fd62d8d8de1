import { describe, expect, it } from '@jest/globals';
import type { ProviderFailure } from './contract.js';
import { adminFix, failureCause, failureSummary } from './failures.js';

describe('provider refusals in words', () => {
  it.each<[ProviderFailure, string, string | undefined]>([
    [
      { provider: 'tavily', kind: 'bad_credentials', setting: 'TAVILY_API_KEY' },
      "the web search provider (Tavily) rejected the bot's API key",
      'set TAVILY_API_KEY to a valid key from https://app.tavily.com',
    ],
    [
      { provider: 'tavily', kind: 'quota_exhausted', setting: 'the Tavily plan' },
      "the bot's Tavily plan has no search credits left",
      'upgrade the Tavily plan, or raise its pay-as-you-go limit, at https://app.tavily.com',
    ],
    [
      { provider: 'llm', kind: 'unknown_model', setting: 'OPENAI_MODEL' },
      "the AI model in the bot's setup is not available from its provider",
      'set OPENAI_MODEL to a model the provider serves',
    ],
    [
      { provider: 'llm', kind: 'unknown_model', setting: 'OPENAI_BASE_URL' },
      "the AI model in the bot's setup is not available from its provider",
      "set OPENAI_BASE_URL to the server's OpenAI-compatible address (usually ending in /v1)",
    ],
    [
      { provider: 'tavily', kind: 'rate_limited' },
      'the web search provider (Tavily) is rate-limiting the bot',
      undefined,
    ],
    [{ provider: 'llm', kind: 'transient' }, 'the AI model provider is temporarily unavailable', undefined],
  ])('%j', (failure, summary, fix) => {
    expect(failureSummary(failure)).toBe(summary);
    expect(adminFix(failure)).toBe(fix);
    expect(failureCause(failure)).toContain(fix ?? (failure.provider === 'tavily' ? 'Tavily · ' : 'LLM · '));
  });

  it('never tells the requester a setting name', () => {
    const all: ProviderFailure[] = (
      ['bad_credentials', 'unknown_model', 'context_too_long', 'quota_exhausted', 'rate_limited', 'transient'] as const
    ).flatMap((kind) => [
      { provider: 'llm' as const, kind, setting: 'OPENAI_API_KEY' },
      { provider: 'tavily' as const, kind, setting: 'TAVILY_API_KEY' },
    ]);
    for (const f of all) expect(failureSummary(f)).not.toMatch(/[A-Z]+_[A-Z_]+/);
  });
});
