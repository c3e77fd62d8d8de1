// Reading Discord REST failures and saying what they mean to the person who ran the command (decision 059).
// Codes: Discord's JSON error codes (developers/docs/topics/opcodes-and-status-codes#json-json-error-codes).
import { DiscordAPIError } from 'discord.js';

/** The JSON error code of a Discord API error anywhere in the cause chain. */
export function discordErrorCode(error: unknown): number | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof DiscordAPIError) return typeof e.code === 'number' ? e.code : undefined;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const DISCORD_CODES = {
  unknownChannel: 10003,
  unknownMessage: 10008,
  tooLarge: 40005,
  missingAccess: 50001,
  cannotMessageUser: 50007,
  missingPermissions: 50013,
  invalidFormBody: 50035,
  archivedThread: 50083,
  lockedThread: 160005,
  /** The interaction's webhook: gone (10015) or its token expired (50027). */
  unknownWebhook: 10015,
  invalidWebhookToken: 50027,
} as const;

/**
 * The permission a refused call needed. Discord's 50013 does not name it, so the caller says which one the
 * call it made depends on (a post in a thread needs Send Messages in Threads, a file Attach Files, …).
 */
export type DiscordPermission =
  | 'Send Messages'
  | 'Send Messages in Threads'
  | 'Attach Files'
  | 'Embed Links'
  | 'Create Public Threads'
  | 'Read Message History';

/**
 * What a Discord error means for the requester and what fixes it, in one or two sentences. Unknown codes get
 * undefined: the caller says something generic.
 */
export function discordProblemText(code: number, permission?: DiscordPermission): string | undefined {
  switch (code) {
    case DISCORD_CODES.missingAccess:
      return "I can't see this channel any more (my access to it was removed): a server admin needs to give PMF Scout the **View Channel** permission here, or you can use another channel.";
    case DISCORD_CODES.missingPermissions:
      return permission
        ? `I'm missing the **${permission}** permission in this channel: a server admin needs to grant it to PMF Scout (Channel settings → Permissions).`
        : "I'm missing a permission in this channel: a server admin needs to give PMF Scout Send Messages, Send Messages in Threads, Attach Files, Embed Links, Create Public Threads and Read Message History here.";
    case DISCORD_CODES.unknownChannel:
      return 'The channel or thread was deleted: run the command again in another channel.';
    case DISCORD_CODES.archivedThread:
      return "The research's thread was archived before it ended: unarchive it (or keep threads open longer in the channel's settings) to keep reports there.";
    case DISCORD_CODES.lockedThread:
      return "The research's thread was locked: a moderator needs to unlock it for me to post there.";
    case DISCORD_CODES.tooLarge:
      return "The report file is over this server's upload limit: it is sent as messages instead.";
    case DISCORD_CODES.invalidFormBody:
      return 'Discord refused a message as malformed: that is our bug, please tell the PMF Scout operators.';
    case DISCORD_CODES.cannotMessageUser:
      return "I can't send you direct messages: allow direct messages from this server's members (Privacy Settings) to get reports there.";
    default:
      return undefined;
  }
}
