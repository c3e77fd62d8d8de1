// A shutdown with research commands deferred but not yet worked through: the bot process closes its line of
// submissions and drains it (bot/main.ts) before it disconnects. Real discord.js client, fake Discord.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreditLedger } from '../../core/credits/index.js';
import type { Db, Redis } from '../../core/storage/index.js';
import { MemoryJobs, startDiscordHarness, type DiscordHarness } from '../../test/helpers/discord-bot.js';
import { testPostgres, testRedis } from '../../test/helpers/storage.js';
import { Limiter, RESTARTING_TEXT } from '../limiter.js';

let db: Db;
let redis: Redis;
let jobs: MemoryJobs;
let h: DiscordHarness;
// One submission at a time, so several are still waiting in line when the shutdown starts.
const submissions = new Limiter(1);
const replies = new Limiter(1);

beforeAll(async () => {
  db = testPostgres(5);
  redis = testRedis();
  jobs = new MemoryJobs(new CreditLedger(db));
  h = await startDiscordHarness({ ledger: new CreditLedger(db), jobs, redis, submissions, replies });
});
afterAll(async () => {
  await h.close();
  await redis.quit();
  await db.destroy();
});

const IDEA = 'A marketplace that rents camping gear between neighbours';

describe('shutdown with deferred commands in line', () => {
  it('finishes every deferred command, and tells later ones to retry without charging them', async () => {
    const users = Array.from({ length: 4 }, (_, n) => h.fake.addUser(`camper${n}`));
    const sent = await Promise.all(
      users.map((user, n) => h.command('research', { idea: `${IDEA} #${n}`, depth: 'essential' }, { user })),
    );
    // A deferral reaches the fake before the bot hears back and queues the submission: wait for all four.
    await h.fake.waitFor(() => submissions.size === 4 || undefined, 10_000, 'four submissions in line');
    const startedAtClose = jobs.byId.size;
    submissions.close();
    const late = await h.command('research', { idea: IDEA, depth: 'essential' }, { user: h.fake.addUser('late') });
    await expect(submissions.drained(30_000)).resolves.toBe(true);

    expect(startedAtClose).toBeLessThan(4);
    expect(jobs.byId.size).toBe(4);
    for (const { payload } of sent)
      await h.fake.waitFor(() => h.fake.originalMessage(payload.id)?.embeds.length, 10_000, 'the research embed');
    expect(await h.privateText(late.payload)).toBe(RESTARTING_TEXT);
    const ledger = new CreditLedger(db);
    const ws = await ledger.findWorkspace('discord', h.guild.id);
    expect((await ledger.balance(ws!.id)).used).toBe(4 * 6);
  }, 60_000);

  it('answers a private command waiting in line at close, and tells a later one to try again', async () => {
    // Something else holds the one place in the line, so the balance answer waits its turn.
    let release!: () => void;
    const holder = replies.run(() => new Promise<void>((r) => (release = r)));
    const asker = h.fake.addUser('asker');
    const before = await h.command('balance', {}, { user: asker });
    await h.fake.waitFor(() => replies.size === 2 || undefined, 10_000, 'the balance answer waiting in line');
    replies.close();
    const late = await h.command('list', {}, { user: asker });
    expect(await h.privateText(late.payload)).toBe('PMF Scout is restarting: please try again in a minute.');
    release();
    await holder;
    await expect(replies.drained(10_000)).resolves.toBe(true);
    expect(await h.privateText(before.payload)).toMatch(/credit/i);
  }, 30_000);
});
