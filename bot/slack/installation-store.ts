// Bolt's InstallationStore on PostgreSQL (OAuth distribution), and how a delivery finds a workspace's token.
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Db } from '../../core/storage/index.js';
import type { SlackOrigin } from '../../core/tasks/types.js';

const TABLE = 'slack_installations';

function installKey(q: { isEnterpriseInstall?: boolean; enterpriseId?: string; teamId?: string }): string {
  if (q.isEnterpriseInstall && q.enterpriseId) return `E:${q.enterpriseId}`;
  if (q.teamId) return `T:${q.teamId}`;
  throw new Error('a Slack installation needs a team id or, for an org-wide install, an enterprise id');
}

export function createPgInstallationStore(db: Db): InstallationStore {
  async function find(query: InstallationQuery<boolean>): Promise<Installation | undefined> {
    const keys = [installKey(query)];
    // A workspace in an Enterprise Grid org may be covered by the org-wide install.
    if (!query.isEnterpriseInstall && query.enterpriseId) keys.push(`E:${query.enterpriseId}`);
    for (const key of keys) {
      const row = (await db(TABLE).where({ install_key: key }).first('installation')) as
        { installation: Installation } | undefined;
      if (row) return row.installation;
    }
    return undefined;
  }

  return {
    async storeInstallation(installation) {
      const isEnterpriseInstall = Boolean(installation.isEnterpriseInstall);
      const row = {
        install_key: installKey({
          isEnterpriseInstall,
          enterpriseId: installation.enterprise?.id,
          teamId: installation.team?.id,
        }),
        team_id: installation.team?.id ?? null,
        enterprise_id: installation.enterprise?.id ?? null,
        is_enterprise_install: isEnterpriseInstall,
        bot_user_id: installation.bot?.userId ?? null,
        installation: JSON.stringify(installation),
        updated_at: db.fn.now(),
      };
      await db(TABLE)
        .insert(row)
        .onConflict('install_key')
        .merge(['team_id', 'enterprise_id', 'is_enterprise_install', 'bot_user_id', 'installation', 'updated_at']);
    },
    async fetchInstallation(query) {
      const found = await find(query);
      if (!found) throw new Error(`no Slack installation for ${installKey(query)}`);
      return found;
    },
    async deleteInstallation(query) {
      await db(TABLE)
        .where({ install_key: installKey(query) })
        .delete();
    },
  };
}

/** Where a revoked installation is marked: a key of its own beside Bolt's fields in the stored JSON. */
const REVOKED_FIELD = 'pmfRevoked';

export type RevokedMark = { at: string; reason: string };

/**
 * Marks the installation covering a workspace as revoked (Slack answered `token_revoked`, `invalid_auth` or
 * `account_inactive` with its token), once: the console's workspace page then says to reinstall the app. A
 * reinstall stores a fresh Installation, which clears the mark. Kept inside the JSON column, so no migration.
 */
export async function markInstallationRevoked(
  db: Db,
  where: { teamId: string; enterpriseId?: string },
  reason: string,
): Promise<void> {
  const keys = [`T:${where.teamId}`, ...(where.enterpriseId ? [`E:${where.enterpriseId}`] : [])];
  const mark: RevokedMark = { at: new Date().toISOString(), reason };
  await db(TABLE)
    .whereIn('install_key', keys)
    .whereRaw('NOT jsonb_exists(installation, ?)', [REVOKED_FIELD])
    .update({
      installation: db.raw(`installation || ?::jsonb`, [JSON.stringify({ [REVOKED_FIELD]: mark })]),
      updated_at: db.fn.now(),
    });
}

/** The revoked mark of a team's installation, if Slack reported it revoked. */
export async function installationRevoked(db: Db, teamId: string): Promise<RevokedMark | undefined> {
  const row = (await db(TABLE)
    .where({ team_id: teamId })
    .first(db.raw('installation -> ? as revoked', [REVOKED_FIELD]))) as { revoked: RevokedMark | null } | undefined;
  return row?.revoked ?? undefined;
}

/** Single-workspace mode: one bot token for every task. */
export function singleTokenResolver(token: string): (origin: SlackOrigin) => Promise<string> {
  return async () => token;
}

/** OAuth mode: the bot token of the installation covering the task's workspace. */
export function installationTokenResolver(store: InstallationStore): (origin: SlackOrigin) => Promise<string> {
  return async (origin) => {
    const installation = await store.fetchInstallation({
      teamId: origin.teamId,
      enterpriseId: origin.enterpriseId,
      isEnterpriseInstall: false,
    });
    const token = installation.bot?.token;
    if (!token) throw new Error(`the Slack installation for ${origin.teamId} has no bot token`);
    return token;
  };
}
