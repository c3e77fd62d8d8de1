// The fake must be faithful enough that the real discord.js client works against it unchanged.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AttachmentBuilder,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  REST,
  Routes,
  type Interaction,
} from 'discord.js';
import { startFakeDiscord, type FakeDiscord, type FakeGuild } from './index.js';

describe('fake Discord with the real discord.js client', () => {
  let fake: FakeDiscord;
  let guild: FakeGuild;
  let client: Client;
  const seen: Interaction[] = [];
  const deferrals = new Map<string, Promise<unknown>>();

  beforeAll(async () => {
    fake = await startFakeDiscord({ heartbeatIntervalMs: 200 });
    guild = fake.addGuild('Acme');
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    client.on(Events.InteractionCreate, (interaction) => {
      seen.push(interaction);
      if (interaction.isChatInputCommand()) deferrals.set(interaction.id, interaction.deferReply());
    });
    const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(fake.token);
    await ready;
  });

  afterAll(async () => {
    await client.destroy();
    await fake.close();
  });

  it('identifies, becomes ready with the guild, and heartbeats are acknowledged', async () => {
    expect(client.user?.id).toBe(fake.botUser.id);
    expect(client.guilds.cache.has(guild.id)).toBe(true);
    expect(fake.gatewayStats.identifies).toBe(1);
    await fake.waitFor(() => fake.gatewayStats.heartbeats >= 1, 5000, 'a heartbeat');
  });

  it('delivers a slash command with its subcommand options and records the deferral', async () => {
    const user = fake.addUser('maria');
    const ctx = fake.context({ channel: fake.channel(guild.channelId), user });
    const payload = fake.slashCommand(ctx, 'research', { idea: 'dog sitters', depth: 'deep' });
    const callback = await fake.dispatchInteraction(payload);
    expect(callback.type).toBe(5);
    const interaction = seen.find((i) => i.id === payload.id);
    expect(interaction?.isChatInputCommand()).toBe(true);
    if (!interaction?.isChatInputCommand()) return;
    expect(interaction.options.getSubcommand()).toBe('research');
    expect(interaction.options.getString('idea')).toBe('dog sitters');
    expect(interaction.appPermissions?.has('CreatePublicThreads')).toBe(true);
    expect(interaction.memberPermissions?.has('ManageGuild')).toBe(false);
    await deferrals.get(payload.id);
    const reply = await interaction.editReply({ content: 'hello' });
    expect(fake.originalMessage(payload.id)?.content).toBe('hello');
    expect(reply.id).toBe(fake.originalMessage(payload.id)?.id);
  });

  it('starts a thread on a message and takes attachments over multipart', async () => {
    const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
    const parent = (await rest.post(Routes.channelMessages(guild.channelId), { body: { content: 'parent' } })) as {
      id: string;
    };
    const thread = (await rest.post(Routes.threads(guild.channelId, parent.id), {
      body: { name: 'research', auto_archive_duration: 1440 },
    })) as { id: string; type: number };
    expect(thread.type).toBe(11);
    const file = new AttachmentBuilder(Buffer.from('# report'), { name: 'pmf-R-1.md' });
    await rest.post(Routes.channelMessages(thread.id), {
      body: { content: 'report' },
      files: [{ name: file.name!, data: Buffer.from('# report') }],
    });
    const [msg] = fake.channelMessages(thread.id);
    expect(msg?.attachments[0]?.filename).toBe('pmf-R-1.md');
    expect(msg?.attachments[0]?.data.toString()).toBe('# report');
  });

  it('answers 429 with retry_after, and discord.js waits and retries', async () => {
    const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
    fake.inject429('POST /channels/:id/messages', 150, 1);
    const before = fake.requests.length;
    await rest.post(Routes.channelMessages(guild.channelId), { body: { content: 'after a 429' } });
    const statuses = fake.requests.slice(before).map((r) => r.status);
    expect(statuses).toEqual([429, 200]);
  });

  it('maps a deleted channel to Unknown Channel (10003)', async () => {
    const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
    const gone = fake.addChannel({ guildId: guild.id, name: 'gone' });
    fake.deleteChannel(gone.id);
    await expect(rest.post(Routes.channelMessages(gone.id), { body: { content: 'x' } })).rejects.toMatchObject({
      code: 10003,
    });
  });

  it('rejects an interaction token once it has expired on the simulated clock', async () => {
    const user = fake.addUser('late');
    const payload = fake.slashCommand(fake.context({ channel: fake.channel(guild.channelId), user }), 'help');
    await fake.dispatchInteraction(payload);
    const interaction = seen.find((i) => i.id === payload.id);
    if (!interaction?.isChatInputCommand()) throw new Error('not delivered');
    await deferrals.get(payload.id);
    fake.advanceClock(16 * 60_000);
    const err = await interaction.editReply('too late').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(50027);
  });

  it('resumes after a dropped connection and replays what was dispatched meanwhile', async () => {
    fake.dropGateway();
    const user = fake.addUser('resumer');
    const payload = fake.slashCommand(fake.context({ channel: fake.channel(guild.channelId), user }), 'balance');
    const callback = await fake.dispatchInteraction(payload);
    expect(callback.type).toBe(5);
    expect(fake.gatewayStats.resumes).toBe(1);
    expect(fake.gatewayStats.identifies).toBe(1);
  });
});
