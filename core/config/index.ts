import { ConfigError, parseEnv, type Env } from './env.js';

export { ConfigError, parseEnv, envSchema, type Env } from './env.js';

export type ProviderMode = 'live' | 'sandbox';

/** Real providers need both keys; without them the product refuses to start unless sandbox mode is on. */
export function providerMode(env: Env): ProviderMode {
  if (env.PMF_SANDBOX) return 'sandbox';
  const hasLlm = Boolean(env.OPENAI_API_KEY || (env.AZURE_OPENAI_API_KEY && env.AZURE_OPENAI_ENDPOINT));
  if (hasLlm && env.TAVILY_API_KEY) return 'live';
  const missing = [
    hasLlm ? null : 'OPENAI_API_KEY (or AZURE_OPENAI_API_KEY + AZURE_OPENAI_ENDPOINT)',
    env.TAVILY_API_KEY ? null : 'TAVILY_API_KEY',
  ].filter(Boolean);
  throw new ConfigError(
    missing.map((m) => `${m} is missing — set it, or set PMF_SANDBOX=1 to run on the built-in sandbox providers`),
  );
}

/** Load and validate the environment once; prints the one friendly message and exits on failure. */
export function loadConfigOrExit(source?: Record<string, string | undefined>): Env;
export function loadConfigOrExit<K extends keyof Env>(
  source: Record<string, string | undefined>,
  keys: K[],
): Pick<Env, K>;
export function loadConfigOrExit(
  source: Record<string, string | undefined> = process.env,
  keys?: (keyof Env)[],
): Partial<Env> {
  try {
    return keys ? parseEnv(source, keys) : parseEnv(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
