// What the bot can do in the channel a command came from, read from the interaction's `app_permissions`
// (Discord computes them for that channel, overwrites included), so no extra API call is needed.
import { ChannelType, PermissionFlagsBits } from 'discord.js';

/** Without these (and a way to send) the research cannot be delivered at all: refuse before charging. */
const REQUIRED_AFTER_SEND: [bigint, string][] = [
  [PermissionFlagsBits.EmbedLinks, 'Embed Links'],
  [PermissionFlagsBits.AttachFiles, 'Attach Files'],
];

const THREAD_CHANNEL_TYPES: ReadonlySet<ChannelType> = new Set([
  ChannelType.PublicThread,
  ChannelType.PrivateThread,
  ChannelType.AnnouncementThread,
]);

export type ChannelCapabilities = { missing: string[]; threads: boolean };

/**
 * `missing` lists what must be granted before a research can start. `threads` says whether the bot can open
 * a thread on its reply and talk in it; when it cannot (no permission, already inside a thread, a channel
 * type without threads) the research still runs and is delivered under the reply instead.
 */
export function channelCapabilities(appPermissions: bigint, channelType: ChannelType | undefined): ChannelCapabilities {
  const has = (bit: bigint) => (appPermissions & bit) === bit;
  // An uncached channel (a guild the client has not loaded) has no known type: accept either way of
  // sending, and let Discord's answer to the thread request decide (the bot falls back on a refusal).
  const inThread = channelType !== undefined && THREAD_CHANNEL_TYPES.has(channelType);
  const canSend =
    channelType === undefined
      ? has(PermissionFlagsBits.SendMessages) || has(PermissionFlagsBits.SendMessagesInThreads)
      : has(inThread ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages);
  const missing = [
    ...(has(PermissionFlagsBits.ViewChannel) ? [] : ['View Channel']),
    ...(canSend ? [] : [inThread ? 'Send Messages in Threads' : 'Send Messages']),
    ...REQUIRED_AFTER_SEND.filter(([bit]) => !has(bit)).map(([, name]) => name),
  ];
  const threadable =
    channelType === undefined || channelType === ChannelType.GuildText || channelType === ChannelType.GuildAnnouncement;
  const threads =
    threadable && has(PermissionFlagsBits.CreatePublicThreads) && has(PermissionFlagsBits.SendMessagesInThreads);
  return { missing, threads };
}
