// Annual reviews (officers and managers): the open plans under review whose review, or review
// decision (Reg 20(10): within 4 weeks of the meeting), falls due by the end of the chosen term of this
// school year, grouped by setting (URN), from GET /api/v1/reviews?due_by=; several are ticked and the
// review meeting arranged, or the invitations recorded as sent, for all of them at once
// (POST /api/v1/bulk-events, each case's outcome shown); and the phase-transfer cohort whose
// deadline (Reg 18(1): before 15 February, or 31 March for post-16, of the transfer year) falls by
// 31 March next year (GET /api/v1/reviews?transfer_by=), flagged in the autumn term.
import { api, ApiError, today as getToday, workflow as getWorkflow } from '../api.js';
import { h, link, table, para, button, inset } from '../dom.js';
import { dateText, daysBetween, daysLeftText, ragTag } from '../format.js';
import { dateQuestion, showErrors, showApiError, clearErrors } from '../forms.js';
import { navigate } from '../main.js';

const WORKFLOW = 'annual-review';

// The terms of the school year that holds `today` (September to August), each ending on the day
// its reviews are due by.
export function schoolYear(today) {
  const [y, m] = today.split('-').map(Number);
  const start = m >= 9 ? y : y - 1;
  return {
    start,
    label: `${start} to ${start + 1}`,
    terms: [
      { id: 'autumn', title: `Autumn term ${start}`, due_by: `${start}-12-31` },
      { id: 'spring', title: `Spring term ${start + 1}`, due_by: `${start + 1}-03-31` },
      { id: 'summer', title: `Summer term ${start + 1}`, due_by: `${start + 1}-08-31` },
    ],
    // the cohort to plan the autumn before: transfers whose deadline falls by 31 March next year
    transfer_by: `${start + 1}-03-31`,
  };
}

function currentTerm(year, today) {
  return year.terms.find((t) => today <= t.due_by) || year.terms[2];
}

function childName(r) {
  return `${r.child?.forename || ''} ${r.child?.surname || ''}`.trim() || r.reference;
}

async function stageTitles() {
  const titles = new Map();
  try {
    const wf = await getWorkflow(WORKFLOW);
    for (const s of wf.stages) titles.set(s.id, s.title.split(':')[0]);
  } catch { /* shown as ids */ }
  return titles;
}

function dueCell(iso, today) {
  if (!iso) return '';
  const days = daysBetween(today, iso);
  return [dateText(iso), h('br'), h('span', { class: 'govuk-body-s' }, daysLeftText(days)), h('br'), ragTag(days)];
}

// What is due besides the review itself: the decision after the meeting, a phase transfer.
function alsoDue(r, today) {
  const out = [];
  if (r.decision_due_on) out.push(h('p', { class: 'govuk-body-s govuk-!-margin-bottom-1' }, `Decision (Reg 20(10)) by ${dateText(r.decision_due_on)}: ${daysLeftText(daysBetween(today, r.decision_due_on))}`));
  if (r.transfer_due_on) out.push(h('p', { class: 'govuk-body-s govuk-!-margin-bottom-1' }, `Phase transfer (Reg 18) by ${dateText(r.transfer_due_on)}`));
  return out.length ? out : 'None';
}

function reviewLinks(current) {
  const items = [['/app/reviews', 'Reviews due this term'], ['/app/reviews/transfers', 'Phase transfers']];
  return h('nav', { 'aria-label': 'Annual review pages', class: 'govuk-!-margin-bottom-6' },
    h('ul', { class: 'govuk-list ehc-inline-list' },
      items.map(([href, text]) => h('li', {}, href === current
        ? h('a', { href, class: 'govuk-link govuk-link--no-visited-state', 'aria-current': 'page' }, h('strong', {}, text))
        : link(href, text, { class: 'govuk-link govuk-link--no-visited-state' })))));
}

function bySetting(rows) {
  const groups = new Map();
  for (const r of rows) {
    const k = r.setting_urn || '';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === '') - (b === '') || a.localeCompare(b));
}

const settingTitle = (urn) => (urn ? `Setting URN ${urn}` : 'No setting recorded');

// ---- the outcome of a bulk action ------------------------------------------------------------------

const ACTIONS = {
  review_meeting_arranged: { done: 'Meeting arranged', what: 'review meetings arranged' },
  invitations_sent: { done: 'Invitations recorded as sent', what: 'invitations recorded as sent' },
};

function outcomeText(r, action) {
  if (r.status === 201) return `${ACTIONS[action].done}${r.meeting_on ? ` for ${dateText(r.meeting_on)}` : ''}`;
  if (r.status === 200) return 'Already recorded: nothing changed';
  return `Not recorded: ${r.error?.message || `the service answered ${r.status}`}`;
}

