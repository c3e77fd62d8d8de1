import { afterAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Installation } from '@slack/bolt';
import { testPostgres } from '../../test/helpers/storage.js';
import {
  createPgInstallationStore,
  installationRevoked,
  installationTokenResolver,
  markInstallationRevoked,
} from './installation-store.js';

const db = testPostgres(2);
const store = createPgInstallationStore(db);
afterAll(async () => {
  await db.destroy();
});

const id = (p: string) => `${p}${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;

function installation(over: Partial<Installation> = {}): Installation {
  return {
    team: { id: id('T'), name: 'Fake' },
    enterprise: undefined,
    user: { id: 'U1', token: undefined, scopes: undefined },
    bot: { token: `xoxb-${randomUUID()}`, scopes: ['commands'], id: 'B1', userId: 'UBOT' },
    isEnterpriseInstall: false,
    appId: 'A1',
    tokenType: 'bot',
    ...over,
  } as Installation;
}

describe('createPgInstallationStore', () => {
  it('stores, replaces on reinstall, fetches and deletes a workspace install', async () => {
    const first = installation();
    const teamId = first.team!.id;
    await store.storeInstallation(first);
    const again = { ...first, bot: { ...first.bot!, token: 'xoxb-rotated' } };
    await store.storeInstallation(again);
    const fetched = await store.fetchInstallation({ teamId, enterpriseId: undefined, isEnterpriseInstall: false });
    expect(fetched.bot?.token).toBe('xoxb-rotated');
    expect(await db('slack_installations').where({ team_id: teamId }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await installationTokenResolver(store)({ platform: 'slack', teamId, channelId: 'C1', userId: 'U1' })).toBe(
      'xoxb-rotated',
    );
    await store.deleteInstallation!({ teamId, enterpriseId: undefined, isEnterpriseInstall: false });
    await expect(
      store.fetchInstallation({ teamId, enterpriseId: undefined, isEnterpriseInstall: false }),
    ).rejects.toThrow('no Slack installation');
  });

  it('finds an org-wide install for a workspace of that org', async () => {
    const enterpriseId = id('E');
    await store.storeInstallation(
      installation({ team: undefined, enterprise: { id: enterpriseId, name: 'Org' }, isEnterpriseInstall: true }),
    );
    const fetched = await store.fetchInstallation({ teamId: id('T'), enterpriseId, isEnterpriseInstall: false });
    expect(fetched.enterprise?.id).toBe(enterpriseId);
  });

  it('marks an installation Slack reported revoked, once, and a reinstall clears the mark', async () => {
    const inst = installation();
    const teamId = inst.team!.id;
    await store.storeInstallation(inst);
    expect(await installationRevoked(db, teamId)).toBeUndefined();
    await markInstallationRevoked(db, { teamId }, 'token_revoked');
    const mark = await installationRevoked(db, teamId);
    expect(mark?.reason).toBe('token_revoked');
    await markInstallationRevoked(db, { teamId }, 'invalid_auth');
    expect(await installationRevoked(db, teamId)).toEqual(mark);
    // Bolt still reads the installation as it stored it.
    const fetched = await store.fetchInstallation({ teamId, enterpriseId: undefined, isEnterpriseInstall: false });
    expect(fetched.bot?.token).toBe(inst.bot?.token);
    await store.storeInstallation(inst);
    expect(await installationRevoked(db, teamId)).toBeUndefined();
  });
});
