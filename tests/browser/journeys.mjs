// The browser journeys, run by tests/browser/test_browser.c against a real ehcd on a simulated clock:
//   1. an officer signs in and takes a case from request to final plan through the generated forms
//      (the manager records the decisions in their own browser), the clock moved between steps;
//   2. a DCO logs a health advice return with the keyboard alone;
//   3. a manager sees an overdue alert arrive on the live feed without reloading, then acknowledges it;
//   4. a manager allocates two cases of the unallocated queue at once (chosen with the keyboard), sees the
//      caseload by officer change, checks the timeliness charts and their tables against the API, records
//      an exception on a case and finds a child;
//   5. an officer sees the annual reviews due this term by setting, arranges the meeting for two plans at
//      once and records their invitations (chosen with the keyboard), sees each outcome and the
//      phase-transfer cohort; a manager merges two records of one child found by a search.
// Every page is checked with axe-core (any violation fails) and kept as a screenshot in
// $EHC_ARTIFACTS; any console error (a Content-Security-Policy violation among them) fails too.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', 'api', 'web', 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const base = process.env.EHC_BASE_URL;
const artifacts = process.env.EHC_ARTIFACTS;
if (!base || !artifacts) throw new Error('EHC_BASE_URL and EHC_ARTIFACTS are set by tests/browser/test_browser.c');
mkdirSync(artifacts, { recursive: true });
const started = Date.now();
const problems = [];
let shot = 0;

function log(text) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
}

// ---- the API, as the test's own hand (API tokens made by the C driver) ---------------------------------

async function api(who, method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer tok-${who}-0123456789abcdefghij`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} as ${who} -> ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function setClock(day) {
  await api('admin', 'POST', '/admin/clock', { now: `${day}T11:00:00Z` });
}

// ---- pages ----------------------------------------------------------------------------------------

async function newPage(browser, who) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => {
    // an answer of 4xx (the sign-in probe's 401, a refused form) is the app working; anything else is not
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`${who}: console error on ${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${who}: uncaught error on ${page.url()}: ${e.message}`));
  return page;
}

// A screenshot, then axe-core over the whole page: any violation is a failure.
async function check(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {});
  const file = join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(axeSource); // through DevTools: not subject to the page's CSP
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  for (const v of result.violations) {
    problems.push(`axe on ${name} (${page.url()}): ${v.id} (${v.impact}): ${v.help}; ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
  }
  log(`${name}: ${result.violations.length} accessibility violations; ${file}`);
}

async function signIn(page, username, password) {
  await page.goto(`${base}/app/`);
  await page.waitForSelector('h1:has-text("Sign in")');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('#sign-out');
}

async function fillDate(page, id, iso, time) {
  const [y, m, d] = iso.split('-');
  await page.fill(`#${id}-day`, String(Number(d)));
  await page.fill(`#${id}-month`, String(Number(m)));
  await page.fill(`#${id}-year`, y);
  if (time) await page.fill(`#${id}-time`, time);
}

// Opens the case, opens the form of `event`, fills it through `fill` and records it; waits for the
// success banner. Dates left alone default to today (the clock).
async function record(page, caseId, event, fill) {
  await page.goto(`${base}/app/cases/${caseId}`);
  const details = page.locator(`#record-${event}`);
  await details.locator('summary').click();
  if (fill) await fill(details);
  await details.locator('button[type=submit]').click();
  await page.waitForSelector('.govuk-notification-banner--success');
  log(`recorded ${event} on case ${caseId}`);
}

async function expectText(page, selector, text) {
  const got = await page.locator(selector).innerText();
  if (!got.includes(text)) throw new Error(`${selector} on ${page.url()} should say "${text}"; it says: ${got.slice(0, 400)}`);
}

// ---- journey 1: an officer takes a case from request to final plan ---------------------------------------

