// What the bot can do in the channel a command came from, read from the interaction's `app_permissions`
// (Discord computes them for that channel, overwrites included), so no extra API call is needed.
import { ChannelType, PermissionFlagsBits } from 'discord.js';

/** Without these the research cannot be delivered at all: refuse before charging. */
const REQUIRED: [bigint, string][] = [
  [PermissionFlagsBits.ViewChannel, 'View Channel'],
  [PermissionFlagsBits.EmbedLinks, 'Embed Links'],
  [PermissionFlagsBits.AttachFiles, 'Attach Files'],
];

const THREAD_CHANNEL_TYPES: ReadonlySet<ChannelType> = new Set([ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]);

export type ChannelCapabilities = { missing: string[]; threads: boolean };

/**
 * `missing` lists what must be granted before a research can start. `threads` says whether the bot can open
 * a thread on its reply and talk in it; when it cannot (no permission, already inside a thread, a channel
 * type without threads) the research still runs and is delivered under the reply instead.
 */
export function channelCapabilities(appPermissions: bigint, channelType: ChannelType | undefined): ChannelCapabilities {
  const has = (bit: bigint) => (appPermissions & bit) === bit;
  const inThread = channelType !== undefined && THREAD_CHANNEL_TYPES.has(channelType);
  const missing = REQUIRED.filter(([bit]) => !has(bit)).map(([, name]) => name);
  const send: [bigint, string] = inThread ? [PermissionFlagsBits.SendMessagesInThreads, 'Send Messages in Threads'] : [PermissionFlagsBits.SendMessages, 'Send Messages'];
  if (!has(send[0])) missing.splice(1, 0, send[1]);
  const threadable = channelType === ChannelType.GuildText || channelType === ChannelType.GuildAnnouncement;
  const threads = threadable && has(PermissionFlagsBits.CreatePublicThreads) && has(PermissionFlagsBits.SendMessagesInThreads);
  return { missing, threads };
}
