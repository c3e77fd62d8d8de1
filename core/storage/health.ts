import type { Db } from './postgres.js';
import type { Mongo } from './mongo.js';
import type { Redis } from './redis.js';

export type DependencyHealth = { name: string; up: boolean; latencyMs: number; error?: string };
export type Health = { ok: boolean; dependencies: DependencyHealth[] };

async function probe(name: string, check: () => Promise<unknown>, timeoutMs: number): Promise<DependencyHealth> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, up: true, latencyMs: Math.round((performance.now() - t0) * 10) / 10 };
  } catch (err) {
    return { name, up: false, latencyMs: Math.round(performance.now() - t0), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: { pg?: Db; mongo?: Mongo; redis?: Redis }, timeoutMs = 2000): Promise<Health> {
  const checks: Promise<DependencyHealth>[] = [];
  if (deps.pg) checks.push(probe('postgres', () => deps.pg!.raw('select 1'), timeoutMs));
  if (deps.mongo) checks.push(probe('mongodb', () => deps.mongo!.db.command({ ping: 1 }), timeoutMs));
  if (deps.redis) checks.push(probe('redis', () => deps.redis!.ping(), timeoutMs));
  const dependencies = await Promise.all(checks);
  return { ok: dependencies.every((d) => d.up), dependencies };
}