async function officerJourney(browser) {
  await setClock('2026-06-08');
  const officer = await newPage(browser, 'officer');
  await officer.goto(`${base}/app/`);
  await officer.waitForSelector('h1:has-text("Sign in")');
  await check(officer, 'sign-in');
  await officer.click('button:has-text("Sign in")'); // nothing entered: the error summary
  await officer.waitForSelector('.govuk-error-summary');
  await check(officer, 'sign-in-errors');
  await signIn(officer, 'olivia', 'officer-password-1');
  await check(officer, 'caseload-empty');

  await officer.click('a.govuk-service-navigation__link:has-text("Open a case")');
  await officer.waitForSelector('h1:has-text("Open a case")');
  await officer.click('button:has-text("Open the case")');
  await officer.waitForSelector('.govuk-error-summary a[href="#child-forename"]');
  await check(officer, 'open-case-errors');
  await officer.fill('#child-forename', 'Alex');
  await officer.fill('#child-surname', 'Browsertest');
  await fillDate(officer, 'child-dob', '2018-03-11');
  await officer.selectOption('#request-requested_by', 'parent');
  await officer.locator('label:has-text("Email")').click();
  await fillDate(officer, 'request-received_at', '2026-06-05', '17:40'); // after 17:00 on a Friday
  await officer.click('button:has-text("Open the case")');
  await officer.waitForSelector('h1:has-text("Alex Browsertest")');
  const caseId = Number(/\/app\/cases\/(\d+)/.exec(officer.url())[1]);
  await expectText(officer, '.ehc-progress__item--current', '1 Request received');
  await expectText(officer, '#deadlines', '20 July 2026'); // decision: 6 weeks from Monday 8 June
  await check(officer, 'case-opened');

  const manager = await newPage(browser, 'manager');
  await signIn(manager, 'mohammed', 'manager-password-1');

  await setClock('2026-06-09');
  await record(officer, caseId, 'notification_sent', (f) => f.locator('label:has-text("ICB")').click());
  await setClock('2026-06-29');
  await record(officer, caseId, 'panel_listed');
  await setClock('2026-07-09');
  await record(manager, caseId, 'decision_to_assess', (f) => f.locator('label:has-text("Yes")').click());
  await setClock('2026-07-14');
  await record(officer, caseId, 'advice_requested', async (f) => {
    await f.locator('input[id$="-request_key"]').fill('health');
    await f.locator('select[id$="-adviser"]').selectOption('medical');
  });
  await check(officer, 'case-assessing');
  await setClock('2026-08-20');
  await record(officer, caseId, 'advice_received', (f) => f.locator('input[id$="-request_key"]').fill('health'));
  await setClock('2026-08-25');
  await record(officer, caseId, 'advice_complete');
  await setClock('2026-09-03');
  await record(manager, caseId, 'decision_to_issue', (f) => f.locator('label:has-text("Yes")').click());
  await setClock('2026-09-11');
  // the draft's covering letter, made from the case (refused first for want of the contacts the law
  // requires), then recorded as handed over today: that is the draft's service (Reg 13(1))
  await officer.goto(`${base}/app/cases/${caseId}`);
  await officer.locator('#letter-details summary').click();
  await officer.selectOption('#letter-notice', 'draft_plan|parent');
  await officer.fill('#letter-recipient-name', 'Ms Sam Browsertest');
  await officer.click('#letter-form button[type=submit]');
  await officer.waitForSelector('.govuk-error-summary');
  await expectText(officer, '.govuk-error-summary', 'The letter needs: who to contact at the authority');
  await expectText(officer, '.govuk-error-summary', 'The letter needs: information, advice and support service');
  await check(officer, 'case-letter-errors');
  await officer.fill('#letter-la_contact', 'the SEN team, Civic Centre, 0161 000 0000');
  await officer.fill('#letter-ias_contact', 'SENDIASS, 0161 000 0001');
  await officer.click('#letter-form button[type=submit]');
  await officer.waitForSelector('.govuk-notification-banner--success');
  await expectText(officer, '#letters-table', 'Not sent');
  await check(officer, 'case-letter-made');
  const sent = officer.locator('details[id^="letter-sent-"]').first();
  await sent.locator('summary').click();
  await sent.locator('label:has-text("By hand")').click();
  await sent.locator('input[id$="-sent_at-time"]').fill('10:00');
  await sent.locator('button[type=submit]').click();
  // the page still shows the banner of the letter made until the new one comes
  await officer.waitForSelector('.govuk-notification-banner--success:has-text("Recorded as sent")');
  await expectText(officer, '.govuk-notification-banner', 'deemed received on 11 September 2026');
  await expectText(officer, '#timeline', 'Draft plan served');
  await expectText(officer, '#letters-table', 'deemed received 11 September 2026');
  log('draft plan letter made and recorded as sent by hand');
  await setClock('2026-09-22');
  await record(officer, caseId, 'consultation_sent', (f) => f.locator('input[id$="-setting_key"]').fill('Oak Primary'));
  await setClock('2026-10-01');
  await record(officer, caseId, 'consultation_answered', async (f) => {
    await f.locator('input[id$="-setting_key"]').fill('oak-primary');
    await f.locator('label:has-text("Can admit")').click();
  });
  await setClock('2026-10-05');
  await record(manager, caseId, 'placement_decided', (f) => f.locator('input[id$="-setting"]').fill('oak-primary'));
  await setClock('2026-10-14');
  await record(manager, caseId, 'final_plan_issued');

  await officer.goto(`${base}/app/cases/${caseId}`);
  await officer.waitForSelector('h1:has-text("Alex Browsertest")');
  await expectText(officer, '.ehc-progress__item--current', '8 Final plan issued');
  await expectText(officer, '#deadlines', '26 October 2026'); // the 20 weeks
  const finalRow = await officer.locator('#deadlines tr', { hasText: '26 October 2026' }).innerText();
  if (!finalRow.includes('Met')) throw new Error(`the final plan date should be met: ${finalRow}`);
  await expectText(officer, '#timeline', 'Final plan sent');
  await check(officer, 'case-final-plan');
  await officer.click('a.govuk-service-navigation__link:has-text("Caseload")');
  await officer.waitForSelector('#caseload');
  await check(officer, 'caseload');
  await officer.click('#sign-out');
  await officer.waitForSelector('h1:has-text("Sign in")');
  await expectText(officer, '.govuk-notification-banner', 'You have signed out');
  await officer.context().close();
  await manager.context().close();
  return caseId;
}

