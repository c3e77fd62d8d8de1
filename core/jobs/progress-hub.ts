// One process's end of the live progress. Every state a task reaches is published as JSON on the task's
// Redis channel (`<progressPrefix><taskId>`), from whichever process reached it; a process that shows
// progress (a live view, the console's task index) listens through one subscriber connection shared by
// all its listeners.
import type { Logger } from '../observability/logger.js';
import type { Redis } from '../storage/redis.js';
import type { Task } from '../tasks/types.js';
import { messageOf } from './outcomes.js';
import { progressChannel, reviveTask } from './progress.js';

export type ProgressHub = {
  /** Publishes the task's live state; fire and forget (a Redis outage must not stall the job). */
  publish(task: Task): void;
  /** Calls `onTask` with each state of the task published from now on; resolves to the unsubscribe. */
  subscribe(taskId: string, onTask: (task: Task) => void): Promise<() => Promise<void>>;
  /** Drops every listener and the subscriber connection. */
  close(): void;
};

export function createProgressHub(redis: Redis, prefix: string, logger: Logger): ProgressHub {
  let sub: Redis | undefined;
  const listeners = new Map<string, Set<(task: Task) => void>>();
  const connection = (): Redis => {
    if (sub) return sub;
    sub = redis.duplicate();
    sub.on('error', () => undefined);
    sub.on('message', (channel: string, message: string) => {
      const set = listeners.get(channel);
      if (!set) return;
      const task = reviveTask(message);
      for (const fn of set) fn(task);
    });
    return sub;
  };
  return {
    publish(task) {
      redis.publish(progressChannel(task.id, prefix), JSON.stringify(task)).catch((err: unknown) => {
        logger.debug({ taskId: task.id, err: messageOf(err) }, 'progress publish failed');
      });
    },
    async subscribe(taskId, onTask) {
      const channel = progressChannel(taskId, prefix);
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        await connection().subscribe(channel);
      }
      set.add(onTask);
      return async () => {
        const current = listeners.get(channel);
        if (!current?.delete(onTask) || current.size > 0) return;
        listeners.delete(channel);
        await sub?.unsubscribe(channel).catch(() => undefined);
      };
    },
    close() {
      listeners.clear();
      sub?.disconnect();
      sub = undefined;
    },
  };
}
