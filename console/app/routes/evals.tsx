// Evals: the runs of `npm run eval` with their headline figures, and one run's scorecard (decision 090).
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { TARGETS } from '../../../core/evals/targets.js';
import { evalsRoot, listRuns, readRunFiles } from '../lib/evals.server.js';
import { fmtDate, fmtNumber } from '../lib/format.js';
import { renderReportMarkdown } from '../lib/markdown.server.js';
import { requireUser } from '../lib/session.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const root = evalsRoot();
  const runs = await listRuns(root);
  const wanted = new URL(request.url).searchParams.get('run') ?? runs[0]?.name;
  const files = wanted ? await readRunFiles(root, wanted) : undefined;
  // The scorecard is our own file, but its idea texts and judge quotes come from reports: sanitized like one.
  return json({
    runs,
    selected: files ? wanted : undefined,
    html: files ? renderReportMarkdown(files.markdown) : null,
  });
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

export default function Evals() {
  const { runs, selected, html } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Evals</h1>
          <div className="sub">
            Research quality per run of <code>npm run eval</code>: targets ≥ {TARGETS.citationPrecision * 100}% citation
            support, ≥ {TARGETS.figureFidelity * 100}% figure fidelity, ≤ {fmtNumber(TARGETS.tokensPerReport)} tokens
            per report.
          </div>
        </div>
      </div>
      {runs.length === 0 ? (
        <div className="card">
          No evaluation runs yet. Run <code>npm run eval</code> (add <code>PMF_SANDBOX=1</code> to try it without keys);
          its scorecards appear here.
        </div>
      ) : (
        <div className="card">
          <table>
            <thead>
              <tr>
                <th>Run</th>
                <th>Model / judge</th>
                <th>Depth</th>
                <th>Ideas</th>
                <th>Citation support</th>
                <th>Supported / report</th>
                <th>Figure fidelity</th>
                <th>Coverage</th>
                <th>Rubric</th>
                <th>Tokens / report</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.name} className={r.name === selected ? 'active' : ''}>
                  <td>
                    <Link to={`?run=${encodeURIComponent(r.name)}`}>{fmtDate(r.config.startedAt)}</Link>
                    {r.config.sandbox ? <span className="badge">sandbox</span> : null}
                  </td>
                  <td>
                    {r.config.model} / {r.config.judgeModel}
                  </td>
                  <td>{r.config.depth}</td>
                  <td>
                    {r.totals.ideas}
                    {r.totals.failed ? ` (+${r.totals.failed} failed)` : ''}
                  </td>
                  <td>{pct(r.totals.citationPrecision)}</td>
                  <td>{r.totals.supportedPerReport?.toFixed(1) ?? 'n/a'}</td>
                  <td>{pct(r.totals.figureFidelity)}</td>
                  <td>{pct(r.totals.coverage)}</td>
                  <td>{r.totals.rubric.mean?.toFixed(1) ?? 'n/a'}</td>
                  <td>{r.totals.tokensPerReport === null ? 'n/a' : fmtNumber(Math.round(r.totals.tokensPerReport))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && html ? (
        <div className="card">
          {/* An <img>, not inline SVG: a browser runs no script inside an SVG loaded as an image. */}
          <img
            src={`/evals/${encodeURIComponent(selected)}/chart.svg`}
            alt={`Five figures per idea, run ${selected}`}
          />
          <div className="markdown" data-testid="scorecard" dangerouslySetInnerHTML={{ __html: html }} />
        </div>
      ) : null}
    </>
  );
}
