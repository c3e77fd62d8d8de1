import { z } from 'zod';

// Every variable the project reads, validated in one place. `.env.example` documents each of them;
// a test keeps the two in step.

const bool = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const optionalUrl = z.string().url().optional();
const optionalString = z.string().min(1).optional();

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  REDIS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)')
    .optional(),

  PMF_SANDBOX: bool,
  SANDBOX_PORT: int(4010, 0, 65535),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  LLM_STRUCTURED_OUTPUT: z.enum(['auto', 'tools', 'json_schema', 'json_object', 'text']).default('auto'),
  AZURE_OPENAI_API_KEY: optionalString,
  AZURE_OPENAI_ENDPOINT: optionalUrl,
  AZURE_OPENAI_DEPLOYMENT: optionalString,
  AZURE_OPENAI_API_VERSION: z.string().min(1).default('2024-10-21'),
  TAVILY_API_KEY: optionalString,
  TAVILY_API_URL: optionalUrl,
  PROVIDER_TIMEOUT_MS: int(60_000, 100),
  PROVIDER_MAX_RETRIES: int(3, 0, 10),
  RESEARCH_CACHE_TTL_SECONDS: int(86_400, 0),

  DEFAULT_MONTHLY_ALLOWANCE: int(1000, 0),
  RATE_LIMIT_USER_PER_HOUR: int(20, 1),
  RATE_LIMIT_WORKSPACE_PER_HOUR: int(200, 1),

  WORKER_CONCURRENCY: int(5, 1, 500),
  WORKER_INSTANCES: int(1, 1, 64),
  JOB_LOCK_LIFETIME_MS: int(30_000, 1000),
  JOB_MAX_ATTEMPTS: int(3, 1, 20),
  WORKER_DRAIN_TIMEOUT_MS: int(60_000, 0),

  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_CLIENT_ID: optionalString,
  SLACK_CLIENT_SECRET: optionalString,
  SLACK_STATE_SECRET: optionalString,
  SLACK_API_URL: optionalUrl,
  SLACK_MODE: z.enum(['socket', 'http']).optional(),
  SLACK_PORT: int(3000, 0, 65535),
  SLACK_UPDATES_PER_MINUTE: int(45, 1),

  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: optionalString,
  DISCORD_GUILD_ID: optionalString,
  DISCORD_API_URL: optionalUrl,

  CONSOLE_PORT: int(3100, 0, 65535),
  CONSOLE_ORIGIN: optionalUrl,
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters (try: openssl rand -hex 32)').optional(),
  /** Where the console's Evals page finds `npm run eval`'s runs; default evals/runs under the working directory. */
  EVALS_DIR: optionalString,

  HEALTH_PORT: int(0, 0, 65535),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (try: openssl rand -hex 32)').optional(),
});

export type Env = z.infer<typeof envSchema>;

const hints: Record<string, string> = {
  DATABASE_URL:
    'run `npm run services -- up` and `npm start` sets it, or point it at your PostgreSQL: postgres://user:pass@host:5432/pmf',
  MONGO_URL:
    'run `npm run services -- up` and `npm start` sets it, or point it at your MongoDB: mongodb://host:27017/pmf',
  REDIS_URL: 'run `npm run services -- up` and `npm start` sets it, or point it at your Redis: redis://host:6379',
  SESSION_SECRET: 'generate one with: openssl rand -hex 32',
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `PMF Scout cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}.\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSee .env.example for every variable.',
    );
    this.name = 'ConfigError';
  }
}

/** Validates the whole environment, or only `keys` for a tool (like the migrator) that needs a few. */
export function parseEnv(source: Record<string, string | undefined>): Env;
export function parseEnv<K extends keyof Env>(source: Record<string, string | undefined>, keys: K[]): Pick<Env, K>;
export function parseEnv(source: Record<string, string | undefined>, keys?: (keyof Env)[]): Partial<Env> {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const schema = keys
    ? envSchema.pick(Object.fromEntries(keys.map((k) => [k, true])) as Record<keyof Env, true>)
    : envSchema;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '(env)');
    const what = cleaned[key] === undefined ? 'is missing' : `is invalid: ${issue.message}`;
    const hint = hints[key];
    return `${key} ${what}${hint ? ` — ${hint}` : ''}`;
  });
  throw new ConfigError(problems);
}
