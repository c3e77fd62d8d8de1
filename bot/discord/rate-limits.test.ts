import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REST, Routes } from 'discord.js';
import { registry } from '../../core/observability/metrics.js';
import { startFakeDiscord, type FakeDiscord, type FakeGuild } from '../../test/fakes/discord/index.js';
import { count429s } from './rate-limits.js';

let fake: FakeDiscord;
let guild: FakeGuild;
beforeAll(async () => {
  fake = await startFakeDiscord();
  guild = fake.addGuild('Metrics');
});
afterAll(async () => {
  await fake.close();
});

async function ratelimited(): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'pmf_platform_api_errors_total');
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? [])
    if (v.labels.platform === 'discord' && v.labels.code === 'ratelimited') out[String(v.labels.method)] = v.value;
  return out;
}

describe('count429s', () => {
  it('counts each 429 discord.js waited out, by method and route', async () => {
    const rest = count429s(new REST({ api: fake.apiUrl }).setToken(fake.token));
    fake.inject429('POST /channels/:id/messages', 100, 2);
    await rest.post(Routes.channelMessages(guild.channelId), { body: { content: 'after two 429s' } });
    await rest.post(Routes.channelMessages(guild.channelId), { body: { content: 'no 429' } });
    expect(await ratelimited()).toEqual({ 'POST /channels/:id/messages': 2 });
  });
});
