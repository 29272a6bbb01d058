// A case: the child, the stages of its process as a progress list, forms for the events the user may
// record next (generated from the workflow definition, GET /api/v1/workflows/{id}: which events the
// current stage allows, for which roles, with which fields), every statutory date with its legal
// basis and status, the advice requests, exceptions, alerts, and the timeline of events.
import { api, ApiError, today as getToday, workflow as getWorkflow } from '../api.js';
import { h, successBanner, table, summaryList, tag, para, inset, link } from '../dom.js';
import { dateText, daysBetween, daysLeftText, humanise, statusTag, levelTag, ragTag } from '../format.js';
import { fieldQuestion, dateQuestion, textareaQuestion, textQuestion, radiosQuestion, selectQuestion, readQuestions, showErrors, showApiError, clearErrors } from '../forms.js';
import { navigate, session } from '../main.js';

// The stages shown as progress: the numbered ones ("1 Request received ...") when the workflow numbers
// them, else every stage that is not final.
function progressStages(wf) {
  const numbered = wf.stages.filter((s) => /^\d+\s/.test(s.title));
  return numbered.length ? numbered : wf.stages.filter((s) => !s.final);
}

function progress(wf, c) {
  const stages = progressStages(wf);
  const at = stages.findIndex((s) => s.id === c.stage);
  const here = wf.stages.find((s) => s.id === c.stage);
  const list = h('ol', { class: 'ehc-progress', 'aria-label': 'Stages of the process' },
    stages.map((s, i) => {
      const state = at < 0 ? (here?.final && c.stage === 'review_cycle' ? 'done' : 'none') : i < at ? 'done' : i === at ? 'current' : 'todo';
      const words = { done: ['Completed', 'green'], current: ['Current stage', 'blue'], todo: ['Not reached', 'grey'], none: ['Not reached', 'grey'] }[state];
      return h('li', { class: `ehc-progress__item ehc-progress__item--${state}`, 'aria-current': state === 'current' ? 'step' : null },
        h('span', {}, s.title), tag(words[0], words[1]));
    }));
  return [
    h('h2', { class: 'govuk-heading-m', id: 'progress' }, 'Progress'),
    at < 0 && here && inset(`This case is now at: ${here.title}.`),
    list,
  ];
}

function eventTitle(wf, type) {
  return wf.events.find((e) => e.id === type)?.title || humanise(type);
}

function valueText(v) {
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (typeof v !== 'string') return String(v);
  const dt = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}))?$/.exec(v);
  if (dt) return dt[2] ? `${dateText(dt[1])} at ${dt[2]}` : dateText(dt[1]);
  return /^[a-z0-9_]+$/.test(v) ? humanise(v) : v;
}

function fieldsText(fields) {
  return Object.entries(fields || {}).map(([k, v]) => `${humanise(k)}: ${valueText(v)}`).join('; ');
}

// A form for one event: its fields, its date, and the case version it was read at.
function eventForm(wf, c, ev, today) {
  const prefix = `ev-${ev.id}`;
  const questions = {};
  for (const f of ev.fields) questions[`fields.${f.id}`] = fieldQuestion(f, prefix, { today });
  if (!ev.effective_date_field) questions.effective_on = dateQuestion(`${prefix}-effective_on`, 'Date it happened', { value: today });
  const idempotencyKey = crypto.randomUUID();
  const form = h('form', { novalidate: true, 'data-event': ev.id, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (errors.length) return showErrors(errors);
    const fields = {};
    for (const [k, v] of Object.entries(values)) if (k.startsWith('fields.')) fields[k.slice(7)] = v;
    const effective = ev.effective_date_field ? fields[ev.effective_date_field] : values.effective_on;
    if (!effective) return showErrors([{ text: 'Enter the date it happened', focusId: questions.effective_on?.focusId }]);
    const body = { type: ev.id, effective_on: effective, expected_version: c.version };
    if (Object.keys(fields).length) body.fields = fields;
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await api('POST', `/api/v1/cases/${c.id}/events`, body, { 'Idempotency-Key': idempotencyKey });
      navigate(`/app/cases/${c.id}`, { replace: true, flash: `Recorded: ${ev.title}` });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 409) err.message = 'Someone else has changed this case since you opened it. Reload the page to see what changed, then try again.';
      showApiError(err, questions, Object.values(questions)[0]?.focusId);
    }
  } },
  Object.values(questions).map((q) => q.el),
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Record this'));
  return h('details', { class: 'govuk-details', id: `record-${ev.id}` },
    h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, ev.title)),
    h('div', { class: 'govuk-details__text' },
      ev.roles.length && h('p', { class: 'govuk-hint' }, `Recorded by: ${ev.roles.map(humanise).join(', ')}`),
      form));
}