function outcomePanel(o) {
  const ok = o.results.every((r) => r.status === 200 || r.status === 201);
  return h('div', {
    class: `govuk-notification-banner${ok ? ' govuk-notification-banner--success' : ''}`,
    role: ok ? 'alert' : 'region', 'aria-labelledby': 'bulk-title', 'data-module': 'govuk-notification-banner', id: 'bulk-outcome',
  },
  h('div', { class: 'govuk-notification-banner__header' }, h('h2', { class: 'govuk-notification-banner__title', id: 'bulk-title' }, ok ? 'Success' : 'Important')),
  h('div', { class: 'govuk-notification-banner__content' },
    h('p', { class: 'govuk-notification-banner__heading' }, `${o.recorded} of ${o.results.length} ${ACTIONS[o.action].what}`),
    h('ul', { class: 'govuk-list', id: 'bulk-results' },
      o.results.map((r) => h('li', {}, h('strong', {}, o.names[r.case_id] || `Case ${r.case_id}`), `: ${outcomeText({ ...r, meeting_on: o.meeting_on }, o.action)}`)))));
}

// ---- reviews due this term ---------------------------------------------------------------------------

export async function reviewsPage({ query, flash }) {
  const today = await getToday();
  const year = schoolYear(today);
  const term = year.terms.find((t) => t.id === query.get('term')) || currentTerm(year, today);
  const [rows, titles] = await Promise.all([api('GET', `/api/v1/reviews?limit=500&due_by=${term.due_by}`), stageTitles()]);
  const here = `/app/reviews?term=${term.id}`;

  const termForm = h('form', { method: 'get', action: '/app/reviews', id: 'term-form', class: 'govuk-!-margin-bottom-6', onsubmit: (ev) => {
    ev.preventDefault();
    navigate(`/app/reviews?term=${encodeURIComponent(ev.target.elements.term.value)}`);
  } },
  h('div', { class: 'govuk-form-group' },
    h('label', { class: 'govuk-label govuk-label--s', for: 'term' }, `Term of the school year ${year.label}`),
    h('div', { class: 'govuk-hint', id: 'term-hint' }, 'Reviews and review decisions due by the end of the term, and any overdue.'),
    h('select', { class: 'govuk-select', id: 'term', name: 'term', 'aria-describedby': 'term-hint' },
      year.terms.map((t) => h('option', { value: t.id, selected: t.id === term.id }, `${t.title} (due by ${dateText(t.due_by)})`)))),
  h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary', 'data-module': 'govuk-button' }, 'Show this term'));

  const boxes = [];
  const groups = bySetting(rows).map(([urn, list]) => table(`${settingTitle(urn)} (${list.length})`,
    [h('span', { class: 'govuk-visually-hidden' }, 'Select'), 'Child', 'Review due', 'Officer', 'Stage', 'Also due'],
    list.map((r) => {
      const box = h('input', { class: 'govuk-checkboxes__input', id: boxes.length === 0 ? 'cases' : `cases-${r.case_id}`, name: 'case', type: 'checkbox', value: r.case_id, 'data-name': childName(r) });
      boxes.push(box);
      return [
        h('div', { class: 'govuk-checkboxes govuk-checkboxes--small' },
          h('div', { class: 'govuk-checkboxes__item' }, box,
            h('label', { class: 'govuk-label govuk-checkboxes__label', for: box.id }, h('span', { class: 'govuk-visually-hidden' }, `Select ${childName(r)}`)))),
        [link(`/app/cases/${r.case_id}`, childName(r)), h('br'), h('span', { class: 'govuk-body-s' }, `${r.reference}, born ${dateText(r.child?.date_of_birth)}`)],
        r.review_due_on ? dueCell(r.review_due_on, today) : 'None open',
        r.officer_name || 'Not allocated',
        titles.get(r.stage) || r.stage,
        alsoDue(r, today),
      ];
    }), { id: `setting-${urn || 'none'}`, captionSize: 's' }));

  const meeting = dateQuestion('meeting-on', 'Date of the review meeting', { hint: 'Invitations and advice are due 2 weeks before it (Reg 20(2)-(4)). For example, 12 1 2027' });
  const form = h('form', { novalidate: true, id: 'bulk-form', onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors();
    const action = ev.submitter?.value === 'invitations_sent' ? 'invitations_sent' : 'review_meeting_arranged';
    const chosen = boxes.filter((b) => b.checked);
    const errors = [];
    if (!chosen.length) errors.push({ text: 'Select at least one plan', focusId: 'cases' });
    let meetingOn = '';
    if (action === 'review_meeting_arranged') {
      try {
        meetingOn = meeting.read();
        if (!meetingOn) errors.push({ text: 'Enter the date of the review meeting', focusId: meeting.focusId });
      } catch (e) {
        errors.push({ text: e.message, focusId: meeting.focusId });
      }
    }
    if (errors.length) return showErrors(errors);
    const body = { case_ids: chosen.map((b) => Number(b.value)), type: action, effective_on: today };
    if (meetingOn) body.fields = { meeting_on: meetingOn };
    for (const b of form.querySelectorAll('button[type=submit]')) b.disabled = true;
    try {
      const answer = await api('POST', '/api/v1/bulk-events', body);
      const names = Object.fromEntries(chosen.map((b) => [b.value, b.dataset.name]));
      navigate(here, { replace: true, flash: { action, recorded: answer.recorded, results: answer.results, names, meeting_on: meetingOn || null } });
    } catch (err) {
      for (const b of form.querySelectorAll('button[type=submit]')) b.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      showApiError(err, { meeting_on: meeting }, 'cases');
    }
  } },
  h('div', { class: 'govuk-form-group', 'data-field-group': 'cases' },
    h('div', { class: 'govuk-hint', id: 'cases-hint' }, 'Select the plans, then arrange their review meeting or record their invitations as sent.'),
    groups),
  h('h2', { class: 'govuk-heading-m' }, 'For the selected plans'),
  meeting.el,
  h('div', { class: 'govuk-button-group' },
    button('Arrange the meeting', { name: 'action', value: 'review_meeting_arranged', id: 'arrange-meeting' }),
    button('Record invitations sent today', { name: 'action', value: 'invitations_sent', id: 'invitations-sent', class: 'govuk-button govuk-button--secondary' })));

  return {
    title: 'Annual reviews',
    body: [
      flash && typeof flash === 'object' && flash.action ? outcomePanel(flash) : null,
      h('h1', { class: 'govuk-heading-l' }, 'Annual reviews'),
      reviewLinks('/app/reviews'),
      termForm,
      para(`${rows.length} ${rows.length === 1 ? 'plan' : 'plans'} with a review or review decision due by ${dateText(term.due_by)} (${term.title}), or overdue, by setting. A plan is reviewed within 12 months of the last review (CFA 2014 s44); the decision follows within 4 weeks of the meeting (Reg 20(10)). Open a plan for its other events.`),
      rows.length ? form : para('There are no reviews due in this term.'),
      rows.length ? para(link(`/api/v1/reviews?limit=500&due_by=${term.due_by}&format=csv`, 'Download these reviews (CSV)')) : null,
    ],
  };
}

