// Gateway payload shapes the fake sends, as discord.js 14 parses them (see discord-api-types v10):
// READY, GUILD_CREATE and INTERACTION_CREATE for slash commands and button clicks.
import { snowflake } from './snowflake.js';

export type FakeUser = {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
};

export type FakeChannel = {
  id: string;
  /** 0 text, 1 DM, 11 public thread. */
  type: number;
  name: string;
  guildId?: string;
  parentId?: string;
  /** What the bot may do here: sent as app_permissions and enforced on bot-token REST calls. */
  botPermissions: bigint;
  deleted: boolean;
  ownerId?: string;
  /** A DM channel's other end. */
  recipientId?: string;
};

export type FakeGuild = { id: string; name: string; ownerId: string; channelId: string };

// The permission bits the bot and the tests care about (values from the Discord docs).
export const PERMISSIONS = {
  MANAGE_GUILD: 1n << 5n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  CREATE_PUBLIC_THREADS: 1n << 35n,
  SEND_MESSAGES_IN_THREADS: 1n << 38n,
} as const;

export const BOT_DEFAULT_PERMISSIONS =
  PERMISSIONS.VIEW_CHANNEL |
  PERMISSIONS.SEND_MESSAGES |
  PERMISSIONS.EMBED_LINKS |
  PERMISSIONS.ATTACH_FILES |
  PERMISSIONS.READ_MESSAGE_HISTORY |
  PERMISSIONS.CREATE_PUBLIC_THREADS |
  PERMISSIONS.SEND_MESSAGES_IN_THREADS;

/** What an ordinary member may do: talk, not manage the server. */
export const MEMBER_DEFAULT_PERMISSIONS =
  PERMISSIONS.VIEW_CHANNEL | PERMISSIONS.SEND_MESSAGES | PERMISSIONS.READ_MESSAGE_HISTORY;

export function userPayload(id: string, username: string, bot = false): FakeUser {
  return { id, username, global_name: username, discriminator: '0', avatar: null, ...(bot ? { bot: true } : {}) };
}

export function channelPayload(c: FakeChannel): Record<string, unknown> {
  const base: Record<string, unknown> = { id: c.id, type: c.type, name: c.name, flags: 0 };
  if (c.guildId)
    Object.assign(base, {
      guild_id: c.guildId,
      position: 0,
      permission_overwrites: [],
      nsfw: false,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
      parent_id: c.parentId ?? null,
    });
  if (c.type === 11) {
    Object.assign(base, {
      owner_id: c.ownerId,
      message_count: 0,
      member_count: 1,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: new Date().toISOString(),
        locked: false,
      },
      total_message_sent: 0,
    });
  }
  return base;
}

export function readyPayload(
  bot: FakeUser,
  applicationId: string,
  guildIds: string[],
  sessionId: string,
  resumeUrl: string,
) {
  return {
    v: 10,
    user: { ...bot, verified: true, mfa_enabled: false, flags: 0 },
    guilds: guildIds.map((id) => ({ id, unavailable: true })),
    session_id: sessionId,
    session_type: 'normal',
    resume_gateway_url: resumeUrl,
    shard: [0, 1],
    application: { id: applicationId, flags: 0 },
    user_settings: {},
    relationships: [],
    private_channels: [],
    presences: [],
    geo_ordered_rtc_regions: [],
    guild_join_requests: [],
  };
}

export function guildCreatePayload(guild: FakeGuild, bot: FakeUser, channels: FakeChannel[]) {
  const joinedAt = new Date().toISOString();
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [
      {
        id: guild.id,
        name: '@everyone',
        permissions: MEMBER_DEFAULT_PERMISSIONS.toString(),
        position: 0,
        color: 0,
        hoist: false,
        managed: false,
        mentionable: false,
        flags: 0,
        icon: null,
        unicode_emoji: null,
      },
    ],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    max_members: 500_000,
    joined_at: joinedAt,
    large: false,
    unavailable: false,
    member_count: 2,
    voice_states: [],
    members: [
      {
        user: bot,
        roles: [],
        joined_at: joinedAt,
        deaf: false,
        mute: false,
        flags: 0,
        nick: null,
        avatar: null,
        premium_since: null,
        pending: false,
        communication_disabled_until: null,
      },
    ],
    channels: channels.filter((c) => c.type !== 11).map(channelPayload),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
  };
}

export type CommandOption = {
  type: number;
  name: string;
  value?: string | number | boolean;
  options?: CommandOption[];
};

export type InteractionContext = {
  applicationId: string;
  channel: FakeChannel;
  user: FakeUser;
  /** Missing for DMs. */
  guildId?: string;
  /** The member's permissions in the channel; default an ordinary member. */
  memberPermissions?: bigint;
};

function memberOrUser(ctx: InteractionContext): Record<string, unknown> {
  if (!ctx.guildId) return { user: ctx.user };
  return {
    member: {
      user: ctx.user,
      roles: [],
      permissions: (ctx.memberPermissions ?? MEMBER_DEFAULT_PERMISSIONS).toString(),
      joined_at: new Date().toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      nick: null,
      avatar: null,
      premium_since: null,
      pending: false,
      communication_disabled_until: null,
    },
  };
}

function envelope(
  ctx: InteractionContext,
  type: number,
  data: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    id: snowflake(),
    application_id: ctx.applicationId,
    type,
    token: `itok_${snowflake()}_${Math.random().toString(36).slice(2)}`,
    version: 1,
    data,
    channel_id: ctx.channel.id,
    channel: channelPayload(ctx.channel),
    ...(ctx.guildId
      ? { guild_id: ctx.guildId, guild: { id: ctx.guildId, locale: 'en-US', features: [] }, guild_locale: 'en-US' }
      : {}),
    ...memberOrUser(ctx),
    app_permissions: ctx.channel.botPermissions.toString(),
    locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: ctx.guildId ? { '0': ctx.guildId } : { '1': ctx.user.id },
    context: ctx.guildId ? 0 : 1,
    attachment_size_limit: 10 * 1024 * 1024,
    ...extra,
  };
}

export type InteractionPayload = ReturnType<typeof envelope>;

/** `/name subcommand opt:value …` as Discord sends it (APPLICATION_COMMAND, CHAT_INPUT). */
export function slashCommandPayload(
  ctx: InteractionContext,
  name: string,
  subcommand: string,
  options: Record<string, string | undefined> = {},
): InteractionPayload {
  const opts: CommandOption[] = Object.entries(options)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([n, value]) => ({ type: 3, name: n, value }));
  return envelope(ctx, 2, { id: snowflake(), name, type: 1, options: [{ type: 1, name: subcommand, options: opts }] });
}

/** A button press on `message` (MESSAGE_COMPONENT). */
export function buttonPayload(
  ctx: InteractionContext,
  customId: string,
  message: Record<string, unknown>,
): InteractionPayload {
  return envelope(ctx, 3, { custom_id: customId, component_type: 2 }, { message });
}