function nextEvents(wf, c, today) {
  const mine = session.caseRoles(c);
  const allowed = wf.events.filter((e) => !e.opens_case && !e.records_exception && e.allowed_in.includes(c.stage));
  const forMe = allowed.filter((e) => e.roles.some((r) => mine.has(r)));
  const others = allowed.filter((e) => !forMe.includes(e));
  return [
    h('h2', { class: 'govuk-heading-m', id: 'record' }, 'Record what happened next'),
    c.status !== 'open'
      ? para('This case is closed: nothing more can be recorded on it.')
      : forMe.length
        ? [para('The law allows these events at this stage. Open one to record it.'), forMe.map((e) => eventForm(wf, c, e, today))]
        : para('There is nothing you can record at this stage.'),
    c.status === 'open' && others.length > 0 && h('details', { class: 'govuk-details' },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Events someone else records at this stage')),
      h('div', { class: 'govuk-details__text' },
        h('ul', { class: 'govuk-list govuk-list--bullet' }, others.map((e) => h('li', {}, `${e.title} (${e.roles.map(humanise).join(', ')})`))))),
  ];
}

// A manager's form to record an exception to a time limit (POST /api/v1/cases/{id}/exceptions): the
// open statutory dates of the case whose workflow deadline allows exceptions, each with the exceptions
// the law allows to it (from the workflow definition), as one choice. The statutory date never moves.
function exceptionForm(wf, c, today) {
  const mine = session.caseRoles(c);
  if (c.status !== 'open' || !(mine.has('manager') || mine.has('service_manager'))) return null;
  const options = [];
  for (const d of c.deadlines) {
    if (d.status !== 'open' && d.status !== 'overdue') continue;
    const def = wf.deadlines.find((x) => x.id === d.deadline);
    for (const x of def?.exceptions || []) {
      options.push({ value: `${options.length}`, deadline: d.deadline, key: d.key, exception: x.id,
        group: `${def.title || humanise(d.deadline)}${d.key ? ` (${humanise(d.key)})` : ''}, due ${dateText(d.due_on)}`,
        text: `${x.title || humanise(x.id)}${x.basis ? ` (${x.basis})` : ''}` });
    }
  }
  const heading = h('h2', { class: 'govuk-heading-m', id: 'record-exception' }, 'Record an exception to a time limit');
  if (!options.length) return [heading, para('No open statutory date of this case allows an exception.')];
  const groups = new Map();
  for (const o of options) {
    if (!groups.has(o.group)) groups.set(o.group, []);
    groups.get(o.group).push(o);
  }
  const select = h('select', { class: 'govuk-select', id: 'exception-choice', name: 'exception-choice', 'aria-describedby': 'exception-choice-hint' },
    h('option', { value: '' }, 'Choose one'),
    [...groups.entries()].map(([label, opts]) => h('optgroup', { label }, opts.map((o) => h('option', { value: o.value }, o.text)))));
  const choice = {
    el: h('div', { class: 'govuk-form-group', 'data-field-group': 'exception-choice' },
      h('label', { class: 'govuk-label govuk-label--s', for: 'exception-choice' }, 'Statutory date and exception'),
      h('div', { class: 'govuk-hint', id: 'exception-choice-hint' }, 'The exceptions the law allows to each open statutory date of this case'),
      select),
    focusId: 'exception-choice',
    read: () => {
      if (!select.value) throw new Error('Select the statutory date and the exception that applies');
      return select.value;
    },
  };
  const questions = {
    exception: choice,
    applies_from: dateQuestion('exception-applies_from', 'Applies from', { value: today }),
    applies_to: dateQuestion('exception-applies_to', 'Applies until (optional)'),
    evidence: textareaQuestion('exception-evidence', 'Evidence', { hint: 'What shows the exception applies, for example the letter from the family', maxLength: 1000 }),
    family_told_on: dateQuestion('exception-family_told_on', 'Date the family was told', { value: today }),
  };
  const idempotencyKey = crypto.randomUUID();
  const form = h('form', { novalidate: true, id: 'exception-form', onsubmit: async (e) => {
    e.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (!errors.some((x) => x.focusId === questions.applies_from.focusId) && !values.applies_from) errors.push({ text: 'Enter the date the exception applies from', focusId: questions.applies_from.focusId });
    if (!values.evidence) errors.push({ text: 'Enter the evidence', focusId: questions.evidence.focusId });
    if (!errors.some((x) => x.focusId === questions.family_told_on.focusId) && !values.family_told_on) errors.push({ text: 'Enter the date the family was told', focusId: questions.family_told_on.focusId });
    if (errors.length) return showErrors(errors);
    const o = options[Number(values.exception)];
    const body = { deadline: o.deadline, exception: o.exception, applies_from: values.applies_from, evidence: values.evidence, family_told_on: values.family_told_on, expected_version: c.version };
    if (o.key) body.request_key = o.key;
    if (values.applies_to) body.applies_to = values.applies_to;
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await api('POST', `/api/v1/cases/${c.id}/exceptions`, body, { 'Idempotency-Key': idempotencyKey });
      navigate(`/app/cases/${c.id}`, { replace: true, flash: `Exception recorded: ${o.text}` });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 409) err.message = 'Someone else has changed this case since you opened it. Reload the page to see what changed, then try again.';
      showApiError(err, { ...questions, deadline: choice, request_key: choice }, choice.focusId);
    }
  } },
  Object.values(questions).map((q) => q.el),
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Record the exception'));
  return [heading,
    h('details', { class: 'govuk-details', id: 'exception-details' },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Record an exception (managers)')),
      h('div', { class: 'govuk-details__text' },
        para('The statutory date does not move: the case is marked as one where an exception applies, as the DfE counts it.'),
        form))];
}

