// Which Delivery a worker uses for a task, by the platform the task came from. A platform whose credentials
// this process lacks gets none; the job layer records that on the task instead of failing the research.
import type { Env } from '../core/config/index.js';
import { createConsoleDelivery } from '../core/jobs/console-delivery.js';
import type { Logger } from '../core/observability/logger.js';
import type { Storage } from '../core/storage/index.js';
import type { Delivery, DeliveryResolver } from '../core/tasks/delivery.js';
import type { Platform } from '../core/platform.js';
import { createDiscordDelivery, createDiscordRest } from './discord/delivery.js';
import { createSlackDelivery } from './slack/delivery.js';
import {
  createPgInstallationStore,
  installationTokenResolver,
  markInstallationRevoked,
  singleTokenResolver,
} from './slack/installation-store.js';

export type Deliveries = { resolve: DeliveryResolver; platforms: Platform[]; close(): void };

export function createDeliveries(env: Env, storage: Storage, logger: Logger): Deliveries {
  const byPlatform = new Map<Platform, Delivery>();
  const closers: (() => void)[] = [];

  const tokenFor = env.SLACK_BOT_TOKEN
    ? singleTokenResolver(env.SLACK_BOT_TOKEN)
    : env.SLACK_CLIENT_ID
      ? installationTokenResolver(createPgInstallationStore(storage.pg))
      : undefined;
  if (tokenFor) {
    const slack = createSlackDelivery({
      env,
      redis: storage.redis,
      logger: logger.child({ platform: 'slack' }),
      tokenFor,
      // OAuth: an installation Slack reports revoked is marked for the console (decision 058).
      ...(env.SLACK_BOT_TOKEN
        ? {}
        : { onInstallationGone: (origin, code) => markInstallationRevoked(storage.pg, origin, code) }),
    });
    byPlatform.set('slack', slack);
    closers.push(() => slack.close());
  }
  if (env.DISCORD_TOKEN) {
    byPlatform.set(
      'discord',
      createDiscordDelivery({ rest: createDiscordRest(env), logger: logger.child({ platform: 'discord' }) }),
    );
  }
  byPlatform.set('console', createConsoleDelivery(storage.redis));

  return {
    resolve: (task) => byPlatform.get(task.origin.platform),
    platforms: [...byPlatform.keys()],
    close: () => closers.forEach((close) => close()),
  };
}