// ---- journey 2: a DCO logs a health advice return, with the keyboard alone -----------------------------

// Presses Tab until the focused element matches the selector (the way a keyboard user gets there).
async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
  }
  throw new Error(`Tab never reached ${selector} on ${page.url()}`);
}

async function dcoJourney(browser) {
  await setClock('2026-10-15');
  const session = await api('deepa', 'GET', '/api/v1/session');
  const orgId = session.grants.find((g) => g.role === 'dco').organisation_id;
  const team = (await api('olivia', 'GET', '/api/v1/session')).grants[0].team_id;
  const opened = await api('olivia', 'POST', '/api/v1/cases', {
    team_id: team, confirm_new_child: true,
    child: { forename: 'Sam', surname: 'Keyboard', date_of_birth: '2019-02-01' },
    request: { effective_on: '2026-10-15', fields: { requested_by: 'parent', channel: 'email', received_at: '2026-10-15T10:00' } },
  });
  await api('mohammed', 'POST', `/api/v1/cases/${opened.id}/events`, { type: 'decision_to_assess', effective_on: '2026-10-15', expected_version: 1, fields: { decision: 'yes' } });
  await api('olivia', 'POST', `/api/v1/cases/${opened.id}/events`, {
    type: 'advice_requested', effective_on: '2026-10-15', expected_version: 2,
    fields: { request_key: 'health', adviser: 'medical', received_on: '2026-10-15', organisation_id: orgId },
  });
  await setClock('2026-10-20');

  const dco = await newPage(browser, 'dco');
  await dco.goto(`${base}/app/`);
  await dco.waitForSelector('h1:has-text("Sign in")');
  await tabTo(dco, '#username');
  await dco.keyboard.type('deepa');
  await dco.keyboard.press('Tab');
  await dco.keyboard.type('dco-password-1');
  await dco.keyboard.press('Enter');
  await dco.waitForSelector('h1:has-text("Advice requests")');
  await expectText(dco, 'main', 'Sam Keyboard');
  await check(dco, 'dco-advice-inbox');
  await tabTo(dco, 'a[href^="/app/advice/"]');
  await dco.keyboard.press('Enter');
  await dco.waitForSelector('h1:has-text("Log the advice for Sam Keyboard")');
  await check(dco, 'dco-advice-form');
  // submitted with nothing chosen: the error summary takes the focus, and its link leads to the question
  await tabTo(dco, 'button[type=submit]');
  await dco.keyboard.press('Enter');
  await dco.waitForSelector('.govuk-error-summary');
  if (!(await dco.evaluate(() => document.activeElement?.classList.contains('govuk-error-summary')))) {
    throw new Error('the error summary did not take the focus');
  }
  await check(dco, 'dco-advice-form-errors');
  await tabTo(dco, '.govuk-error-summary a');
  await dco.keyboard.press('Enter');
  if (!(await dco.evaluate(() => document.activeElement?.id === 'outcome'))) throw new Error('the error link did not move the focus to the question');
  await dco.keyboard.press('Space'); // "The advice"
  await tabTo(dco, 'button[type=submit]');
  await dco.keyboard.press('Enter');
  await dco.waitForSelector('.govuk-notification-banner--success');
  await expectText(dco, '.govuk-notification-banner', 'Advice return logged for Sam Keyboard');
  await check(dco, 'dco-advice-returned');
  const list = await api('deepa', 'GET', '/api/v1/advice-requests?status=returned');
  const back = list.find((a) => a.case_id === opened.id);
  if (!back || back.returned_on !== '2026-10-20') throw new Error(`the return was not recorded: ${JSON.stringify(back)}`);
  await dco.context().close();
}

