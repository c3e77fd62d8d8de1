// The configuration of a one-off command (research, eval): the local servers `npm run services` starts,
// unless the environment names others. Throws ConfigError, which the command turns into exit 78.
import { parseEnv, providerMode, type Env } from '../core/config/index.js';
import { LOCAL } from './local-servers.mjs';

export function cliEnv(): Env {
  const env = parseEnv({
    REDIS_URL: LOCAL.redis.url,
    MONGO_URL: LOCAL.mongo.url,
    DATABASE_URL: LOCAL.postgres.url,
    ...process.env,
  });
  providerMode(env);
  return env;
}