// ---- phase transfers ---------------------------------------------------------------------------------

export async function transfersPage() {
  const today = await getToday();
  const year = schoolYear(today);
  const [rows, titles] = await Promise.all([api('GET', `/api/v1/reviews?limit=500&transfer_by=${year.transfer_by}`), stageTitles()]);
  const autumn = currentTerm(year, today).id === 'autumn';
  const basis = (iso) => (/-02-14$/.test(iso) ? 'Before 15 February: a move between school phases (Reg 18(1)(a))'
    : /-03-30$/.test(iso) ? 'Before 31 March: a move to a post-16 institution (Reg 18(1)(b))' : 'Reg 18(1)');
  return {
    title: 'Phase transfers',
    body: [
      h('span', { class: 'govuk-caption-l' }, 'Annual reviews'),
      h('h1', { class: 'govuk-heading-l' }, 'Phase transfers'),
      reviewLinks('/app/reviews/transfers'),
      autumn && rows.length
        ? h('div', { class: 'govuk-warning-text', id: 'autumn-flag' },
          h('span', { class: 'govuk-warning-text__icon', 'aria-hidden': 'true' }, '!'),
          h('strong', { class: 'govuk-warning-text__text' }, h('span', { class: 'govuk-visually-hidden' }, 'Warning'),
            `Autumn term: ${rows.length} ${rows.length === 1 ? 'plan must' : 'plans must'} be reviewed and amended, naming the next school or college, by the deadlines below.`))
        : null,
      para(`Plans whose phase transfer deadline falls by ${dateText(year.transfer_by)}: the plan must be amended, naming the next institution, before 15 February of the transfer year, or before 31 March for a move to post-16 (SEND Regulations 2014, reg 18).`),
      rows.length
        ? table(`Transfer cohort (${rows.length})`, ['Child', 'Setting (URN)', 'Transfer deadline', 'Officer', 'Stage', 'Next review'], rows.map((r) => [
          [link(`/app/cases/${r.case_id}`, childName(r)), h('br'), h('span', { class: 'govuk-body-s' }, `${r.reference}, born ${dateText(r.child?.date_of_birth)}`)],
          r.setting_urn || 'Not recorded',
          [...dueCell(r.transfer_due_on, today), h('br'), h('span', { class: 'govuk-body-s' }, basis(r.transfer_due_on))],
          r.officer_name || 'Not allocated',
          titles.get(r.stage) || r.stage,
          r.review_due_on ? dateText(r.review_due_on) : 'None open',
        ]), { id: 'transfers' })
        : inset('No plan has a phase transfer due by then. Record "a transfer between phases is due" on a plan to add it.'),
      autumn ? null : para('The cohort is flagged at the top of this page in the autumn term, before the February deadline.'),
    ],
  };
}
