import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REST } from 'discord.js';
import { startFakeDiscord, type FakeDiscord } from '../../test/fakes/discord/index.js';
import { registerCommands } from './register.js';

describe('discord:register', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await startFakeDiscord();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('registers /pmf with its six subcommands in a guild, or globally without one', async () => {
    const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
    const guild = fake.addGuild();
    expect(await registerCommands({ rest, applicationId: fake.applicationId, guildId: guild.id })).toEqual({
      scope: 'guild',
      commands: ['pmf'],
    });
    const [cmd] = fake.commands.guild.get(guild.id) as { options: { name: string }[] }[];
    expect(cmd!.options.map((o) => o.name)).toEqual(['research', 'balance', 'list', 'status', 'cancel', 'help']);
    expect(fake.commands.global).toEqual([]);
    expect(await registerCommands({ rest, applicationId: fake.applicationId })).toEqual({
      scope: 'global',
      commands: ['pmf'],
    });
    expect(fake.commands.global).toHaveLength(1);
  });

  it('runs as `npm run discord:register` from the environment', async () => {
    const guild = fake.addGuild();
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'bot/discord/register.ts'], {
      env: {
        ...process.env,
        DISCORD_TOKEN: fake.token,
        DISCORD_APPLICATION_ID: fake.applicationId,
        DISCORD_GUILD_ID: guild.id,
        DISCORD_API_URL: fake.apiUrl,
      },
    });
    expect(stdout).toContain(`Registered /pmf in server ${guild.id}`);
    expect(fake.commands.guild.get(guild.id)).toHaveLength(1);
  });
});
