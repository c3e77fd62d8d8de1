// Sliding-window rate limits in Redis, shared by every bot process (Slack and Discord alike).
// One Lua script checks all the windows of a request and records it in all of them only when every window
// has room, so a request refused by the workspace window does not use up the user's window.
import { randomUUID } from 'node:crypto';
import type { Redis } from '../storage/index.js';
import type { Env } from '../config/index.js';

/** `windowSeconds` may be fractional. */
export type RateLimitRule = { key: string; limit: number; windowSeconds: number };
export type RateLimitDecision = {
  allowed: boolean;
  retryAfterSeconds: number;
  /** The same wait in milliseconds, for callers that wait it out (a shared API budget). */
  retryAfterMs: number;
  /** The rule that refused, when refused. */
  refusedBy?: string;
  /** The entry recorded for this request (when allowed), for `restampRateLimit`. */
  member?: string;
};

// KEYS: one sorted set per rule (member = request id, score = ms). ARGV: member, then limit and window ms per key.
// Server time (TIME) keeps every process on one clock.
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local wait, refused = 0, 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i * 2])
  local window = tonumber(ARGV[i * 2 + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = window
    if oldest[2] then w = tonumber(oldest[2]) + window - now end
    if w > wait then wait = w; refused = i end
  end
end
if refused > 0 then return {0, wait, refused} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[i * 2 + 1]))
end
return {1, 0, 0}
`;

/** Checks every rule and, when all allow, counts the request against each. Atomic across processes. */
export async function checkRateLimits(redis: Redis, rules: RateLimitRule[]): Promise<RateLimitDecision> {
  if (rules.length === 0) return { allowed: true, retryAfterSeconds: 0, retryAfterMs: 0 };
  const member = randomUUID();
  const args = rules.flatMap((r) => [String(r.limit), String(Math.max(1, Math.round(r.windowSeconds * 1000)))]);
  const raw = (await redis.eval(SCRIPT, rules.length, ...rules.map((r) => r.key), member, ...args)) as [
    number,
    number,
    number,
  ];
  const [allowed, waitMs, refusedIndex] = raw;
  if (allowed === 1) return { allowed: true, retryAfterSeconds: 0, retryAfterMs: 0, member };
  const retryAfterMs = Math.max(1, waitMs);
  return {
    allowed: false,
    retryAfterSeconds: Math.ceil(retryAfterMs / 1000),
    retryAfterMs,
    refusedBy: rules[refusedIndex - 1]?.key,
  };
}

// Re-adds the entry if the window dropped it meanwhile: a call slower than the window still counts.
const RESTAMP = `
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
`;

/**
 * Moves a recorded request to "now" (server time). A caller that spends its slot on a remote API calls this
 * when the call has finished, so the window counts the call from when the remote side last saw it: a
 * request delayed on the way, even past the whole window, does not let the next window start early.
 */
export async function restampRateLimit(
  redis: Redis,
  rule: Pick<RateLimitRule, 'key' | 'windowSeconds'>,
  member: string,
): Promise<void> {
  await redis.eval(RESTAMP, 1, rule.key, member, String(Math.max(1, Math.round(rule.windowSeconds * 1000))));
}

export async function checkRateLimit(redis: Redis, rule: RateLimitRule): Promise<RateLimitDecision> {
  return checkRateLimits(redis, [rule]);
}

export type ResearchLimitScope = 'user' | 'workspace';

/** The per-user and per-workspace hourly research limits from RATE_LIMIT_*; `prefix` isolates tests. */
function researchRateRules(
  env: Pick<Env, 'RATE_LIMIT_USER_PER_HOUR' | 'RATE_LIMIT_WORKSPACE_PER_HOUR'>,
  who: { platform: string; workspace: string; user: string },
  prefix = 'pmf:rl:',
): Record<ResearchLimitScope, RateLimitRule> {
  const ws = `${prefix}${who.platform}:${who.workspace}`;
  return {
    user: { key: `${ws}:user:${who.user}`, limit: env.RATE_LIMIT_USER_PER_HOUR, windowSeconds: 3600 },
    workspace: { key: `${ws}:all`, limit: env.RATE_LIMIT_WORKSPACE_PER_HOUR, windowSeconds: 3600 },
  };
}

/** Checks both research windows; says which one refused so the message can be specific. */
export async function checkResearchRateLimit(
  redis: Redis,
  env: Pick<Env, 'RATE_LIMIT_USER_PER_HOUR' | 'RATE_LIMIT_WORKSPACE_PER_HOUR'>,
  who: { platform: string; workspace: string; user: string },
  prefix?: string,
): Promise<
  { allowed: true } | { allowed: false; scope: ResearchLimitScope; retryAfterSeconds: number; limit: number }
> {
  const rules = researchRateRules(env, who, prefix);
  const decision = await checkRateLimits(redis, [rules.user, rules.workspace]);
  if (decision.allowed) return { allowed: true };
  const scope: ResearchLimitScope = decision.refusedBy === rules.user.key ? 'user' : 'workspace';
  return { allowed: false, scope, retryAfterSeconds: decision.retryAfterSeconds, limit: rules[scope].limit };
}
