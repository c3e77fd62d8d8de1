import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

// The manifest is pasted by hand into Slack: check it declares what the app relies on.
const manifest = z
  .object({
    features: z.object({ slash_commands: z.array(z.object({ command: z.string(), should_escape: z.boolean() })) }),
    oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()) }) }),
    settings: z.object({ interactivity: z.object({ is_enabled: z.boolean() }), socket_mode_enabled: z.boolean() }),
  })
  .parse(parse(readFileSync(new URL('./manifest.yml', import.meta.url), 'utf8')));

describe('bot/slack/manifest.yml', () => {
  it('declares /pmf, the scopes, interactivity for the Cancel button and Socket Mode', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/pmf']);
    expect(manifest.features.slash_commands[0]?.should_escape).toBe(false);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual([
      'channels:join',
      'chat:write',
      'chat:write.public',
      'commands',
      'files:write',
      'users:read',
    ]);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });
});
