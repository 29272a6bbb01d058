// The advice inbox (GET /api/v1/advice-requests): for a DCO, the health requests addressed or
// forwarded to their service; for officers and managers, their teams'. Grouped as overdue, due soon
// and outstanding; each opens a form to log the return or a nil return with its reason.
import { api, ApiError, today as getToday } from '../api.js';
import { h, successBanner, link, table, para, summaryList } from '../dom.js';
import { dateText, daysBetween, daysLeftText, humanise, ragTag, AMBER_DAYS } from '../format.js';
import { dateQuestion, radiosQuestion, textareaQuestion, readQuestions, showErrors, showApiError, clearErrors } from '../forms.js';
import { navigate } from '../main.js';

function childName(a) {
  return a.child ? `${a.child.forename || ''} ${a.child.surname || ''}`.trim() : '';
}

function group(caption, list, today, id) {
  if (!list.length) return [h('h2', { class: 'govuk-heading-m' }, caption), para('None.')];
  return table(caption, ['Child', 'Case', 'Adviser', 'Due', 'Days left', 'Status'], list.map((a) => {
    const days = a.due_on ? daysBetween(today, a.due_on) : null;
    return [
      link(`/app/advice/${a.id}`, childName(a) || `Request ${a.id}`, { 'aria-label': `Log the advice for ${childName(a)}, case ${a.case_reference}` }),
      a.case_reference, humanise(a.adviser), dateText(a.due_on), daysLeftText(days), ragTag(days),
    ];
  }), { id });
}

export async function advicePage({ flash }) {
  const [list, today] = await Promise.all([api('GET', '/api/v1/advice-requests'), getToday()]);
  const days = (a) => (a.due_on ? daysBetween(today, a.due_on) : Infinity);
  const overdue = list.filter((a) => days(a) < 0);
  const soon = list.filter((a) => days(a) >= 0 && days(a) <= AMBER_DAYS);
  const rest = list.filter((a) => days(a) > AMBER_DAYS);
  return {
    title: 'Advice requests',
    body: [
      successBanner(flash),
      h('h1', { class: 'govuk-heading-l' }, 'Advice requests'),
      para(`Today is ${dateText(today)}. Advice is due 6 weeks from the day the adviser received the request (SEND Regulations 2014, reg 8(1)).`),
      group(`Overdue (${overdue.length})`, overdue, today, 'advice-overdue'),
      group(`Due within ${AMBER_DAYS} days (${soon.length})`, soon, today, 'advice-soon'),
      group(`Outstanding (${rest.length})`, rest, today, 'advice-outstanding'),
      list.length ? para(link('/api/v1/advice-requests?format=csv', 'Download these advice requests (CSV)')) : null,
    ],
  };
}

export async function adviceReturnPage({ params }) {
  const [list, today] = await Promise.all([api('GET', '/api/v1/advice-requests?status=all'), getToday()]);
  const a = list.find((x) => String(x.id) === params[0]);
  if (!a) throw new ApiError(404, { code: 'not_found', message: 'no such advice request' });
  const questions = {
    outcome: radiosQuestion('outcome', 'What has come back?', [['return', 'The advice'], ['nil', 'A nil return: there is no advice to give']]),
    effective_on: dateQuestion('effective_on', 'Date it was sent back', { value: today }),
    reason: radiosQuestion('reason', 'Reason for a nil return (only for a nil return)', [['not_known_to_the_service', 'Not known to the service'], ['no_current_involvement', 'No current involvement'], ['other', 'Other']]),
    detail: textareaQuestion('detail', 'More detail about a nil return (optional)', { maxLength: 500 }),
  };
  const form = h('form', { novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (!values.outcome) errors.unshift({ text: 'Select what has come back', focusId: questions.outcome.focusId });
    if (!values.effective_on && !errors.some((e) => e.focusId === questions.effective_on.focusId)) errors.push({ text: 'Enter the date it was sent back', focusId: questions.effective_on.focusId });
    if (values.outcome === 'nil' && !values.reason) errors.push({ text: 'Select the reason for the nil return', focusId: questions.reason.focusId });
    if (errors.length) return showErrors(errors);
    const nil = values.outcome === 'nil';
    const body = { effective_on: values.effective_on };
    if (nil) {
      body.reason = values.reason;
      if (values.detail) body.detail = values.detail;
    }
    try {
      await api('POST', `/api/v1/advice-requests/${a.id}/${nil ? 'nil-return' : 'return'}`, body);
      navigate('/app/advice', { flash: `${nil ? 'Nil return' : 'Advice return'} logged for ${childName(a)} (${a.case_reference})` });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showApiError(err, questions, questions.outcome.focusId);
    }
  } },
  Object.values(questions).map((q) => q.el),
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Log it'));
  return {
    title: `Log advice for ${a.case_reference}`,
    body: h('div', { class: 'govuk-grid-row' }, h('div', { class: 'govuk-grid-column-two-thirds' },
      h('span', { class: 'govuk-caption-l' }, `Case ${a.case_reference}`),
      h('h1', { class: 'govuk-heading-l' }, `Log the advice for ${childName(a)}`),
      summaryList([
        ['Child', childName(a)],
        a.child?.date_of_birth && ['Date of birth', dateText(a.child.date_of_birth)],
        ['Adviser', humanise(a.adviser)],
        a.organisation_name && ['Service', a.organisation_name],
        ['Received by the adviser', dateText(a.received_by_adviser_on)],
        ['Due', dateText(a.due_on)],
        ['Status', a.returned_on ? `Returned on ${dateText(a.returned_on)}` : 'Outstanding'],
      ]),
      a.returned_on ? para('This request has been answered already.') : form,
      para(link('/app/advice', 'Back to advice requests')))),
  };
}
