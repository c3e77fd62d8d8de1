// The console in a real browser: Debian's chromium driven by playwright-core against the built app, real
// PostgreSQL, FerretDB and Redis, and (for the playground) a real worker on the sandbox providers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseEnv } from '../../core/config/index.js';
import { CreditLedger } from '../../core/credits/index.js';
import { createResearchWorker, type ResearchWorker } from '../../core/jobs/index.js';
import { createLogger } from '../../core/observability/logger.js';
import { createResearchEngine } from '../../core/research/index.js';
import { startSandbox, type Sandbox } from '../../core/sandbox/index.js';
import { openStorage, type Storage } from '../../core/storage/index.js';
import { TaskStore } from '../../core/tasks/store.js';
import { uniquePrefix } from '../../test/helpers/storage.js';
import { createUser } from '../app/lib/users.server.js';
import { consoleBuildExists, startConsole, type ConsoleServer } from '../server.js';
import { seedReport } from './fixtures.js';
import { fundPlayground } from './harness.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let storage: Storage;
let server: ConsoleServer;
let sandbox: Sandbox;
let jobs: ResearchWorker;
let browser: BrowserContext;
let profileDir: string;
let page: Page;
const admin = { email: `admin-${randomUUID().slice(0, 6)}@e2e.test`, password: `pw-${randomUUID()}` };
const viewer = { email: `viewer-${randomUUID().slice(0, 6)}@e2e.test`, password: `pw-${randomUUID()}` };
const suffix = randomUUID().slice(0, 6);
let workspaceId: string;
let hostileId: string;
const cspViolations: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function login(who: { email: string; password: string }): Promise<void> {
  await page.goto(`${server.url}/login`);
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await Promise.all([page.waitForURL(/\/workspaces/), page.click('button[type=submit]')]);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!consoleBuildExists()) execFileSync('npm', ['run', 'console:build'], { stdio: 'ignore', timeout: 300_000 });
  const env = parseEnv({ ...process.env, PMF_SANDBOX: '1', LOG_LEVEL: 'silent' });
  storage = await openStorage(
    { ...env, MONGO_URL: `mongodb://127.0.0.1:27019/t_console_e2e_${suffix}` },
    'console-e2e',
  );
  const ledger = new CreditLedger(storage.pg);
  sandbox = await startSandbox({ port: 0 });
  const engine = createResearchEngine({
    env,
    redis: storage.redis,
    pg: storage.pg,
    providerUrls: { tavilyUrl: sandbox.tavilyUrl, openaiUrl: sandbox.openaiUrl },
    sandbox: true,
  });
  const prefix = uniquePrefix('console-e2e');
  jobs = createResearchWorker({
    env,
    storage,
    ledger,
    engine,
    deliveries: () => undefined,
    logger: createLogger('console-e2e', 'silent'),
    tuning: { channel: `${prefix}agenda`, progressPrefix: `${prefix}progress:`, processEveryMs: 500 },
  });
  await jobs.startWorker();
  server = await startConsole({ env, port: 0, storage, jobs, dev: false, progressPrefix: `${prefix}progress:` });
  await fundPlayground(ledger);
  await createUser(storage.pg, { ...admin, role: 'admin' });
  await createUser(storage.pg, { ...viewer, role: 'viewer' });
  const ws = await ledger.ensureWorkspace({
    platform: 'slack',
    externalId: `T-E2E-${suffix}`,
    name: `Paws & Co ${suffix}`,
  });
  workspaceId = ws.id;
  const tasks = new TaskStore(storage.mongo);
  await seedReport(tasks, {
    workspaceId,
    idea: 'an app that matches dog owners with vetted sitters in their neighbourhood',
    total: 72,
  });
  await seedReport(tasks, { workspaceId, idea: 'invoicing for freelance translators', total: 41, depth: 'essential' });
  const hostile = await seedReport(tasks, {
    workspaceId,
    idea: 'quokka tours with a hostile report',
    markdown: [
      '# Quokka tours',
      '<script>window.__pwned = "script"</script>',
      '<img src="x" onerror="window.__pwned = \'onerror\'">',
      '[click me](javascript:window.__pwned=1)',
      '<a href="javascript:window.__pwned=2" id="raw">raw link</a>',
      'Plain text survives.',
    ].join('\n\n'),
  });
  hostileId = hostile.id;
  // The reports were written after the console's first scan: rescan so search sees them (live tasks arrive by pub/sub).
  await server.indexReady;
  await server.services.taskIndex?.load(storage.mongo.db.collection('tasks'));
  profileDir = mkdtempSync(join(tmpdir(), 'console-e2e-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  // Every Content-Security-Policy violation on any page of any test, from the page's own event and the
  // console message Chromium prints for it; the last test asserts there were none.
  await browser.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const w = window as unknown as { __csp?: string[] };
      (w.__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on('console', (msg) => {
    if (/Content[ -]Security[ -]Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
}, 300_000);

/** Violations the page recorded itself (its securitypolicyviolation listener), added to the console ones. */
async function collectCsp(): Promise<void> {
  const seen = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => []);
  cspViolations.push(...seen);
}

/** At `width` px: no horizontal overflow, and a screenshot for the README. */
async function checkWidth(name: string, width: number): Promise<void> {
  await page.setViewportSize({ width, height: 900 });
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement!.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect({ name, width, scrollWidth: Math.min(scrollWidth, innerWidth) }).toEqual({ name, width, scrollWidth });
  await shot(`${name}-${width}`);
}

afterAll(async () => {
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await server?.close();
  await jobs?.stop();
  await sandbox?.close();
  await storage?.close();
}, 120_000);

describe('console in a browser', () => {
  it('logs in, grants credits and shows the ledger and balance change', async () => {
    await page.goto(`${server.url}/login`);
    await shot('login');
    await login(admin);
    await page.fill('input[name=q]', `paws & co ${suffix}`);
    await page.waitForURL(/q=paws/);
    await page.locator(`text=Paws & Co ${suffix}`).first().waitFor();
    await shot('workspaces');
    await page.click(`text=Paws & Co ${suffix}`);
    await page.waitForURL(new RegExp(`/workspaces/${workspaceId}`));
    const before = Number((await page.textContent('[data-testid=balance]'))?.replace(/,/g, ''));
    expect(await page.textContent('[data-testid=invariant]')).toContain('Ledger consistent');
    const grant = page.locator('form[data-intent=grant]');
    await grant.locator('input[name=amount]').fill('250');
    await grant.locator('input[name=reason]').fill('launch promotion');
    await grant.locator('input[name=confirm]').check();
    await grant.locator('button[type=submit]').click();
    await page.locator('.flash.ok', { hasText: 'Granted 250 credits' }).waitFor();
    // The flash can show while the page's loaders are still revalidating: wait for the new balance to land.
    await page
      .waitForFunction(
        (want) => document.querySelector('[data-testid=balance]')?.textContent?.replace(/,/g, '') === String(want),
        before + 250,
        { timeout: 10_000 },
      )
      .catch(() => undefined);
    expect(Number((await page.textContent('[data-testid=balance]'))?.replace(/,/g, ''))).toBe(before + 250);
    const row = page.locator('[data-testid=ledger] tbody tr').first();
    expect(await row.textContent()).toContain('launch promotion');
    expect(await row.textContent()).toContain('+250');
    await shot('workspace');
    await page.goto(`${server.url}/audit`);
    expect(await page.textContent('table')).toContain('launch promotion');
    await shot('audit');
    await page.goto(`${server.url}/users`);
    await shot('users');
    await page.goto(`${server.url}/usage`);
    await shot('usage');
  });

  it('searches reports as you type, opens one, and renders a hostile report inert', async () => {
    await page.goto(`${server.url}/reports`);
    const box = page.locator('input[name=q]');
    await box.click();
    for (const letter of 'vett') {
      await box.press(letter);
      await page.waitForTimeout(60);
    }
    await page.waitForURL(/q=vett/);
    await page.locator('[data-testid=reports] tbody tr').first().waitFor();
    await expect(page.locator('[data-testid=reports] tbody tr').count()).resolves.toBe(1);
    expect(await page.textContent('[data-testid=reports]')).toContain('vetted sitters');
    await shot('reports-search');
    await page.click('[data-testid=reports] tbody tr a');
    await page.locator('[data-testid=score]').waitFor();
    expect(await page.textContent('[data-testid=score]')).toContain('72');
    await shot('report');

    await page.goto(`${server.url}/reports/${hostileId}`);
    await page.locator('[data-testid=report-body]').waitFor();
    expect(await page.textContent('[data-testid=report-body]')).toContain('Plain text survives.');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(
      await page
        .locator(
          '[data-testid=report-body] script, [data-testid=report-body] [onerror], [data-testid=report-body] a[href^="javascript:"]',
        )
        .count(),
    ).toBe(0);
    const links = page.locator('[data-testid=report-body] a');
    for (let i = 0; i < (await links.count()); i++)
      await links
        .nth(i)
        .click({ timeout: 2000 })
        .catch(() => undefined);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
    await shot('report-hostile');
  });

  it('runs a playground research and shows it complete', async () => {
    await page.goto(`${server.url}/playground`);
    expect(await page.textContent('body')).toContain('sandbox');
    await page.fill(
      'textarea[name=idea]',
      'A marketplace that matches retired engineers with hardware startups for mentoring',
    );
    await page.check('input[name=depth][value=essential]');
    await Promise.all([page.waitForURL(/playground\?task=/), page.click('text=Run research')]);
    await shot('playground-running');
    await page.locator('[data-testid=playground-task][data-status=succeeded]').waitFor({ timeout: 180_000 });
    await page.locator('[data-testid=playground-report]').waitFor({ timeout: 30_000 });
    expect(await page.textContent('[data-testid=playground-task]')).toMatch(/PMF \d+\/100/);
    await shot('playground-done');
    await page.goto(`${server.url}/jobs`);
    await shot('jobs');
  }, 240_000);

  it('logs out, and a viewer sees no mutation buttons', async () => {
    await page.click('text=Log out');
    await page.waitForURL(/\/login/);
    await page.goto(`${server.url}/workspaces`);
    await page.waitForURL(/\/login\?redirectTo=/);
    await login(viewer);
    await page.goto(`${server.url}/workspaces/${workspaceId}`);
    await page.locator('[data-testid=balance]').waitFor();
    expect(await page.locator('form[method=post]:not([action="/logout"])').count()).toBe(0);
    expect(await page.locator('form[data-intent]').count()).toBe(0);
    await shot('viewer-workspace');
    await page.goto(`${server.url}/reports/${hostileId}`);
    expect(await page.locator('form[data-intent=delete]').count()).toBe(0);
    // Viewers may open the playground and the users page, read-only.
    await page.goto(`${server.url}/playground`);
    expect(await page.textContent('body')).toContain('You are a viewer');
    expect(await page.locator('textarea[name=idea]').isDisabled()).toBe(true);
    await page.goto(`${server.url}/users`);
    expect(await page.textContent('body')).toContain('this page is read-only');
    expect(await page.locator('form[data-intent]').count()).toBe(0);
    await collectCsp();
  });

  it('keeps a refused form on the page with what was typed and the field error', async () => {
    await page.click('text=Log out');
    await page.waitForURL(/\/login/);
    await login(admin);
    await page.goto(`${server.url}/workspaces/${workspaceId}`);
    const grant = page.locator('form[data-intent=grant]');
    await grant.locator('input[name=amount]').fill('10,000,001');
    await grant.locator('input[name=reason]').fill('too generous');
    await grant.locator('input[name=confirm]').check();
    await grant.locator('button[type=submit]').click();
    await grant.locator('.field-error[data-field=amount]').waitFor();
    expect(await grant.locator('.field-error[data-field=amount]').textContent()).toBe('at most 10,000,000');
    expect(await grant.locator('input[name=amount]').inputValue()).toBe('10,000,001');
    expect(await grant.locator('input[name=reason]').inputValue()).toBe('too generous');
    expect(await page.locator('nav.side').count()).toBe(1);
    await shot('workspace-form-error');
    await collectCsp();
  });

  it('sends a report body once, and refuses a cross-origin post with its own 403 page', async () => {
    const html = await (await page.request.get(`${server.url}/reports/${hostileId}`)).text();
    expect(html.split('Plain text survives.').length - 1).toBe(1);
    await page.goto(`${server.url}/reports/${hostileId}`);
    await page.waitForLoadState('networkidle');
    expect(await page.textContent('[data-testid=report-body]')).toContain('Plain text survives.');

    const forged = await fetch(`${server.url}/users`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'intent=create&email=x%40evil.example&role=admin',
    });
    expect(forged.status).toBe(403);
    const body = await forged.text();
    expect(body).toContain('Cross-origin request refused');
    expect(body).toContain('Back to the console');
    expect(forged.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-/);
  });

  it('fits phones and wide windows: no horizontal overflow at 390 and 1,280 px', async () => {
    const pages: [string, string][] = [
      ['workspaces', '/workspaces'],
      ['workspace', `/workspaces/${workspaceId}`],
      ['usage', '/usage'],
      ['transactions', '/transactions'],
      ['reports', '/reports'],
      ['report', `/reports/${hostileId}`],
      ['jobs', '/jobs'],
      ['playground', '/playground'],
      ['audit', '/audit'],
      ['users', '/users'],
    ];
    for (const [name, path] of pages) {
      await page.goto(`${server.url}${path}`);
      await page.waitForLoadState('networkidle');
      for (const width of [390, 1280]) await checkWidth(name, width);
      await collectCsp();
    }
    // At 390 px the sidebar is behind the menu button.
    await page.setViewportSize({ width: 390, height: 900 });
    await page.goto(`${server.url}/workspaces`);
    expect(await page.locator('nav.side').isVisible()).toBe(false);
    await page.click('header.topbar label');
    expect(await page.locator('nav.side').isVisible()).toBe(true);
    await shot('menu-390');
    await page.click('nav.side >> text=Reports');
    await page.waitForURL(/\/reports/);
    // Following a link closes the menu (once the new page has rendered).
    await page.locator('nav.side').waitFor({ state: 'hidden', timeout: 5000 });
    await browser.clearCookies();
    await page.goto(`${server.url}/login`);
    for (const width of [390, 1280]) await checkWidth('login', width);
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it('passes its Content-Security-Policy: no violation on any page', async () => {
    await collectCsp();
    expect(cspViolations).toEqual([]);
  });
});
