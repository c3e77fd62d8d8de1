// The `/pmf` slash command as Discord registers it: subcommands instead of Slack's free text, so Discord's
// client validates the shape and offers the depth choices. Idea length is checked by the bot (not with
// `max_length`) so an over-long idea gets our explanation rather than a silent client-side refusal.
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { DEFAULT_DEPTH, DEPTHS, DEPTH_PROFILES } from '../../core/research/depth.js';

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
