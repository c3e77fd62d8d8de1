// The `/pmf` slash command as Discord registers it, and its options read back into the shared `Command`
// (bot/commands/parse.ts). Subcommands instead of Slack's free text, so Discord's client validates the shape
// and offers the depth choices. Idea length is checked by the bot (not with `max_length`) so an over-long idea
// gets our explanation rather than a silent client-side refusal.
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { DEFAULT_DEPTH, DEPTHS, DEPTH_PROFILES, isDepth } from '../../core/research/depth.js';
import { researchCommand, type ParseResult } from '../commands/parse.js';

export const COMMAND_NAME = 'pmf';

const idOption = {
  type: ApplicationCommandOptionType.String,
  name: 'id',
  description: 'Research id, e.g. R-7KQ2',
  required: true,
  min_length: 3,
  max_length: 64,
} as const;

export const PMF_COMMANDS: RESTPutAPIApplicationCommandsJSONBody = [
  {
    name: COMMAND_NAME,
    description: 'Product-market-fit research on a product idea',
    type: ApplicationCommandType.ChatInput,
    dm_permission: false,
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'research',
        description: 'Research a product idea and score its product-market fit',
        options: [
          {
            type: ApplicationCommandOptionType.String,
            name: 'idea',
            description: 'The product, its customer and the problem it solves',
            required: true,
          },
          {
            type: ApplicationCommandOptionType.String,
            name: 'depth',
            description: `How deep to research (default ${DEFAULT_DEPTH})`,
            required: false,
            choices: DEPTHS.map((d) => ({
              name: `${DEPTH_PROFILES[d].label} · ${DEPTH_PROFILES[d].credits} credits`,
              value: d,
            })),
          },
        ],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'balance',
        description: 'Credits left in this server this month',
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'list',
        description: 'The latest researches in this server',
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'status',
        description: 'Where a research is',
        options: [idOption],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'cancel',
        description: 'Stop a research; unspent credits come back',
        options: [idOption],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: 'help', description: 'What PMF Scout can do' },
    ],
  },
];

/** The options of a `/pmf` interaction as Discord validated them against PMF_COMMANDS. */
export type PmfOptions = {
  subcommand: string | null;
  idea?: string | null;
  depth?: string | null;
  id?: string | null;
};

/**
 * The same `Command` Slack's text parses to (bot/commands/parse.ts), from the options Discord's client already
 * shaped. Pure. The idea gets the same check as on Slack; its length is ours to explain (see the top).
 */
export function commandFromOptions(options: PmfOptions): ParseResult {
  switch (options.subcommand) {
    case 'research': {
      // Discord offers only the registered choices; anything else (a stale registration) gets the default.
      const depth = options.depth && isDepth(options.depth) ? options.depth : DEFAULT_DEPTH;
      return researchCommand(options.idea ?? '', depth);
    }
    case 'balance':
    case 'list':
      return { ok: true, command: { kind: options.subcommand } };
    case 'status':
    case 'cancel':
      // `id` is a required option: Discord never sends these without it.
      return options.id
        ? { ok: true, command: { kind: options.subcommand, taskId: options.id } }
        : {
            ok: false,
            problem: 'missing_id',
            message: `Which research? Give its id, for example: \`/pmf ${options.subcommand} id:R-7KQ2\`.`,
          };
    default:
      // `help`, no subcommand, or one this build does not know (a newer registration): what PMF Scout can do.
      return { ok: true, command: { kind: 'help' } };
  }
}
