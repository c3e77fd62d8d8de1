import type { Knex } from 'knex';
import { readLedgerGauges } from '../credits/gauges.js';
import { monthOf } from '../credits/rules.js';
import type { Logger } from './logger.js';
import { metrics } from './metrics.js';

/** Every minute is plenty for alerts that wait 5 minutes; each read is one cheap query (decision 082). */
const LEDGER_GAUGES_EVERY_MS = 60_000;

/** Sets the ledger gauges now and every `everyMs`; returns the function that stops it. */
export function watchLedger(db: Knex, logger: Logger, everyMs = LEDGER_GAUGES_EVERY_MS): () => void {
  const read = () =>
    readLedgerGauges(db, monthOf(new Date())).then(
      (g) => {
        metrics.ledgerMismatched.set(g.mismatchedBalances);
        metrics.workspacesAtZero.set(g.workspacesAtZero);
        metrics.ledgerCheckedAt.set(Date.now() / 1000);
        if (g.mismatchedBalances > 0)
          logger.error({ mismatched: g.mismatchedBalances }, 'ledger: balances differ from their transactions');
      },
      (err: unknown) => logger.warn({ err }, 'ledger gauges not read'),
    );
  void read();
  const timer = setInterval(() => void read(), everyMs).unref();
  return () => clearInterval(timer);
}
