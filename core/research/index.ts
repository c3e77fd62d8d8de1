// The research engine's public face: the engine, the sandbox starter, and the pure pieces surfaces reuse.
import { providerMode, type Env } from '../config/index.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';

export { createResearchEngine, type ResearchEngineDeps } from './engine.js';
export * from './contract.js';
export { renderReportMarkdown, SANDBOX_NOTICE } from './report-markdown.js';
export { sanitizeText } from './sanitize.js';
export { normalizeUrl } from './citations.js';

export type SandboxForEnv = { sandbox: Sandbox; urls: { tavilyUrl: string; openaiUrl: string } };

/**
 * In sandbox mode (PMF_SANDBOX=1) starts the local Tavily/OpenAI servers on SANDBOX_PORT and returns the URLs
 * to pass to createProviders / createResearchEngine; with real keys returns undefined. Without keys and
 * without sandbox mode it throws ConfigError (which suggests PMF_SANDBOX=1).
 */
export async function startSandboxForEnv(env: Env): Promise<SandboxForEnv | undefined> {
  if (providerMode(env) !== 'sandbox') return undefined;
  const sandbox = await startSandbox({ port: env.SANDBOX_PORT });
  return { sandbox, urls: { tavilyUrl: sandbox.tavilyUrl, openaiUrl: sandbox.openaiUrl } };
}
