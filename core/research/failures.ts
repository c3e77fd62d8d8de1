// A provider refusal (ProviderFailure, decision 027) in words for each reader: the requester in Slack or
// Discord (plain words, no setting names, never a secret), the admin at the CLI or in the console (the
// setting to change and how).
import type { ProviderFailure, ProviderFailureKind } from './contract.js';

const WHO: Record<ProviderFailure['provider'], string> = {
  llm: 'the AI model provider',
  tavily: 'the web search provider (Tavily)',
};

const PROVIDER_NAME: Record<ProviderFailure['provider'], string> = { llm: 'LLM', tavily: 'Tavily' };

const KIND_WORDS: Record<ProviderFailureKind, string> = {
  bad_credentials: 'bad credentials',
  unknown_model: 'unknown model',
  context_too_long: 'context too long',
  quota_exhausted: 'plan or quota exhausted',
  rate_limited: 'rate limited',
  transient: 'temporarily unavailable',
};

/** What happened, for the requester. */
export function failureSummary(f: ProviderFailure): string {
  switch (f.kind) {
    case 'bad_credentials':
      return `${WHO[f.provider]} rejected the bot's API key`;
    case 'unknown_model':
      return "the AI model in the bot's setup is not available from its provider";
    case 'context_too_long':
      return 'the request was longer than the AI model can read';
    case 'quota_exhausted':
      return f.provider === 'tavily'
        ? "the bot's Tavily plan has no search credits left"
        : "the bot's AI model account has run out of quota";
    case 'rate_limited':
      return `${WHO[f.provider]} is rate-limiting the bot`;
    case 'transient':
      return `${WHO[f.provider]} is temporarily unavailable`;
  }
}

/** What an admin changes, or undefined when there is nothing to change (it is retried). */
export function adminFix(f: ProviderFailure): string | undefined {
  switch (f.kind) {
    case 'bad_credentials':
      return f.provider === 'tavily'
        ? `set ${f.setting ?? 'TAVILY_API_KEY'} to a valid key from https://app.tavily.com`
        : `set ${f.setting ?? 'OPENAI_API_KEY'} to a valid key for the configured provider`;
    case 'unknown_model': {
      const setting = f.setting ?? 'OPENAI_MODEL';
      // A 404 naming no model means the server's address is wrong rather than the model.
      return /URL|ENDPOINT/.test(setting)
        ? `set ${setting} to the server's OpenAI-compatible address (usually ending in /v1)`
        : `set ${setting} to a model the provider serves`;
    }
    case 'quota_exhausted':
      return f.provider === 'tavily'
        ? 'upgrade the Tavily plan, or raise its pay-as-you-go limit, at https://app.tavily.com'
        : `add quota or billing to ${f.setting ?? "the AI provider's account"}`;
    case 'context_too_long':
      return f.setting ? `use a model with a larger context window (${f.setting})` : undefined;
    default:
      return undefined;
  }
}

/** One line naming the exact cause, for the console's Jobs page and the CLI: `Tavily · bad credentials · fix: …`. */
export function failureCause(f: ProviderFailure): string {
  const fix = adminFix(f);
  return `${PROVIDER_NAME[f.provider]} · ${KIND_WORDS[f.kind]}${fix ? ` · fix: ${fix}` : ''}`;
}
