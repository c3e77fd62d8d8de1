/* eslint-disable no-control-regex -- the tests look for control characters */
// Every surface applies cleanText where untrusted text enters a message or page (decision 039), and every
// surface that shows the band shows "insufficient evidence" when the evidence rules say so (decision 037).
import { describe, expect, it } from '@jest/globals';
import * as discord from '../bot/discord/render.js';
import * as slack from '../bot/slack/render.js';
import { jobRow } from '../console/app/lib/jobs.server.js';
import { renderReportMarkdown } from '../console/app/lib/markdown.server.js';
import { reportRow } from '../console/app/lib/reports.server.js';
import { makeResult, makeTask } from './fakes/slack/fixtures.js';

const FORBIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]/;
const HOSTILE = 'dog \x1b[31msitters\x1b]0;owned\x07 \u202egnp.exe\u2066 \x00\x7f\x9b2J';

describe('clean text on every surface', () => {
  it('Slack and Discord messages carry no control, escape or bidi character from the idea or the report', () => {
    const task = makeTask({ idea: HOSTILE, status: 'succeeded' });
    const result = makeResult({ title: HOSTILE, keyFindings: [{ text: HOSTILE, citations: [] }] });
    const bodies = [
      slack.parentMessage(task),
      slack.summaryMessage(task, result),
      discord.requestMessage(task, { threaded: true }),
      discord.summaryMessage(task, result),
    ];
    for (const body of bodies) {
      const text = JSON.stringify(body, (_k, v: unknown) => v).replace(/\\u[0-9a-f]{4}/gi, (u) =>
        String.fromCharCode(parseInt(u.slice(2), 16)),
      );
      expect(text).toContain('sitters');
      expect(text).not.toMatch(FORBIDDEN);
    }
  });

  it('the console renders reports and rows without them', () => {
    expect(renderReportMarkdown(`# ${HOSTILE}\n\n${HOSTILE}`)).not.toMatch(FORBIDDEN);
    const task = makeTask({ idea: HOSTILE });
    expect(JSON.stringify(reportRow(task))).not.toMatch(/\\u00(?:0|1|7f|9)|\\u202e|\\u2066/i);
    expect(reportRow(task).createdAt).toBeInstanceOf(Date);
    expect(jobRow(task).idea).toBe('dog sitters gnp.exe ');
  });
});

describe('the band on every surface', () => {
  it('says "insufficient evidence" where the evidence rules say so', () => {
    const result = makeResult();
    result.report.score = { ...result.report.score, total: 25, band: 'insufficient evidence', confidence: 'low' };
    const task = makeTask({ status: 'succeeded' });
    const score = { total: 25, band: result.report.score.band };
    expect(
      slack
        .parentMessage({ ...task, score })
        .blocks.map((b) => JSON.stringify(b))
        .join(),
    ).toContain('PMF 25/100* (insufficient evidence)');
    expect(slack.summaryMessage(task, result).text).toContain('insufficient evidence');
    expect(discord.requestMessage({ ...task, score }, { threaded: true }).embeds[0]?.fields?.[0]?.value).toContain(
      '(insufficient evidence)',
    );
    expect(discord.summaryMessage(task, result).embeds[0]?.title).toContain('insufficient evidence');
  });
});

describe('Discord source links', () => {
  it('percent-encode every character that could end or escape the destination', () => {
    const link = discord.sourceLink('https://a.example/x\\)](<b> c`', 'T');
    expect(link).toBe('[T](<https://a.example/x%5C%29%5D%28%3Cb%3E%20c%60>)');
  });
});