// ---- journey 3: a manager sees an overdue alert arrive without reloading -------------------------------

async function managerJourney(browser) {
  await setClock('2026-10-21');
  const team = (await api('olivia', 'GET', '/api/v1/session')).grants[0].team_id;
  const opened = await api('olivia', 'POST', '/api/v1/cases', {
    team_id: team, confirm_new_child: true,
    child: { forename: 'Jo', surname: 'Overdue', date_of_birth: '2017-09-09' },
    request: { effective_on: '2026-10-21', fields: { requested_by: 'school_or_college', channel: 'hand', received_at: '2026-10-21T09:30' } },
  });
  const manager = await newPage(browser, 'manager');
  await signIn(manager, 'mohammed', 'manager-password-1');
  await manager.click('a.govuk-service-navigation__link:has-text("Alerts")');
  await manager.waitForSelector('#live-status:has-text("Live")');
  await manager.evaluate(() => { window.ehcNotReloaded = true; });
  await check(manager, 'manager-alerts-before');
  // The decision whether to assess was due on Wednesday 2 December 2026 (6 weeks from 21 October):
  // on Thursday 3 December it is overdue.
  await setClock('2026-12-03');
  const item = manager.locator('#live-alerts li[data-level="overdue"]');
  await item.first().waitFor({ timeout: 15000 });
  if (!(await manager.evaluate(() => window.ehcNotReloaded === true))) throw new Error('the page was reloaded');
  await expectText(manager, '#live-alerts', 'Decision due');
  await check(manager, 'manager-live-overdue-alert');
  await manager.click('a.govuk-service-navigation__link:has-text("Alerts")');
  const row = manager.locator('#open-alerts tr', { hasText: 'Decision due' }).filter({ hasText: 'Overdue' });
  await row.first().locator('button:has-text("Acknowledge")').click();
  await manager.waitForSelector('.govuk-notification-banner--success');
  await check(manager, 'manager-alert-acknowledged');
  const acked = await api('mohammed', 'GET', `/api/v1/alerts?case_id=${opened.id}&status=acknowledged`);
  if (!acked.some((a) => a.level === 'overdue')) throw new Error(`the overdue alert was not acknowledged: ${JSON.stringify(acked)}`);
  await manager.context().close();
}

// ---- journey 4: a manager's team pages: the queue, allocation, caseload, timeliness charts ---------------

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

