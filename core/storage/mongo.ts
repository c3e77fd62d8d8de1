import {
  MongoClient,
  type Db as MongoDb,
  type MongoClientOptions,
  type ServerClosedEvent,
  type ServerHeartbeatFailedEvent,
  type ServerHeartbeatStartedEvent,
  type ServerHeartbeatSucceededEvent,
} from 'mongodb';
import { createLogger } from '../observability/logger.js';

export type Mongo = { client: MongoClient; db: MongoDb };

const CLIENT_DEFAULTS: MongoClientOptions = {
  serverSelectionTimeoutMS: 5000,
  maxPoolSize: 50,
  // The driver's default is 30 s. It bounds a connect and a polled heartbeat, so it also sets how soon the
  // monitor watchdog below can tell a wedged heartbeat from a slow one; 10 s is ample for any reachable server.
  connectTimeoutMS: 10_000,
};

/** The database name comes from the URL path (`mongodb://host/pmf`), `pmf` when the URL names none. */
export async function connectMongo(url: string, dbName?: string, options: MongoClientOptions = {}): Promise<Mongo> {
  const client = new MongoClient(url, { ...CLIENT_DEFAULTS, ...options });
  const stopWatching = watchServerMonitors(client);
  try {
    await client.connect();
  } catch (err) {
    stopWatching();
    throw err;
  }
  return { client, db: client.db(dbName ?? (new URL(url).pathname.slice(1) || 'pmf')) };
}

let log: ReturnType<typeof createLogger> | undefined;

/**
 * Reconnects `client` when one of its server monitors is wedged.
 *
 * Why: mongodb driver 6.22 (and 7.9, same code) can lose a server monitor for good when the server goes
 * away. When a server restarts it closes every connection at once; if an operation's connection error is
 * handled first, it asks the monitor for an immediate check, and the monitor writes its `hello` to its own
 * socket, which Node has already destroyed but whose 'close' the driver has not yet seen. `socket.write`
 * then returns false and the driver waits for a 'drain' (or 'error') that a destroyed socket never emits
 * (`Connection.writeCommand`). That heartbeat never ends, the monitor stays in its "monitoring" state and
 * skips every later check, so the server stays Unknown and every server selection fails with the old
 * "connection N to … closed" — while a fresh client connects fine. About 1 FerretDB restart in 4 hit this
 * in core/jobs/restart.test.ts; a bot or worker would have stayed cut off from MongoDB until restarted.
 *
 * Detection uses the public heartbeat events: a heartbeat still running well after the longest it can
 * legitimately take (its socket timeouts) is wedged. The fix closes the client and connects it again: the
 * same MongoClient gets a fresh topology, so every Db and Collection handed out earlier (Agenda's backend,
 * the task store, the checkpointer) keeps working without being swapped. A real outage never triggers it:
 * heartbeats then keep failing, and each failure ends the heartbeat.
 *
 * Returns a function that stops the watchdog; `client.close()` stops it too.
 */
function watchServerMonitors(client: MongoClient, checkEveryMs = 1000): () => void {
  const { connectTimeoutMS, heartbeatFrequencyMS } = client.options;
  // With no connect timeout a heartbeat may legitimately last forever: nothing to detect.
  if (!connectTimeoutMS) return () => undefined;
  // Longest a heartbeat can take: a connect then a hello, each bounded by connectTimeoutMS; a streamed
  // (awaited) one also waits up to heartbeatFrequencyMS for the server's answer. The slack covers a busy
  // event loop, where an ended heartbeat's event may be handled a little after its deadline.
  const slackMs = 5000;
  const limit = (awaited: boolean) => 2 * connectTimeoutMS + (awaited ? heartbeatFrequencyMS : 0) + slackMs;

  const close = client.close.bind(client);
  const running = new Map<string, { since: number; awaited: boolean }>();
  let stopped = false;
  let repairing: Promise<void> | undefined;
  let needsConnect = false;

  const onStarted = (e: ServerHeartbeatStartedEvent) =>
    running.set(e.connectionId, { since: Date.now(), awaited: e.awaited });
  const onEnded = (e: ServerHeartbeatSucceededEvent | ServerHeartbeatFailedEvent) => running.delete(e.connectionId);
  // A monitor closed mid-check (its server left the topology, or the client closed) may emit no end event.
  const onServerClosed = (e: ServerClosedEvent) => running.delete(e.address);
  const onTopologyClosed = () => running.clear();

  const repair = async (reason: string) => {
    log ??= createLogger('storage');
    log.warn({ reason }, 'MongoDB server monitor wedged; reconnecting the client');
    running.clear();
    try {
      // Drops the topology with the wedged monitor; operations waiting for a server fail instead of hanging.
      if (!needsConnect) await close();
      needsConnect = true;
      if (!stopped) await client.connect();
      needsConnect = false;
    } catch (err) {
      // The server is unreachable right now (connect gave up after serverSelectionTimeoutMS): try again at
      // the next check. Until then operations fail fast rather than wait on the wedged monitor.
      log.warn({ err: (err as Error).message }, 'MongoDB reconnect failed; retrying');
    }
  };

  const timer = setInterval(() => {
    if (stopped || repairing) return;
    const now = Date.now();
    const wedged = [...running].find(([, h]) => now - h.since > limit(h.awaited));
    const reason = needsConnect
      ? 'previous reconnect failed'
      : wedged && `heartbeat to ${wedged[0]} running for ${now - wedged[1].since} ms`;
    if (reason) repairing = repair(reason).finally(() => (repairing = undefined));
  }, checkEveryMs);
  timer.unref();

  client.on('serverHeartbeatStarted', onStarted);
  client.on('serverHeartbeatSucceeded', onEnded);
  client.on('serverHeartbeatFailed', onEnded);
  client.on('serverClosed', onServerClosed);
  client.on('topologyClosed', onTopologyClosed);

  const stop = () => {
    stopped = true;
    clearInterval(timer);
    client.off('serverHeartbeatStarted', onStarted);
    client.off('serverHeartbeatSucceeded', onEnded);
    client.off('serverHeartbeatFailed', onEnded);
    client.off('serverClosed', onServerClosed);
    client.off('topologyClosed', onTopologyClosed);
  };

  // Every owner shuts down with `mongo.client.close()`: that must also stop the watchdog, and must not be
  // undone by a repair that is between its close and its connect.
  client.close = async (force?: boolean) => {
    stop();
    await repairing;
    await close(force);
  };
  return stop;
}
