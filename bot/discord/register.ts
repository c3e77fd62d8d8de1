// `npm run discord:register`: puts the /pmf command definition on Discord. With DISCORD_GUILD_ID it
// registers in that server only (shown at once: use it while developing); without it, globally (what
// production uses; Discord may take a while to show a change). Both are bulk overwrites, so re-running is safe.
import { pathToFileURL } from 'node:url';
import { REST, Routes } from 'discord.js';
import { loadConfigOrExit } from '../../core/config/index.js';
import { PMF_COMMANDS } from './commands.js';

export type Registration = { scope: 'guild' | 'global'; commands: string[] };

export async function registerCommands(opts: {
  rest: REST;
  applicationId: string;
  guildId?: string;
}): Promise<Registration> {
  const route = opts.guildId
    ? Routes.applicationGuildCommands(opts.applicationId, opts.guildId)
    : Routes.applicationCommands(opts.applicationId);
  const saved = (await opts.rest.put(route, { body: PMF_COMMANDS })) as { name: string }[];
  return { scope: opts.guildId ? 'guild' : 'global', commands: saved.map((c) => c.name) };
}

async function main(): Promise<void> {
  const { config } = await import('dotenv');
  config({ quiet: true });
  const env = loadConfigOrExit(process.env, [
    'DISCORD_TOKEN',
    'DISCORD_APPLICATION_ID',
    'DISCORD_GUILD_ID',
    'DISCORD_API_URL',
  ]);
  const missing = (['DISCORD_TOKEN', 'DISCORD_APPLICATION_ID'] as const).filter((k) => !env[k]);
  if (missing.length) {
    process.stderr.write(
      `Cannot register the Discord command: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set (see README, "Set up Discord").\n`,
    );
    process.exit(78);
  }
  const rest = new REST(env.DISCORD_API_URL ? { api: env.DISCORD_API_URL } : {}).setToken(env.DISCORD_TOKEN!);
  const result = await registerCommands({
    rest,
    applicationId: env.DISCORD_APPLICATION_ID!,
    ...(env.DISCORD_GUILD_ID ? { guildId: env.DISCORD_GUILD_ID } : {}),
  });
  process.stdout.write(
    result.scope === 'guild'
      ? `Registered /${result.commands.join(', /')} in server ${env.DISCORD_GUILD_ID} (available now).\n`
      : `Registered /${result.commands.join(', /')} globally (Discord may take up to an hour to show it everywhere).\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
