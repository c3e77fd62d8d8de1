// The Discord bot's front door: a discord.js client that answers `/pmf` and the Cancel button. Every
// interaction is acknowledged first (Discord allows 3 s): refusals that need no I/O are ephemeral replies that
// cost nothing and say what to do; everything else is deferred and handed over (work.ts). After the first
// reply everything uses the bot token on channel messages, because the interaction token dies after 15
// minutes and a queued research may outlive it (see delivery.ts).
import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
} from 'discord.js';
import type { Env } from '../../core/config/index.js';
import type { Logger } from '../../core/observability/logger.js';
import { metrics } from '../../core/observability/metrics.js';
import { COMMAND_NAME, commandFromOptions } from './commands.js';
import { channelCapabilities } from './permissions.js';
import { NO_PINGS, dmText, fit, helpText, internalErrorText, missingPermissionsText, parseCancelId } from './render.js';
import type { DiscordWork } from './work.js';

export type DiscordBotOptions = {
  env: Pick<Env, 'DISCORD_API_URL'>;
  logger: Logger;
  /**
   * Takes deferred work and returns at once: bot/work-thread.ts in the bot process (the work runs on another
   * thread, so it cannot delay the next deferral; decision 054), createDiscordWork in tests.
   */
  dispatch: (work: DiscordWork) => void;
};

const EPHEMERAL = MessageFlags.Ephemeral;

/** Interactions handled recently by this process: Discord may replay one after a resume. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 5000) {}
  /** True the first time `id` is seen. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}

export function createDiscordBot(opts: DiscordBotOptions): Client {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(opts.env.DISCORD_API_URL ? { rest: { api: opts.env.DISCORD_API_URL } } : {}),
  });
  const handler = new InteractionHandler(opts);
  client.on(Events.InteractionCreate, (interaction) => void handler.handle(interaction));
  client.on(Events.Error, (err) => opts.logger.error({ err }, 'discord client error'));
  client.on(Events.ShardResume, (id, replayed) => opts.logger.info({ shard: id, replayed }, 'discord gateway resumed'));
  return client;
}

/** Logs in and resolves once the client is ready (guilds received). */
export async function startDiscordBot(client: Client, token: string): Promise<Client> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  return client;
}

function isAlreadyAcknowledged(err: unknown): boolean {
  return err instanceof DiscordAPIError && (err.code === 40060 || err.code === 10062);
}

/** The interaction as the work needs it: plain data, so it can cross to the work thread. */
function deferred(i: ChatInputCommandInteraction<'cached' | 'raw'> | ButtonInteraction<'cached' | 'raw'>) {
  return {
    id: i.id,
    applicationId: i.applicationId,
    token: i.token,
    guildId: i.guildId,
    ...(i.guild?.name ? { guildName: i.guild.name } : {}),
    channelId: i.channelId,
    userId: i.user.id,
    username: i.user.username,
    isAdmin: i.memberPermissions.has(PermissionFlagsBits.ManageGuild),
  };
}

class InteractionHandler {
  private readonly recent = new RecentIds();

  constructor(private readonly opts: DiscordBotOptions) {}

  async handle(interaction: Interaction): Promise<void> {
    if (!this.recent.add(interaction.id)) return;
    const log = this.opts.logger.child({ interactionId: interaction.id, guildId: interaction.guildId ?? undefined });
    // Our share of Discord's 3 s budget: from the handler to the reply or deferral (pmf_ack_seconds).
    const acked = metrics.ackSeconds.startTimer({ platform: 'discord' });
    try {
      if (interaction.isChatInputCommand() && interaction.commandName === COMMAND_NAME) await this.command(interaction);
      else if (interaction.isButton() && parseCancelId(interaction.customId)) await this.cancelButton(interaction);
      else return;
      acked();
    } catch (err) {
      if (isAlreadyAcknowledged(err)) {
        log.info('interaction already acknowledged elsewhere; ignoring the duplicate');
        return;
      }
      log.error({ err }, 'discord interaction failed');
      await this.sayPrivately(interaction, internalErrorText()).catch((e: unknown) =>
        log.warn({ err: e }, 'could not report the failure'),
      );
    }
  }

  private async command(i: ChatInputCommandInteraction): Promise<void> {
    const parsed = commandFromOptions({
      subcommand: i.options.getSubcommand(false),
      idea: i.options.getString('idea'),
      depth: i.options.getString('depth'),
      id: i.options.getString('id'),
    });
    if (!i.inGuild()) return this.replyNow(i, dmText());
    // Everything that can be refused without I/O is refused before acknowledging, so it can be ephemeral.
    if (!parsed.ok) return this.replyNow(i, `${parsed.message} Nothing was charged.`);
    const { command } = parsed;
    if (command.kind === 'help') return this.replyNow(i, helpText());
    if (command.kind !== 'research') {
      await i.deferReply({ flags: EPHEMERAL });
      this.opts.dispatch({ kind: 'private', interaction: deferred(i), command });
      return;
    }
    const caps = channelCapabilities(i.appPermissions.bitfield, i.channel?.type);
    if (caps.missing.length) return this.replyNow(i, missingPermissionsText(caps.missing));

    await i.deferReply();
    this.opts.dispatch({ kind: 'research', interaction: deferred(i), command, threads: caps.threads });
  }

  private async cancelButton(i: ButtonInteraction): Promise<void> {
    if (!i.inGuild()) return void (await i.reply({ content: dmText(), flags: EPHEMERAL, allowedMentions: NO_PINGS }));
    await i.deferReply({ flags: EPHEMERAL });
    this.opts.dispatch({
      kind: 'private',
      interaction: deferred(i),
      command: { kind: 'cancel', taskId: parseCancelId(i.customId)! },
    });
  }

  private async replyNow(i: ChatInputCommandInteraction, content: string): Promise<void> {
    await i.reply({ content: fit(content, 2000), flags: EPHEMERAL, allowedMentions: NO_PINGS });
  }

  private async sayPrivately(i: Interaction, content: string): Promise<void> {
    if (!i.isRepliable()) return;
    // A public "thinking…" placeholder must not stay behind an error.
    if (i.deferred && !i.ephemeral) await i.deleteReply().catch(() => undefined);
    if (i.deferred || i.replied) await i.followUp({ content, flags: EPHEMERAL, allowedMentions: NO_PINGS });
    else await i.reply({ content, flags: EPHEMERAL, allowedMentions: NO_PINGS });
  }
}
