import { describe, expect, it } from '@jest/globals';
import { ChannelType, PermissionFlagsBits as P } from 'discord.js';
import { channelCapabilities } from './permissions.js';

const ALL =
  P.ViewChannel | P.SendMessages | P.EmbedLinks | P.AttachFiles | P.CreatePublicThreads | P.SendMessagesInThreads;

describe('channelCapabilities', () => {
  it('everything granted in a text channel: nothing missing, threads on', () => {
    expect(channelCapabilities(ALL, ChannelType.GuildText)).toEqual({ missing: [], threads: true });
  });

  it('names each permission it cannot work without', () => {
    expect(channelCapabilities(ALL & ~P.AttachFiles & ~P.SendMessages, ChannelType.GuildText).missing).toEqual([
      'Send Messages',
      'Attach Files',
    ]);
    expect(channelCapabilities(0n, ChannelType.GuildText).missing).toEqual([
      'View Channel',
      'Send Messages',
      'Embed Links',
      'Attach Files',
    ]);
  });

  it('without thread permissions it still works, under the reply', () => {
    expect(channelCapabilities(ALL & ~P.CreatePublicThreads, ChannelType.GuildText)).toEqual({
      missing: [],
      threads: false,
    });
    expect(channelCapabilities(ALL & ~P.SendMessagesInThreads, ChannelType.GuildText)).toEqual({
      missing: [],
      threads: false,
    });
  });

  it('inside a thread it needs Send Messages in Threads and opens no thread', () => {
    expect(channelCapabilities(ALL & ~P.SendMessages, ChannelType.PublicThread)).toEqual({
      missing: [],
      threads: false,
    });
    expect(channelCapabilities(ALL & ~P.SendMessagesInThreads, ChannelType.PublicThread).missing).toEqual([
      'Send Messages in Threads',
    ]);
  });

  it('an unknown channel type tries a thread when permitted', () => {
    expect(channelCapabilities(ALL, undefined)).toEqual({ missing: [], threads: true });
  });
});
