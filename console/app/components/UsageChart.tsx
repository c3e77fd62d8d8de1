// Inline SVG bar chart: credits per day stacked by depth, researches as a line. No chart library needed.
import type { UsageDay } from '../lib/usage.server.js';

const COLORS = { essential: '#74c0fc', standard: '#3b5bdb', deep: '#7048e8' } as const;
const DEPTH_KEYS = ['essential', 'standard', 'deep'] as const;

export function UsageChart({ days }: { days: UsageDay[] }) {
  const W = 760;
  const H = 180;
  const pad = { l: 36, r: 36, t: 10, b: 22 };
  const credits = days.map((d) => DEPTH_KEYS.reduce((s, k) => s + d.credits[k], 0));
  const researches = days.map((d) => DEPTH_KEYS.reduce((s, k) => s + d.researches[k], 0));
  const maxC = Math.max(1, ...credits);
  const maxR = Math.max(1, ...researches);
  const bw = (W - pad.l - pad.r) / Math.max(1, days.length);
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / maxC);
  const yr = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / maxR);
  const line = researches
    .map((r, i) => `${i === 0 ? 'M' : 'L'}${(pad.l + bw * i + bw / 2).toFixed(1)},${yr(r).toFixed(1)}`)
    .join(' ');
  return (
    <div className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Credits and researches per day">
        <line x1={pad.l} x2={W - pad.r} y1={H - pad.b} y2={H - pad.b} stroke="#e3e6eb" />
        <text x={pad.l - 6} y={pad.t + 8} fontSize="10" textAnchor="end" fill="#5d6778">
          {maxC}
        </text>
        <text x={W - pad.r + 6} y={pad.t + 8} fontSize="10" fill="#e8590c">
          {maxR}
        </text>
        {days.map((d, i) => {
          let acc = 0;
          return (
            <g key={d.day}>
              <title>{`${d.day}: ${credits[i]} credits, ${researches[i]} researches (E ${d.researches.essential} · S ${d.researches.standard} · D ${d.researches.deep})`}</title>
              {DEPTH_KEYS.map((k) => {
                const v = d.credits[k];
                if (!v) return null;
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                return (
                  <rect
                    key={k}
                    x={pad.l + bw * i + 2}
                    width={Math.max(1, bw - 4)}
                    y={top}
                    height={h}
                    fill={COLORS[k]}
                    rx="2"
                  />
                );
              })}
              {i % Math.ceil(days.length / 8) === 0 ? (
                <text x={pad.l + bw * i + bw / 2} y={H - 6} fontSize="10" textAnchor="middle" fill="#5d6778">
                  {d.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
        <path d={line} fill="none" stroke="#e8590c" strokeWidth="2" />
      </svg>
      <div className="legend">
        {DEPTH_KEYS.map((k) => (
          <span key={k}>
            <i style={{ background: COLORS[k] }} />
            {k} credits
          </span>
        ))}
        <span>
          <i style={{ background: '#e8590c' }} />
          researches
        </span>
      </div>
    </div>
  );
}
