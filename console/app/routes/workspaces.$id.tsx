import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useActionData, useLoaderData } from '@remix-run/react';
import { ActionForm, FieldError, feedbackFor, type FormFeedback } from '../components/ActionForm.js';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { LedgerCells, LedgerHeadCells } from '../components/LedgerCells.js';
import { DateRangeFilter, ExportCsvLink, SelectFilter } from '../components/ListFilters.js';
import { Pager } from '../components/Pager.js';
import { UsageChart } from '../components/UsageChart.js';
import { fmtDate, fmtNumber } from '../lib/format.js';
import { invariantFor } from '../lib/invariant.server.js';
import { runLedgerAction } from '../lib/ledger-actions.server.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { ledgerFilters, TX_TYPES } from '../lib/ledger-filters.js';
import { pageKey } from '../lib/page-key.server.js';
import { int } from '../lib/params.js';
import { requireUser } from '../lib/session.server.js';
import { usageByDay } from '../lib/usage.server.js';

const PAGE_SIZE = 50;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const id = params.id ?? '';
  const { ledger, mongo, now, taskIndex } = context.services;
  const workspace = /^[0-9a-f-]{36}$/i.test(id) ? await ledger.getWorkspace(id) : undefined;
  if (!workspace) throw json({ error: 'No such workspace' }, { status: 404 });
  const p = new URL(request.url).searchParams;
  const [balance, invariant, tx, usage] = await Promise.all([
    ledger.balance(id),
    invariantFor(context.services.db, ledger, id),
    ledger.transactions(id, { ...ledgerFilters(p), page: int(p, 'page', 1, 1, 100_000), pageSize: PAGE_SIZE }),
    usageByDay(mongo, { workspaceId: id, days: 30, now: now(), index: taskIndex }),
  ]);
  // A Slack installation the bot found revoked (decision 058): the workspace needs the app reinstalled.
  const revoked =
    workspace.platform === 'slack'
      ? ((
          (await context.services
            .db('slack_installations')
            .where({ team_id: workspace.externalId })
            .first(context.services.db.raw("installation -> 'pmfRevoked' as revoked"))) as
            { revoked: { at: string; reason: string } | null } | undefined
        )?.revoked ?? undefined)
      : undefined;
  return json({
    workspace,
    balance,
    invariant,
    tx,
    usage,
    revoked,
    isAdmin: user.role === 'admin',
    pageKey: pageKey(),
  });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  return runLedgerAction(context, admin, params.id ?? '', await request.formData());
}

/** Credits as typed: digits with optional thousands commas, checked again on the server. */
function AmountInput({
  intent,
  label,
  feedback,
  fallback = '',
}: {
  intent: string;
  label: string;
  feedback?: FormFeedback;
  fallback?: string;
}) {
  const own = feedbackFor(feedback, intent);
  return (
    <>
      <input
        name="amount"
        type="text"
        inputMode="numeric"
        pattern="[0-9]{1,3}(,[0-9]{3})*|[0-9]+"
        title="Whole credits in plain digits, like 1500 or 1,500"
        placeholder="Credits"
        required
        aria-label={label}
        aria-invalid={own?.fieldErrors?.amount ? true : undefined}
        defaultValue={own?.values?.amount ?? fallback}
      />
      <FieldError feedback={own} name="amount" />
    </>
  );
}