function deadlines(wf, c, today) {
  const title = (d) => wf.deadlines.find((x) => x.id === d.deadline)?.title || humanise(d.deadline);
  const rows = c.deadlines.map((d) => {
    const open = d.status === 'open' || d.status === 'overdue';
    const days = open ? daysBetween(today, d.due_on) : null;
    return [
      [title(d), d.key ? ` (${humanise(d.key)})` : ''],
      d.basis || '',
      h('span', { class: 'ehc-nowrap' }, dateText(d.due_on)),
      [statusTag(d.status, d.exception_applies), d.settled_on ? [h('br'), h('span', { class: 'govuk-body-s' }, `on ${dateText(d.settled_on)}`)] : ''],
      open ? [daysLeftText(days), h('br'), ragTag(days)] : '',
    ];
  });
  return rows.length
    ? table('Statutory dates', ['Date', 'Legal basis', 'Due', 'Status', 'Days left'], rows, { id: 'deadlines' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Statutory dates'), para('No statutory date has started yet.')];
}

function adviceRequests(c) {
  const rows = (c.advice_requests || []).map((a) => [
    humanise(a.adviser_type), humanise(a.request_key), dateText(a.received_by_adviser_on || a.sent_on), dateText(a.due_on),
    a.returned_on ? (a.nil_reason ? `Nil return on ${dateText(a.returned_on)}: ${humanise(a.nil_reason)}` : `Returned on ${dateText(a.returned_on)}`) : 'Outstanding',
  ]);
  return rows.length
    ? table('Advice requests', ['Adviser', 'Request', 'Received by adviser', 'Due', 'Outcome'], rows, { id: 'advice' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Advice requests'), para('No advice has been requested.')];
}

function exceptions(wf, c) {
  const def = (x) => wf.deadlines.find((d) => d.id === x.deadline);
  const rows = (c.exceptions || []).map((x) => [
    [def(x)?.title || humanise(x.deadline), x.key ? ` (${humanise(x.key)})` : ''],
    [def(x)?.exceptions?.find((e) => e.id === x.exception)?.title || humanise(x.exception), x.basis ? [h('br'), h('span', { class: 'govuk-body-s' }, x.basis)] : ''],
    [dateText(x.from_on), x.to_on ? ` to ${dateText(x.to_on)}` : ''],
    x.evidence || '',
    dateText(x.family_told_on),
  ]);
  return rows.length
    ? table('Exceptions to time limits', ['Date', 'Exception', 'Applies', 'Evidence', 'Family told on'], rows, { id: 'exceptions' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Exceptions to time limits'), para('No exception has been recorded.')];
}

function alerts(c) {
  const byId = new Map(c.deadlines.map((d) => [d.id, d]));
  const rows = (c.alerts || []).map((a) => [levelTag(a.level), humanise(byId.get(a.deadline_id)?.deadline || ''), dateText(a.fire_at), humanise(a.resolution ? `${a.status}: ${a.resolution}` : a.status)]);
  return rows.length
    ? table('Alerts', ['Alert', 'Statutory date', 'Raised on', 'Status'], rows, { id: 'alerts' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Alerts'), para('No alert has been raised.')];
}

// ---- letters (docs/letters.md): make a statutory letter from its template, download it, record it sent

const METHODS = [['hand', 'By hand'], ['email', 'Email'], ['first_class_post', 'First-class post'], ['signed_for', 'Signed for']];
// Items the case does not hold, given with the letter; the API names any the letter still lacks.
const LETTER_VALUES = [
  ['reasons', 'Reasons for the decision', 'For a refusal, a decision not to issue a plan, or ceasing'],
  ['setting_named', 'School or other institution named in section I', 'For the final plan notice'],
  ['proposed_amendments', 'The proposed amendments', 'For a notice of proposed amendments: what would change, section by section'],
  ['evidence_enclosed', 'Evidence enclosed with the notice', 'For a notice of proposed amendments: the reports or advice that support them'],
  ['la_contact', 'Who to contact at the authority', 'Name, address and telephone'],
  ['ias_contact', 'Information, advice and support service', 'The local SENDIASS and how to reach it'],
  ['mediation_adviser_contact', 'Mediation adviser', 'Name and contact details (every appealable decision)'],
];

function letterForm(c, notices) {
  const choices = [];
  for (const n of notices) for (const r of n.recipients) choices.push([`${n.id}|${r}`, `${n.title}: to ${humanise(r)}`]);
  const advice = (c.advice_requests || []).map((a) => [a.request_key, `${humanise(a.adviser_type)} (${a.request_key})`]);
  const questions = {
    notice: selectQuestion('letter-notice', 'Letter', choices, { hint: 'The notices of this process, each with who it is sent to' }),
    name: textQuestion('letter-recipient-name', 'Recipient\'s name', { autocomplete: 'off' }),
    address: textareaQuestion('letter-recipient-address', 'Recipient\'s address (optional)', { maxLength: 500 }),
    request_key: advice.length ? selectQuestion('letter-request_key', 'Advice request (for a request for advice)', advice) : null,
  };
  for (const [id, label, hint] of LETTER_VALUES) questions[`values.${id}`] = textareaQuestion(`letter-${id}`, `${label} (if the letter needs it)`, { hint, maxLength: 2000 });
  for (const k of Object.keys(questions)) if (!questions[k]) delete questions[k];
  const form = h('form', { novalidate: true, id: 'letter-form', onsubmit: async (e) => {
    e.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (!values.notice) errors.push({ text: 'Select the letter', focusId: questions.notice.focusId });
    if (!values.name) errors.push({ text: 'Enter the recipient\'s name', focusId: questions.name.focusId });
    if (errors.length) return showErrors(errors);
    const [notice, role] = values.notice.split('|');
    const body = { notice, recipient: { role, name: values.name } };
    if (values.address) body.recipient.address = values.address;
    if (values.request_key && notices.find((n) => n.id === notice)?.per_advice_request) body.request_key = values.request_key;
    const given = {};
    for (const [k, v] of Object.entries(values)) if (k.startsWith('values.')) given[k.slice(7)] = v;
    if (Object.keys(given).length) body.values = given;
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await api('POST', `/api/v1/cases/${c.id}/letters`, body);
      navigate(`/app/cases/${c.id}`, { replace: true, flash: 'Letter made: download it below, then record it as sent' });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      const missing = err.body?.missing;
      if (err.code === 'missing_items' && Array.isArray(missing)) {
        // each item the law requires and the letter lacks, by name, linked to its box where there is one
        return showErrors(missing.map((m) => {
          const known = LETTER_VALUES.find(([id]) => id === m);
          return { text: `The letter needs: ${known ? known[1].toLowerCase() : humanise(m.replace(/^(due|event):/, ''))}`, focusId: questions[`values.${m}`]?.focusId || questions.notice.focusId };
        }));
      }
      showApiError(err, { ...questions, 'recipient.name': questions.name, 'recipient.role': questions.notice, 'recipient.address': questions.address }, questions.notice.focusId);
    }
  } },
  Object.values(questions).map((q) => q.el),
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Make the letter'));
  return h('details', { class: 'govuk-details', id: 'letter-details' },
    h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Make a letter')),
    h('div', { class: 'govuk-details__text' },
      para('The letter is filled from the case. If it lacks something the law requires, you are told what.'), form));
}

function sentForm(c, l, label, today) {
  const prefix = `sent-${l.id}`;
  const questions = {
    method: radiosQuestion(`${prefix}-method`, 'How it was sent', METHODS),
    sent_at: dateQuestion(`${prefix}-sent_at`, 'When it was sent', { value: today, time: true }),
  };
  const idempotencyKey = crypto.randomUUID();
  const form = h('form', { novalidate: true, 'data-letter': l.id, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (!values.method) errors.push({ text: 'Select how it was sent', focusId: questions.method.focusId });
    if (!errors.length && !values.sent_at) errors.push({ text: 'Enter when it was sent', focusId: questions.sent_at.focusId });
    if (errors.length) return showErrors(errors);
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const r = await api('POST', `/api/v1/cases/${c.id}/letters/${l.id}/sent`, { method: values.method, sent_at: values.sent_at, expected_version: c.version }, { 'Idempotency-Key': idempotencyKey });
      navigate(`/app/cases/${c.id}`, { replace: true, flash: `Recorded as sent: ${label}, deemed received on ${dateText(r.served_on)}` });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'version_conflict') err.message = 'Someone else has changed this case since you opened it. Reload the page to see what changed, then try again.';
      showApiError(err, questions, questions.method.focusId);
    }
  } },
  Object.values(questions).map((q) => q.el),
  h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary', 'data-module': 'govuk-button' }, 'Record as sent'));
  return h('details', { class: 'govuk-details', id: `letter-sent-${l.id}` },
    h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Record as sent', h('span', { class: 'govuk-visually-hidden' }, `: ${label}`))),
    h('div', { class: 'govuk-details__text' }, form));
}

function letters(c, notices, list, today) {
  const heading = h('h2', { class: 'govuk-heading-m', id: 'letters' }, 'Letters');
  if (!notices || !list) return [heading, para('Letters cannot be shown just now.')];
  const mine = session.caseRoles(c);
  const canAct = c.status === 'open' && ['officer', 'manager', 'service_manager'].some((r) => mine.has(r));
  const ours = notices.filter((n) => n.workflows.includes(c.workflow_id));
  const title = (id) => notices.find((n) => n.id === id)?.title || humanise(id);
  const rows = list.map((l) => {
    const label = `${title(l.notice)} to ${l.recipient_name}`;
    return [
      title(l.notice),
      [humanise(l.recipient_role), h('br'), l.recipient_name],
      [dateText(l.generated_at), l.generated_by_name ? [h('br'), h('span', { class: 'govuk-body-s' }, `by ${l.generated_by_name}`)] : ''],
      l.sendings.length
        ? l.sendings.map((s) => h('p', { class: 'govuk-body-s' }, `${humanise(s.method || 'sent')} on ${dateText(s.sent_on)}; deemed received ${dateText(s.served_on)}`))
        : 'Not sent',
      [link(`/api/v1/cases/${c.id}/letters/${l.id}/pdf`, ['Download', h('span', { class: 'govuk-visually-hidden' }, ` ${label}`), ' (PDF)'], { download: '' }),
        canAct && sentForm(c, l, label, today)],
    ];
  });
  return [
    heading,
    rows.length
      ? table('Letters made for this case', ['Letter', 'To', 'Made', 'Sent', 'Actions'], rows, { id: 'letters-table', captionSize: 's' })
      : para('No letter has been made for this case.'),
    canAct && ours.length > 0 && letterForm(c, ours),
  ];
}

function timeline(wf, c) {
  const rows = [...c.events].reverse().map((e) => [
    h('span', { class: 'ehc-nowrap' }, dateText(e.effective_on)), eventTitle(wf, e.type), fieldsText(e.fields), humanise(e.actor_role),
  ]);
  return table('Timeline, latest first', ['Date', 'Event', 'Details', 'Recorded by'], rows, { id: 'timeline' });
}

export async function casePage({ params, flash }) {
  const [c, today, notices, letterList] = await Promise.all([
    api('GET', `/api/v1/cases/${params[0]}`), getToday(),
    api('GET', '/api/v1/notices').catch(() => null),
    api('GET', `/api/v1/cases/${params[0]}/letters`).catch(() => null)]);
  const wf = await getWorkflow(c.workflow_id);
  const stage = wf.stages.find((s) => s.id === c.stage);
  const child = c.child || {};
  const name = child.erased ? 'Erased record' : `${child.forename || ''} ${child.surname || ''}`.trim();
  return {
    title: `${c.reference}: ${name}`,
    body: [
      successBanner(flash),
      h('span', { class: 'govuk-caption-l' }, `Case ${c.reference}`),
      h('h1', { class: 'govuk-heading-l' }, name),
      summaryList([
        ['Date of birth', dateText(child.date_of_birth)],
        child.nhs_number && ['NHS number', child.nhs_number],
        ['Process', wf.title],
        ['Stage', stage?.title || humanise(c.stage)],
        ['Status', c.status === 'open' ? 'Open' : `Closed on ${dateText(c.closed_on)}`],
        ['Request received (Day 0)', dateText(c.opened_on)],
        ['Officer', c.officer_id === session.me.user.id ? 'You' : c.officer_id ? (c.officer_name || `Officer ${c.officer_id}`) : 'Not allocated'],
      ]),
      progress(wf, c),
      nextEvents(wf, c, today),
      exceptionForm(wf, c, today),
      deadlines(wf, c, today),
      adviceRequests(c),
      exceptions(wf, c),
      alerts(c),
      letters(c, notices, letterList, today),
      timeline(wf, c),
    ],
  };
}
