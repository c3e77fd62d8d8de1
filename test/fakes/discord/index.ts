export {
  FakeDiscord,
  startFakeDiscord,
  type CallbackRecord,
  type FakeMessage,
  type FakeAttachment,
  type RequestRecord,
  type FakeDiscordOptions,
} from './server.js';
export {
  PERMISSIONS,
  BOT_DEFAULT_PERMISSIONS,
  MEMBER_DEFAULT_PERMISSIONS,
  type FakeChannel,
  type FakeGuild,
  type FakeUser,
  type InteractionPayload,
  type InteractionContext,
} from './payloads.js';
export { snowflake } from './snowflake.js';
