/** The Redis pub/sub channel carrying a task's live state as JSON (the whole Task). */
export function progressChannel(taskId: string, prefix = 'pmf:progress:'): string {
  return `${prefix}${taskId}`;
}
