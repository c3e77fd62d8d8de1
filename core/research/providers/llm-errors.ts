// Why an LLM call failed and what the requester is told: OpenAI's documented error codes and the wording of
// the compatible servers (decision 025), classified into the shared failure vocabulary (decision 022).
import { ResearchError, type ProviderFailure, type ProviderFailureKind } from '../contract.js';
import { parseRetryAfter, type FailureClass } from './retry.js';

type Headerish = { get?: (name: string) => string | null } | Record<string, string | undefined>;

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as Headerish;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const value = (h as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Why the provider said no: the shared vocabulary, plus the two refusals only this module acts on. */
export type LlmFailure = FailureClass & {
  kind: ProviderFailureKind | 'unsupported_method' | 'bad_request';
  code?: string;
};

/** Words with which servers refuse `tools`, `tool_choice` or `response_format` (Ollama, LM Studio, llama.cpp, vLLM). */
const METHOD_REFUSAL =
  /\btools?\b|tool_choice|function.?call|response_format|json_schema|json_object|structured output|grammar|--jinja/i;
const CONTEXT_TOO_LONG = /context.?(length|size|window)|maximum context|too many tokens|prompt is too long/i;

/**
 * OpenAI SDK errors keep `status`, `code` (error.code) and `headers`; LangChain renames timeouts to
 * TimeoutError. Error codes as documented by OpenAI: 401 invalid_api_key, 404 model_not_found, 400
 * context_length_exceeded, 429 insufficient_quota vs rate_limit_exceeded; compatible servers word theirs.
 */
export function classifyLlmError(err: unknown, now = Date.now()): LlmFailure {
  // LangChain wraps OpenAI's context-length error in a ContextOverflowError that keeps the original as `cause`.
  const wrapped = (err && typeof err === 'object' ? err : {}) as { name?: unknown; cause?: unknown };
  if (wrapped.name === 'ContextOverflowError') {
    const inner = wrapped.cause && typeof wrapped.cause === 'object' ? classifyLlmError(wrapped.cause, now) : undefined;
    return { retryable: false, kind: 'context_too_long', reason: inner?.reason ?? String((err as Error).message) };
  }
  const e = (err && typeof err === 'object' ? err : {}) as {
    status?: unknown;
    headers?: unknown;
    name?: unknown;
    message?: unknown;
    code?: unknown;
    error?: { code?: unknown; type?: unknown };
  };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const rawCode = e.code ?? e.error?.code ?? e.error?.type;
  const code = typeof rawCode === 'string' ? rawCode : undefined;
  const reason = `${status ?? name}${code ? ` ${code}` : ''}: ${message}`.slice(0, 300);
  const withCode = code ? { code } : {};
  if (status === 401 || status === 403 || code === 'invalid_api_key')
    return { retryable: false, kind: 'bad_credentials', reason, ...withCode };
  if (status === 404 || code === 'model_not_found')
    return { retryable: false, kind: 'unknown_model', reason, ...withCode };
  if (code === 'context_length_exceeded' || ((status === 400 || status === 413) && CONTEXT_TOO_LONG.test(message)))
    return { retryable: false, kind: 'context_too_long', reason, ...withCode };
  if (status === 429 && (code === 'insufficient_quota' || /quota|billing/i.test(message)))
    return { retryable: false, kind: 'quota_exhausted', reason, ...withCode };
  // llama.cpp answers a `tools` request it cannot serve with a 500 ("tools param requires --jinja flag").
  if (status !== undefined && [400, 422, 500, 501].includes(status) && METHOD_REFUSAL.test(message))
    return { retryable: false, kind: 'unsupported_method', reason, ...withCode };
  if (status === 429 || status === 408 || status === 409 || (status !== undefined && status >= 500)) {
    const retryAfterMs = parseRetryAfter(
      { retryAfter: header(e.headers, 'retry-after'), retryAfterMs: header(e.headers, 'retry-after-ms') },
      now,
    );
    return {
      retryable: true,
      kind: status === 429 ? 'rate_limited' : 'transient',
      // The status says enough; a server's message can be long and it is kept out of logs that repeat per retry.
      reason: status === 429 ? 'rate limited' : `server error ${status}`,
      ...withCode,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (
    status === undefined &&
    (/Timeout|APIConnection/.test(name) ||
      /timed out|timeout|ECONNRESET|ECONNREFUSED|socket hang up|fetch failed|Connection error/i.test(message))
  ) {
    return {
      retryable: true,
      kind: 'transient',
      reason: /time/i.test(name + message) ? 'timed out' : 'connection error',
    };
  }
  return { retryable: false, kind: 'bad_request', reason, ...withCode };
}

const NEEDS_ADMIN = 'This is a problem with the bot’s setup that an admin needs to fix; nothing was charged.';

/** The ResearchError for a provider refusal: what happened, what it cost, what to do, and no secret. */
export function llmResearchError(failure: LlmFailure, where: string, azure: boolean): ResearchError {
  const keyVar = azure ? 'AZURE_OPENAI_API_KEY' : 'OPENAI_API_KEY';
  const modelVar = azure ? 'AZURE_OPENAI_DEPLOYMENT' : 'OPENAI_MODEL';
  const detail = `llm ${where}: ${failure.kind}: ${failure.reason}`;
  const shared = (kind: ProviderFailureKind, setting?: string): ProviderFailure => ({
    provider: 'llm',
    kind,
    ...(setting ? { setting } : {}),
  });
  switch (failure.kind) {
    case 'bad_credentials':
      return new ResearchError(
        `The AI model refused the bot’s API key (${keyVar}). ${NEEDS_ADMIN}`,
        detail,
        false,
        shared('bad_credentials', keyVar),
      );
    case 'unknown_model': {
      // A 404 that names no model is a wrong server address (e.g. a base URL without /v1).
      const setting =
        /model|deployment/i.test(failure.reason) || failure.code === 'model_not_found'
          ? modelVar
          : azure
            ? 'AZURE_OPENAI_ENDPOINT'
            : 'OPENAI_BASE_URL';
      return new ResearchError(
        `The AI server does not know the configured model or address (${setting}). ${NEEDS_ADMIN}`,
        detail,
        false,
        shared('unknown_model', setting),
      );
    }
    case 'quota_exhausted':
      return new ResearchError(
        `The AI provider’s quota or billing plan for the bot’s account is used up. ${NEEDS_ADMIN}`,
        detail,
        false,
        shared('quota_exhausted', `the AI provider’s plan for ${keyVar}`),
      );
    case 'context_too_long':
      return new ResearchError(
        'The research sources were more text than the AI model can read at once, so nothing was charged. ' +
          'Try a lower depth or a shorter idea; an admin can also choose a model with a larger context.',
        detail,
        false,
        shared('context_too_long', modelVar),
      );
    case 'rate_limited':
      return new ResearchError(
        'The AI model is receiving too many requests right now; nothing was charged. Please try again in a few minutes.',
        detail,
        true,
        shared('rate_limited'),
      );
    case 'transient':
      return new ResearchError(
        'The AI model is temporarily unavailable; nothing was charged. Please try again in a few minutes.',
        detail,
        true,
        shared('transient'),
      );
    case 'unsupported_method':
      return new ResearchError(
        'The AI server refused the structured-output method the bot is set to use (LLM_STRUCTURED_OUTPUT). ' +
          `${NEEDS_ADMIN} Setting LLM_STRUCTURED_OUTPUT=auto lets the bot find one that works.`,
        detail,
        false,
      );
    case 'bad_request':
      return new ResearchError(
        'The AI model rejected the request, so nothing was charged. Please try again; if it keeps happening, tell an admin.',
        detail,
        false,
      );
  }
}
