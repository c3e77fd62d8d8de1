import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'node:net';
import type { MongoClient } from 'mongodb';
import { startPrivateFerretDb, type PrivateServer } from '../../test/helpers/private-servers.js';
import { waitFor } from '../../test/helpers/jobs-harness.js';
import { connectMongo, type Mongo } from './mongo.js';

// The driver bug behind the flaky MongoDB restart test, made deterministic: the server monitor writes its
// hello to a socket Node has destroyed but whose 'close' the driver has not handled yet, and waits forever
// for a 'drain' (see watchServerMonitors in mongo.ts). A private FerretDB: the test restarts it.

/** The driver internals needed to set the race up; nothing in the product reaches into these. */
type DriverInternals = {
  topology?: {
    s: {
      servers: Map<string, { requestCheck(): void; monitor: { connection: { socket: Socket } | null } | null }>;
    };
  };
};

function wedgeServerMonitor(client: MongoClient): void {
  const servers = (client as unknown as DriverInternals).topology?.s.servers;
  const server = servers && [...servers.values()][0];
  const socket = server?.monitor?.connection?.socket;
  if (!server || !socket) throw new Error('no monitor connection to wedge (driver internals changed?)');
  // Destroyed now, 'close' handled on a later turn of the event loop: the check asked for in between writes
  // to the dead socket, exactly as when a restarting server closes every connection at once.
  socket.destroy();
  server.requestCheck();
}

const ping = (mongo: Mongo) =>
  mongo.db.command({ ping: 1 }).then(
    () => true,
    () => false,
  );

let ferret: PrivateServer;
beforeAll(async () => {
  ferret = await startPrivateFerretDb();
}, 30_000);
afterAll(async () => {
  await ferret?.close();
});

describe('connectMongo', () => {
  it('recovers a client whose server monitor is wedged when the server restarts', async () => {
    // A short connect timeout makes the watchdog's deadline (2 × 1 s + 5 s slack) short.
    const mongo = await connectMongo(ferret.url, 't_storage_monitor', { connectTimeoutMS: 1000 });
    try {
      expect(await ping(mongo)).toBe(true);
      // The monitor debounces checks asked for within 500 ms of its last one.
      await new Promise((r) => setTimeout(r, 700));
      wedgeServerMonitor(mongo.client);
      await ferret.stop();
      // An operation meeting the dead server marks it Unknown; from then on only the monitor can mark it
      // known again, and without the watchdog it never does.
      expect(await ping(mongo)).toBe(false);
      await ferret.start();
      await waitFor('the long-lived client answering again', () => ping(mongo), 30_000, 200);
    } finally {
      await mongo.client.close();
    }
  }, 60_000);
});