async function teamJourney(browser) {
  const team = (await api('olivia', 'GET', '/api/v1/session')).grants[0].team_id;
  const olivia = (await api('olivia', 'GET', '/api/v1/session')).user.id;
  const refs = [];
  for (const [forename, dob] of [['Ria', '2016-04-04'], ['Ben', '2015-05-05']]) {
    const opened = await api('olivia', 'POST', '/api/v1/cases', {
      team_id: team, confirm_new_child: true,
      child: { forename, surname: 'Queue', date_of_birth: dob },
      request: { effective_on: '2026-12-03', fields: { requested_by: 'parent', channel: 'email', received_at: '2026-12-03T09:00' } },
    });
    refs.push({ id: opened.id, reference: (await api('olivia', 'GET', `/api/v1/cases/${opened.id}`)).reference });
  }
  const before = (await api('mohammed', 'GET', '/api/v1/caseload')).officers.find((o) => o.officer_id === olivia)?.open_cases ?? 0;

  const manager = await newPage(browser, 'manager');
  await signIn(manager, 'mohammed', 'manager-password-1');
  await manager.click('a.govuk-service-navigation__link:has-text("Team")');
  await manager.waitForSelector('#by-officer');
  await expectText(manager, '#by-officer', 'Olivia Hughes');
  await check(manager, 'team-caseload');

  // the unallocated queue: nothing chosen is refused with an error summary; then two cases at once,
  // chosen with the keyboard
  await manager.click('a:has-text("Unallocated queue")');
  await manager.waitForSelector('#queue');
  for (const r of refs) await expectText(manager, '#queue', r.reference);
  await check(manager, 'team-unallocated-queue');
  await manager.click('#allocation-form button[type=submit]');
  await manager.waitForSelector('.govuk-error-summary a[href="#cases"]');
  await check(manager, 'team-allocation-errors');
  for (const r of refs) {
    await tabTo(manager, `#queue input[data-reference="${r.reference}"]`);
    await manager.keyboard.press('Space');
  }
  const target = await manager.locator('#allocate-to option', { hasText: 'Olivia Hughes' }).getAttribute('value');
  await manager.selectOption('#allocate-to', target);
  await manager.fill('#allocate-reason', 'caseload balance');
  await tabTo(manager, '#allocation-form button[type=submit]');
  await manager.keyboard.press('Enter');
  await manager.waitForSelector('#allocation-outcome');
  await expectText(manager, '#allocation-outcome', '2 of 2 cases allocated to Olivia Hughes');
  for (const r of refs) await expectText(manager, '#allocation-results', `${r.reference}: Allocated to Olivia Hughes`);
  await check(manager, 'team-allocated');
  for (const r of refs) {
    const c = await api('mohammed', 'GET', `/api/v1/cases/${r.id}`);
    if (c.officer_id !== olivia || c.officer_name !== 'Olivia Hughes') throw new Error(`case ${r.reference} was not allocated: ${c.officer_id}`);
  }

  // the caseload by officer has changed
  await manager.click('a:has-text("Caseload by stage and officer")');
  await manager.waitForSelector('#by-officer');
  const row = await manager.locator('#by-officer tr', { hasText: 'Olivia Hughes' }).innerText();
  if (!row.includes(String(before + 2))) throw new Error(`Olivia's open cases should be ${before + 2}: ${row}`);
  await check(manager, 'team-caseload-after');
  await manager.click('#by-stage a >> nth=0');
  await manager.waitForSelector('#stage-cases');
  await check(manager, 'team-stage');
  await manager.goBack();
  await manager.waitForSelector('#by-officer');
  await manager.click('#by-officer tr:has-text("Olivia Hughes") a:has-text("Reallocate")');
  await manager.waitForSelector('h1:has-text("Reallocate cases of Olivia Hughes")');
  for (const r of refs) await expectText(manager, '#queue', r.reference);
  await check(manager, 'team-reallocate');
  await manager.click('a:has-text("Overdue and due this week")');
  await manager.waitForSelector('#overdue');
  await check(manager, 'team-overdue-and-due');

  // timeliness: the chart and its table show the API's figures
  await manager.click('a:has-text("Timeliness")');
  await manager.waitForSelector('#plans-20-weeks-table');
  await manager.waitForFunction(() => globalThis.Chart && ['plans-20-weeks', 'decisions-6-weeks', 'advice-6-weeks'].every((id) => globalThis.Chart.getChart(document.getElementById(`${id}-chart`))));
  const report = await api('mohammed', 'GET', '/api/v1/reports/timeliness?by=month');
  const drawn = await manager.evaluate(() => {
    const c = globalThis.Chart.getChart(document.getElementById('plans-20-weeks-chart'));
    return { labels: c.data.labels, including: c.data.datasets[0].data, excluding: c.data.datasets[1].data };
  });
  const plans = report.rows.filter((r) => r.measure === 'plan_20_weeks');
  if (!plans.length) throw new Error(`the report has no plan issued: ${JSON.stringify(report)}`);
  for (const r of plans) {
    const [y, m] = r.group.month.split('-');
    const label = `${MONTH_NAMES[Number(m) - 1]} ${y}`;
    const i = drawn.labels.indexOf(label);
    if (i < 0 || drawn.including[i] !== r.on_time_percent || drawn.excluding[i] !== (r.on_time_percent_excluding_exceptions ?? null)) {
      throw new Error(`the chart of ${label} should show ${r.on_time_percent}% / ${r.on_time_percent_excluding_exceptions}%: ${JSON.stringify(drawn)}`);
    }
    const cells = await manager.locator('#plans-20-weeks-table tr', { has: manager.locator(`th:text-is("${label}")`) }).locator('td').allInnerTexts();
    if (cells[0] !== String(r.total) || cells[1] !== String(r.on_time) || cells[2] !== `${r.on_time_percent.toFixed(1)}%`) {
      throw new Error(`the table of ${label} should show ${r.total}, ${r.on_time}, ${r.on_time_percent}%: ${cells.join(' | ')}`);
    }
  }
  const decisions = report.rows.filter((r) => r.measure === 'decision_6_weeks');
  const drawnDecisions = await manager.evaluate(() => globalThis.Chart.getChart(document.getElementById('decisions-6-weeks-chart')).data.datasets[0].data.filter((v) => v !== null));
  if (JSON.stringify(drawnDecisions) !== JSON.stringify(decisions.map((r) => r.on_time_percent))) {
    throw new Error(`the decisions chart should show ${JSON.stringify(decisions)}: ${JSON.stringify(drawnDecisions)}`);
  }
  await check(manager, 'timeliness');
  // another period, through the selector
  await fillDate(manager, 'period-from', '2026-09-01');
  await fillDate(manager, 'period-to', '2026-11-30');
  await manager.click('#period button[type=submit]');
  await manager.waitForURL(/from=2026-09-01&to=2026-11-30/);
  await manager.waitForFunction(() => globalThis.Chart?.getChart(document.getElementById('plans-20-weeks-chart'))?.data.labels.length === 3);
  await check(manager, 'timeliness-period');

  // an exception to a time limit, recorded on the case page from the workflow's allowed exceptions
  await manager.goto(`${base}/app/cases/${refs[0].id}`);
  await manager.waitForSelector('h1:has-text("Ria Queue")');
  await manager.click('#exception-details summary');
  const choice = await manager.locator('#exception-choice option', { hasText: 'reg 5(4)(c)' }).getAttribute('value');
  await manager.selectOption('#exception-choice', choice);
  await manager.fill('#exception-evidence', 'Letter from the family of 1 December');
  await check(manager, 'case-exception-form');
  await manager.click('#exception-form button[type=submit]');
  await manager.waitForSelector('.govuk-notification-banner--success');
  await expectText(manager, '#exceptions', 'Exceptional personal circumstances');
  await check(manager, 'case-exception-recorded');

  // finding a child by surname and date of birth, linking to their case
  await manager.click('a.govuk-service-navigation__link:has-text("Find a child")');
  await manager.waitForSelector('#child-search');
  await manager.fill('#child-surname', 'Queue');
  await fillDate(manager, 'child-dob', '2015-05-05');
  await manager.click('#child-search button[type=submit]');
  await manager.waitForSelector('#children');
  await expectText(manager, '#children', 'Ben Queue');
  await check(manager, 'find-a-child');
  await manager.click(`#children a:has-text("${refs[1].reference}")`);
  await manager.waitForSelector('h1:has-text("Ben Queue")');
  await manager.context().close();
}