export default function WorkspacePage() {
  const { workspace, balance, invariant, tx, usage, revoked, isAdmin, pageKey: key } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const formKey = result?.ok ? `${result.message}:${tx.total}` : undefined;
  // What every action form on this page shares: the page's idempotency key and the last action's answer.
  const form = { formKey, pageKey: key, feedback: result };
  return (
    <>
      <div className="page-head">
        <div>
          <div className="sub">
            <Link to="/workspaces">Workspaces</Link> / {workspace.platform}
          </div>
          <h1>
            {workspace.name}{' '}
            <span className={`badge ${workspace.status === 'active' ? 'ok' : 'bad'}`}>{workspace.status}</span>
          </h1>
          <div className="mono muted">
            {workspace.id} · {workspace.externalId}
          </div>
        </div>
        {invariant.ok ? (
          <div className="invariant ok" data-testid="invariant">
            ✓ Ledger consistent
          </div>
        ) : (
          <div className="invariant bad" data-testid="invariant" role="alert">
            ⚠ Ledger invariant broken: {invariant.problems.join('; ')}
          </div>
        )}
      </div>
      {revoked ? (
        <div className="flash bad" role="alert" data-testid="installation-revoked">
          Slack reported this workspace&apos;s installation revoked ({revoked.reason}, {fmtDate(revoked.at)}): the bot
          cannot post there until a workspace admin reinstalls PMF Scout.
        </div>
      ) : null}
      {result ? (
        <div className={`flash ${result.ok ? 'ok' : 'bad'}`}>{result.ok ? result.message : result.error}</div>
      ) : null}
      <div className="grid c4">
        <div className="card stat">
          <div className="label">Balance ({balance.month})</div>
          <div className="value" data-testid="balance">
            {fmtNumber(balance.balance)}
          </div>
        </div>
        <div className="card stat">
          <div className="label">Monthly allowance</div>
          <div className="value">{fmtNumber(balance.allowance)}</div>
        </div>
        <div className="card stat">
          <div className="label">Used this month</div>
          <div className="value">{fmtNumber(balance.used)}</div>
        </div>
        <div className="card stat">
          <div className="label">Researches left</div>
          <div className="small" style={{ marginTop: 6 }}>
            Essential <b>{balance.remaining.essential}</b> · Standard <b>{balance.remaining.standard}</b> · Deep{' '}
            <b>{balance.remaining.deep}</b>
          </div>
        </div>
      </div>
      <div className="card">
        <h2>Usage, last 30 days</h2>
        <UsageChart days={usage} />
      </div>
      {isAdmin ? (
        <div className="card">
          <h2>Actions</h2>
          <div className="actions">
            <ActionForm
              intent="grant"
              title="Grant credits"
              confirmText="Add these credits"
              submitLabel="Grant"
              {...form}
            >
              <AmountInput intent="grant" label="Credits to grant" feedback={result} />
            </ActionForm>
            <ActionForm
              intent="deduct"
              title="Deduct credits"
              confirmText="Take these credits away"
              submitLabel="Deduct"
              danger
              {...form}
            >
              <AmountInput intent="deduct" label="Credits to deduct" feedback={result} />
            </ActionForm>
            <ActionForm
              intent="set_allowance"
              title="Monthly allowance"
              confirmText="Change the allowance"
              submitLabel="Set allowance"
              {...form}
            >
              <AmountInput
                intent="set_allowance"
                label="Monthly allowance"
                feedback={result}
                fallback={String(workspace.monthlyAllowance)}
              />
            </ActionForm>
            {workspace.status === 'active' ? (
              <ActionForm
                intent="suspend"
                title="Suspend"
                confirmText="Stop all new researches"
                submitLabel="Suspend"
                danger
                {...form}
              />
            ) : (
              <ActionForm
                intent="resume"
                title="Resume"
                confirmText="Allow researches again"
                submitLabel="Resume"
                {...form}
              />
            )}
          </div>
        </div>
      ) : null}
      <div className="card">
        <div className="page-head" style={{ marginBottom: 8 }}>
          <h2>Ledger</h2>
          <ExportCsvLink path={`/workspaces/${workspace.id}/ledger.csv`} />
        </div>
        <DebouncedSearchForm>
          <SelectFilter label="Type" name="type" options={TX_TYPES} />
          <DateRangeFilter />
        </DebouncedSearchForm>
        <table data-testid="ledger">
          <thead>
            <tr>
              <th>When</th>
              <LedgerHeadCells />
            </tr>
          </thead>
          <tbody>
            {tx.items.map((t) => (
              <tr key={t.id}>
                <td className="small">{fmtDate(t.createdAt)}</td>
                <LedgerCells t={t} />
              </tr>
            ))}
          </tbody>
        </table>
        {tx.items.length === 0 ? <div className="empty">No transactions for these filters.</div> : null}
        <Pager page={tx.page} pageSize={tx.pageSize} total={tx.total} />
      </div>
    </>
  );
}
