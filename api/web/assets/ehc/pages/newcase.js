// Opening a case from a new request (POST /api/v1/cases): the child, the team, and the fields of the
// workflow's opening event, generated from its definition like every other event form. A likely
// duplicate child is shown, and the officer confirms it is a different child before going on.
import { api, ApiError, today as getToday, workflow as getWorkflow } from '../api.js';
import { h, para, link } from '../dom.js';
import { textQuestion, dateQuestion, radiosQuestion, fieldQuestion, readQuestions, showErrors, showApiError, clearErrors } from '../forms.js';
import { navigate, session } from '../main.js';

const WORKFLOW = 'ehc-needs-assessment';

export async function newCasePage() {
  const [wf, today] = await Promise.all([getWorkflow(WORKFLOW), getToday()]);
  const opening = wf.events.find((e) => e.opens_case);
  const teams = (session.me.grants || []).filter((g) => g.team_id && (g.role === 'officer' || g.role === 'manager'));
  if (!teams.length) {
    return { title: 'Open a case', body: [h('h1', { class: 'govuk-heading-l' }, 'Open a case'), para('Only officers and managers of a team can open a case.')] };
  }
  const questions = {
    'child.forename': textQuestion('child-forename', 'First name', { autocomplete: 'off', width: 20 }),
    'child.surname': textQuestion('child-surname', 'Last name', { autocomplete: 'off', width: 20 }),
    'child.date_of_birth': dateQuestion('child-dob', 'Date of birth', { hint: 'For example, 11 3 2018' }),
    'child.nhs_number': textQuestion('child-nhs', 'NHS number (optional)', { width: 10, hint: '10 digits, for example 943 476 5919' }),
  };
  if (teams.length > 1) questions.team_id = radiosQuestion('team', 'Team', teams.map((g) => [String(g.team_id), `Team ${g.team_id}`]));
  for (const f of opening.fields) questions[`fields.${f.id}`] = fieldQuestion(f, 'request', { today });
  questions.effective_on = dateQuestion('request-effective_on', 'Date the request was registered', { value: today });
  const confirm = h('div', { class: 'govuk-form-group', hidden: true, id: 'confirm-group' },
    h('div', { class: 'govuk-checkboxes', 'data-module': 'govuk-checkboxes' },
      h('div', { class: 'govuk-checkboxes__item' },
        h('input', { class: 'govuk-checkboxes__input', id: 'confirm-new-child', type: 'checkbox' }),
        h('label', { class: 'govuk-label govuk-checkboxes__label', for: 'confirm-new-child' }, 'I have checked: this is a different child'))));
  const dupList = h('div', { id: 'duplicates' });
  const form = h('form', { novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    for (const [k, label] of [['child.forename', 'Enter the child\'s first name'], ['child.surname', 'Enter the child\'s last name'], ['child.date_of_birth', 'Enter the child\'s date of birth']]) {
      if (!values[k] && !errors.some((e) => e.focusId === questions[k].focusId)) errors.push({ text: label, focusId: questions[k].focusId });
    }
    if (teams.length > 1 && !values.team_id) errors.push({ text: 'Select the team', focusId: questions.team_id.focusId });
    if (errors.length) return showErrors(errors);
    const child = {};
    const fields = {};
    for (const [k, v] of Object.entries(values)) {
      if (k.startsWith('child.')) child[k.slice(6)] = k === 'child.nhs_number' ? v.replace(/\s+/g, '') : v;
      if (k.startsWith('fields.')) fields[k.slice(7)] = v;
    }
    const body = {
      team_id: Number(values.team_id || teams[0].team_id),
      child,
      request: { effective_on: values.effective_on, fields },
    };
    if (session.has('officer')) body.officer_id = session.me.user.id;
    if (document.getElementById('confirm-new-child').checked) body.confirm_new_child = true;
    try {
      const r = await api('POST', '/api/v1/cases', body);
      navigate(`/app/cases/${r.id}`, { flash: 'Case opened' });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'possible_duplicate') {
        confirm.hidden = false;
        dupList.replaceChildren(h('h2', { class: 'govuk-heading-m' }, 'This child may already be known'),
          para('A child with the same details is already recorded. Check the cases below before you go on.'));
        return showErrors([{ text: 'Check whether this child is already known, then confirm it is a different child', focusId: 'confirm-new-child' }]);
      }
      showApiError(err, questions, questions['child.forename'].focusId);
    }
  } },
  h('h2', { class: 'govuk-heading-m' }, 'The child or young person'),
  questions['child.forename'].el, questions['child.surname'].el, questions['child.date_of_birth'].el, questions['child.nhs_number'].el,
  questions.team_id?.el,
  h('h2', { class: 'govuk-heading-m' }, 'The request'),
  h('p', { class: 'govuk-body' }, opening.title),
  opening.fields.map((f) => questions[`fields.${f.id}`].el),
  questions.effective_on.el,
  dupList, confirm,
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Open the case'));
  return {
    title: 'Open a case',
    body: [
      h('div', { class: 'govuk-grid-row' }, h('div', { class: 'govuk-grid-column-two-thirds' },
        h('h1', { class: 'govuk-heading-l' }, 'Open a case from a new request'),
        para('The statutory dates start from the day the request is deemed received, worked out from how and when it arrived.'),
        form,
        para(link('/app/cases', 'Back to the caseload')))),
    ],
  };
}
