// What the console needs from core/, as narrow ports. The composition root (console/composition.ts) builds
// the real CreditLedger, TaskStore and Jobs, and console/server.ts passes them in through Remix's load
// context; tests build the same object.
// Structural types keep route code independent of which copy of core/ the bundle holds, so errors are
// recognised by their `code`/`name`, never by instanceof.
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Mongo } from '../../../core/storage/mongo.js';
import type { Depth } from '../../../core/research/depth.js';
import type {
  BalanceView,
  LedgerTransaction,
  ListWorkspacesQuery,
  Page,
  TransactionsQuery,
  WorkspaceSummary,
} from '../../../core/credits/types.js';
import type { TaskPage, TaskSearch } from '../../../core/tasks/search.js';
import type { Task } from '../../../core/tasks/types.js';
import type { TaskIndex } from './task-index.server.js';
import type { Platform } from '../../../core/platform.js';

export type { LedgerTransaction, Page, Platform, WorkspaceSummary, TaskPage, TaskSearch };

export type WorkspaceView = {
  id: string;
  platform: Platform;
  externalId: string;
  name: string;
  monthlyAllowance: number;
  status: 'active' | 'suspended';
  createdAt: Date;
};

export type LedgerMutation = {
  workspaceId: string;
  amount?: number;
  actor: string;
  reason: string;
  idempotencyKey: string;
};

export interface LedgerPort {
  ensureWorkspace(w: { platform: Platform; externalId: string; name: string }): Promise<WorkspaceView>;
  getWorkspace(id: string): Promise<WorkspaceView | undefined>;
  balance(workspaceId: string, month?: string): Promise<BalanceView>;
  grant(m: LedgerMutation): Promise<unknown>;
  deduct(m: LedgerMutation): Promise<unknown>;
  setAllowance(m: LedgerMutation): Promise<unknown>;
  suspend(m: LedgerMutation): Promise<unknown>;
  resume(m: LedgerMutation): Promise<unknown>;
  listWorkspaces(q: ListWorkspacesQuery): Promise<Page<WorkspaceSummary>>;
  transactions(workspaceId: string, q: TransactionsQuery): Promise<Page<LedgerTransaction>>;
  checkInvariant(workspaceId?: string): Promise<{ ok: boolean; problems: string[] }>;
}

export interface TaskStorePort {
  get(id: string): Promise<Task | undefined>;
  search(q: TaskSearch): Promise<TaskPage>;
}

export type ConsoleActor = { id: string; isAdmin: boolean };

export interface JobsPort {
  submitResearch(req: {
    requestKey: string;
    workspaceId: string;
    requester: { id: string; name?: string };
    origin: { platform: 'console'; userId: string };
    idea: string;
    depth: Depth;
  }): Promise<{ task: Task; created: boolean }>;
  cancelResearch(taskId: string, actor: ConsoleActor): Promise<Task>;
  retryResearch(taskId: string, actor: ConsoleActor): Promise<Task>;
}

export type ConsoleServices = {
  db: Knex;
  redis: Redis;
  /** The tasks collection, read directly for usage aggregates the TaskStore does not offer. */
  mongo: Mongo;
  ledger: LedgerPort;
  tasks: TaskStorePort;
  /** The in-memory read model for search and usage; routes fall back to TaskStore queries until it is ready. */
  taskIndex?: TaskIndex;
  /** Absent when the console runs without the job layer: job actions and the playground say so. */
  jobs?: JobsPort;
  /** CONSOLE_ORIGIN: the one origin mutations may come from; without it, the request's own origin. */
  origin?: string;
  sandbox: boolean;
  now(): Date;
};

declare module '@remix-run/node' {
  interface AppLoadContext {
    services: ConsoleServices;
    clientIp?: string;
    /** This response's Content-Security-Policy nonce (console/server.ts); absent in loader tests. */
    cspNonce?: string;
  }
}
