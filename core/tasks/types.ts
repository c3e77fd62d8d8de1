// A research task as stored in MongoDB (collection `tasks`) and passed to every surface.
import type { CheckpointId } from '../research/checkpoints.js';
import type { ProviderFailure, ResearchReport, ResearchUsage } from '../research/contract.js';
import type { Depth } from '../research/depth.js';

/** Where a request came from and where its messages live. The `…Ts`/`…Id` refs are filled once posted. */
export type SlackOrigin = {
  platform: 'slack';
  teamId: string;
  enterpriseId?: string;
  channelId: string;
  userId: string;
  parentTs?: string;
  statusTs?: string;
  /**
   * The command's response_url: reaches the requester for 30 minutes after the command even when the
   * channel and the bot token do not (decision 059). A capability: never shown or logged.
   */
  responseUrl?: string;
};
export type DiscordOrigin = {
  platform: 'discord';
  guildId: string;
  channelId: string;
  userId: string;
  applicationId?: string;
  interactionToken?: string;
  replyMessageId?: string;
  threadId?: string;
  statusMessageId?: string;
};
export type ConsoleOrigin = { platform: 'console'; userId: string };
export type Origin = SlackOrigin | DiscordOrigin | ConsoleOrigin;

export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export type TaskCheckpoint = { id: CheckpointId; at: Date };

export type Task = {
  /** Short and typeable, e.g. `R-7KQ2`. */
  id: string;
  workspaceId: string;
  requester: { id: string; name?: string };
  origin: Origin;
  idea: string;
  depth: Depth;
  cost: number;
  status: TaskStatus;
  checkpoints: TaskCheckpoint[];
  report?: { markdown: string; json: ResearchReport };
  usage?: ResearchUsage;
  /**
   * `userMessage` is safe to show the requester; `detail` is for operators; `failure`, when a provider
   * refused, is the exact cause the console shows (decision 027).
   */
  error?: { userMessage: string; detail: string; failure?: ProviderFailure };
  /** Credits given back when the task failed or was cancelled. */
  refunded?: number;
  cancelRequested?: { by: string; at: Date };
  delivery?: { failedPermanently?: string };
  /** The failed task this one retries (a retry is a new task: a task holds credits once). */
  retryOf?: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
};
