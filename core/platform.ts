// The surfaces a research can come from: one home, so the ledger, the task store, the bots and the console
// agree on the word without importing each other.
export const PLATFORMS = ['slack', 'discord', 'console'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** The chat platforms the bot connects to; the console is a surface but not a connection. */
export type ChatPlatform = Exclude<Platform, 'console'>;