// ---- journey 5: an officer's annual reviews, and a manager merges two records of one child -------------

async function reviewsJourney(browser) {
  await setClock('2026-12-07'); // a Monday of the autumn term of 2026 to 2027
  const session = await api('olivia', 'GET', '/api/v1/session');
  const team = session.grants[0].team_id;
  const plans = {};
  // three plans made a year ago (the review is due within 12 months), at two settings
  for (const [forename, dob, urn, made] of [['Ava', '2014-03-03', '100001', '2025-12-14'], ['Ben', '2014-05-05', '100001', '2025-12-20'], ['Cai', '2015-01-01', '100002', '2025-12-22']]) {
    const opened = await api('olivia', 'POST', '/api/v1/cases', {
      team_id: team, officer_id: session.user.id, workflow: 'annual-review', confirm_new_child: true,
      child: { forename, surname: 'Review', date_of_birth: dob, setting_urn: urn },
      request: { effective_on: made, fields: { under_five: false, made_after: 'assessment' } },
    });
    plans[forename] = opened.id;
  }
  // Cai moves to secondary school next September: the plan must name it before 15 February 2027
  await api('olivia', 'POST', `/api/v1/cases/${plans.Cai}/events`, {
    type: 'phase_transfer_identified', effective_on: '2026-12-07', expected_version: 1,
    fields: { transfer: 'school_phase', transfer_on: '2027-09-01' },
  });

  const officer = await newPage(browser, 'officer');
  await signIn(officer, 'olivia', 'officer-password-1');
  await officer.click('a.govuk-service-navigation__link:has-text("Annual reviews")');
  await officer.waitForSelector('#bulk-form');
  await expectText(officer, '#setting-100001', 'Ava Review');
  await expectText(officer, '#setting-100001', 'Ben Review');
  await expectText(officer, '#setting-100001', '13 December 2026');
  await expectText(officer, '#setting-100002', 'Cai Review');
  await expectText(officer, '#setting-100002', 'Phase transfer (Reg 18) by 14 February 2027');
  await check(officer, 'reviews-due');
  await officer.click('#arrange-meeting'); // nothing chosen: the error summary
  await officer.waitForSelector('.govuk-error-summary a[href="#cases"]');
  await check(officer, 'reviews-errors');

  // two plans at once, chosen and arranged with the keyboard
  const choose = async () => {
    for (const name of ['Ava Review', 'Ben Review']) {
      await tabTo(officer, `#bulk-form input[data-name="${name}"]`, 80);
      await officer.keyboard.press('Space');
    }
  };
  await choose();
  await fillDate(officer, 'meeting-on', '2027-01-12');
  await tabTo(officer, '#arrange-meeting');
  await officer.keyboard.press('Enter');
  await officer.waitForSelector('#bulk-outcome');
  await expectText(officer, '#bulk-outcome', '2 of 2 review meetings arranged');
  await expectText(officer, '#bulk-results', 'Ava Review: Meeting arranged for 12 January 2027');
  await expectText(officer, '#bulk-results', 'Ben Review: Meeting arranged for 12 January 2027');
  await check(officer, 'reviews-meetings-arranged');
  await choose();
  await tabTo(officer, '#invitations-sent');
  await officer.keyboard.press('Enter');
  await officer.waitForSelector('#bulk-outcome:has-text("invitations recorded as sent")');
  await expectText(officer, '#bulk-outcome', '2 of 2 invitations recorded as sent');
  await expectText(officer, '#bulk-results', 'Ben Review: Invitations recorded as sent');
  await check(officer, 'reviews-invitations-sent');
  for (const name of ['Ava', 'Ben']) {
    const c = await api('olivia', 'GET', `/api/v1/cases/${plans[name]}`);
    const types = (c.events || []).map((e) => e.type);
    if (c.stage !== 'review_arranged' || (types.length && !types.includes('invitations_sent'))) throw new Error(`${name}'s plan: ${c.stage}, ${types.join(' ')}`);
  }

  // another term of the school year, through the selector
  await officer.selectOption('#term', 'summer');
  await officer.click('#term-form button[type=submit]');
  await officer.waitForSelector('main:has-text("due by 31 August 2027 (Summer term 2027)")');

  // the phase-transfer cohort, flagged in the autumn
  await officer.click('a:has-text("Phase transfers")');
  await officer.waitForSelector('#transfers');
  await expectText(officer, '#transfers', 'Cai Review');
  await expectText(officer, '#transfers', '14 February 2027');
  await expectText(officer, '#autumn-flag', 'Autumn term');
  await check(officer, 'reviews-phase-transfers');
  await officer.click('#transfers a:has-text("Cai Review")');
  await officer.waitForSelector('h1:has-text("Cai Review")');
  await officer.context().close();

  // a manager merges two records of one child
  const refs = [];
  for (const day of ['2026-12-01', '2026-12-07']) {
    const opened = await api('olivia', 'POST', '/api/v1/cases', {
      team_id: team, confirm_new_child: true,
      child: { forename: 'Max', surname: 'Twice', date_of_birth: '2016-06-06' },
      request: { effective_on: day, fields: { requested_by: 'parent', channel: 'email', received_at: `${day}T09:00` } },
    });
    refs.push((await api('olivia', 'GET', `/api/v1/cases/${opened.id}`)).reference);
  }
  const manager = await newPage(browser, 'manager');
  await signIn(manager, 'mohammed', 'manager-password-1');
  await manager.click('a.govuk-service-navigation__link:has-text("Find a child")');
  await manager.fill('#child-surname', 'Twice');
  await fillDate(manager, 'child-dob', '2016-06-06');
  await manager.click('#child-search button[type=submit]');
  await manager.waitForSelector('#children:has-text("2 children found")');
  await check(manager, 'find-a-child-duplicates');
  await manager.click('#children tbody tr >> nth=1 >> a:has-text("Merge")');
  await manager.waitForSelector('#merge-form');
  await manager.click('#merge-form button[type=submit]');
  await manager.waitForSelector('.govuk-error-summary a[href="#keep"]');
  await check(manager, 'child-merge-errors');
  await manager.check('#keep');
  await manager.fill('#merge-reason', 'Same child: opened twice from two requests');
  await manager.click('#merge-form button[type=submit]');
  await manager.waitForSelector('#merge-confirm');
  await check(manager, 'child-merge-confirm');
  await manager.click('#confirm-merge');
  await manager.waitForSelector('#merge-outcome');
  await expectText(manager, '#moved-cases', refs[1]);
  await check(manager, 'child-merged');
  const found = await api('mohammed', 'GET', '/api/v1/children?surname=Twice&date_of_birth=2016-06-06');
  if (found.length !== 1 || found[0].cases.length !== 2) throw new Error(`the records were not merged: ${JSON.stringify(found)}`);
  await manager.context().close();
}

// ---- run ----------------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
let failed = null;
try {
  const caseId = await officerJourney(browser);
  log(`journey 1 done: case ${caseId} from request to final plan`);
  await dcoJourney(browser);
  log('journey 2 done: a DCO logged a health advice return by keyboard');
  await managerJourney(browser);
  log('journey 3 done: a manager saw an overdue alert arrive live');
  await teamJourney(browser);
  log('journey 4 done: a manager allocated two cases at once and checked the timeliness charts against the API');
  await reviewsJourney(browser);
  log('journey 5 done: an officer arranged two review meetings and their invitations at once; a manager merged two records of one child');
} catch (e) {
  failed = e;
  // what each open page showed when it failed
  let n = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      await page.screenshot({ path: join(artifacts, `failed-${++n}.png`), fullPage: true }).catch(() => {});
    }
  }
} finally {
  await browser.close();
}
for (const p of problems) console.error(`PROBLEM: ${p}`);
if (failed) {
  console.error(`FAILED: ${failed.stack || failed}`);
  process.exit(1);
}
if (problems.length) process.exit(1);
log(`all journeys passed; ${shot} pages checked with axe-core; screenshots in ${artifacts}`);
