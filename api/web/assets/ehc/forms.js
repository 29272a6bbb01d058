// Forms built from data: the fields of a workflow event (types, values, required) become GOV.UK
// questions, and errors (the browser's own checks, or a 4xx from the API naming a field) become an
// error summary whose links lead to each field, with the message beside the field too.
import { ErrorSummary } from '/assets/govuk/govuk-frontend.min.js';
import { h, clear } from './dom.js';
import { humanise } from './format.js';

let uid = 0;
const nextId = (base) => `${base}-${++uid}`;

// ---- questions --------------------------------------------------------------------------------------

function group(control, { id, label, hint, legend, asFieldset }) {
  const hintId = hint ? `${id}-hint` : null;
  const g = h('div', { class: 'govuk-form-group', 'data-field-group': id });
  if (asFieldset) {
    const fs = h('fieldset', { class: 'govuk-fieldset', role: asFieldset === 'group' ? 'group' : null, 'aria-describedby': hintId },
      h('legend', { class: 'govuk-fieldset__legend govuk-fieldset__legend--s' }, legend || label),
      hint && h('div', { class: 'govuk-hint', id: hintId }, hint),
      control);
    g.append(fs);
  } else {
    g.append(h('label', { class: 'govuk-label govuk-label--s', for: id }, label));
    if (hint) g.append(h('div', { class: 'govuk-hint', id: hintId }, hint));
    g.append(control);
    if (hintId) control.setAttribute('aria-describedby', hintId);
  }
  return g;
}

export function textQuestion(id, label, { hint, value, autocomplete, type = 'text', width, spellcheck } = {}) {
  const input = h('input', { class: `govuk-input${width ? ` govuk-input--width-${width}` : ''}`, id, name: id, type, autocomplete, spellcheck: spellcheck === false ? 'false' : null });
  if (value !== undefined) input.value = value;
  return { el: group(input, { id, label, hint }), focusId: id, read: () => input.value.trim() };
}

export function textareaQuestion(id, label, { hint, maxLength } = {}) {
  const ta = h('textarea', { class: 'govuk-textarea', id, name: id, rows: 3, maxlength: maxLength || null });
  return { el: group(ta, { id, label, hint }), focusId: id, read: () => ta.value.trim() };
}

export function radiosQuestion(id, label, options, { hint, inline } = {}) {
  const radios = h('div', { class: `govuk-radios${inline ? ' govuk-radios--inline' : ''}`, 'data-module': 'govuk-radios' },
    options.map(([value, text], i) => {
      const rid = i === 0 ? id : `${id}-${i + 1}`;
      return h('div', { class: 'govuk-radios__item' },
        h('input', { class: 'govuk-radios__input', id: rid, name: id, type: 'radio', value }),
        h('label', { class: 'govuk-label govuk-radios__label', for: rid }, text));
    }));
  const el = group(radios, { id, label, hint, asFieldset: true });
  return { el, focusId: id, read: () => el.querySelector('input:checked')?.value ?? '' };
}

export function selectQuestion(id, label, options, { hint } = {}) {
  const sel = h('select', { class: 'govuk-select', id, name: id },
    h('option', { value: '' }, 'Choose one'),
    options.map(([value, text]) => h('option', { value }, text)));
  return { el: group(sel, { id, label, hint }), focusId: id, read: () => sel.value };
}

// A GOV.UK date input (day, month, year); read() gives "YYYY-MM-DD", "" when empty, or throws a message.
export function dateQuestion(id, label, { hint = 'For example, 27 3 2026', value, time } = {}) {
  const part = (name, text, width) => h('div', { class: 'govuk-date-input__item' },
    h('div', { class: 'govuk-form-group' },
      h('label', { class: 'govuk-label govuk-date-input__label', for: `${id}-${name}` }, text),
      h('input', { class: `govuk-input govuk-date-input__input govuk-input--width-${width}`, id: `${id}-${name}`, name: `${id}-${name}`, type: 'text', inputmode: 'numeric' })));
  const control = h('div', { class: 'govuk-date-input', id },
    part('day', 'Day', 2), part('month', 'Month', 2), part('year', 'Year', 4));
  const parts = [];
  parts.push(control);
  let timeInput = null;
  if (time) {
    timeInput = h('input', { class: 'govuk-input govuk-input--width-5', id: `${id}-time`, name: `${id}-time`, type: 'text', inputmode: 'numeric', 'aria-describedby': `${id}-time-hint` });
    parts.push(h('div', { class: 'govuk-form-group ehc-time' },
      h('label', { class: 'govuk-label', for: `${id}-time` }, 'Time'),
      h('div', { class: 'govuk-hint', id: `${id}-time-hint` }, 'In 24-hour time, for example 17:40'),
      timeInput));
  }
  const el = group(parts, { id, label, hint, asFieldset: 'group' });
  const [d, m, y] = ['day', 'month', 'year'].map((n) => control.querySelector(`#${id}-${n}`));
  if (value) {
    const [yy, mm, dd] = value.split('-');
    y.value = yy; m.value = String(Number(mm)); d.value = String(Number(dd));
  }
  const read = () => {
    if (!d.value.trim() && !m.value.trim() && !y.value.trim() && (!timeInput || !timeInput.value.trim())) return '';
    const [dd, mm, yy] = [d, m, y].map((x) => x.value.trim());
    if (!/^\d{1,2}$/.test(dd) || !/^\d{1,2}$/.test(mm) || !/^\d{4}$/.test(yy)) throw new Error(`${label} must be a real date`);
    const iso = `${yy}-${mm.padStart(2, '0')}-${dd.padStart(2, '0')}`;
    const t = new Date(`${iso}T00:00:00Z`);
    if (Number.isNaN(t.getTime()) || t.toISOString().slice(0, 10) !== iso) throw new Error(`${label} must be a real date`);
    if (!timeInput) return iso;
    const tm = /^(\d{1,2})[:.](\d{2})$/.exec(timeInput.value.trim());
    if (!tm || Number(tm[1]) > 23 || Number(tm[2]) > 59) throw new Error(`Enter the time ${label.toLowerCase()} as hours and minutes, for example 17:40`);
    return `${iso}T${tm[1].padStart(2, '0')}:${tm[2]}`;
  };
  return { el, focusId: `${id}-day`, read };
}

// ---- a workflow event's fields ----------------------------------------------------------------------

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
}

// One question per field of the event, by its type. Returns {el, focusId, read() -> value | undefined}.
export function fieldQuestion(field, prefix, { today } = {}) {
  const id = `${prefix}-${field.id}`;
  const label = field.title || humanise(field.id);
  const optional = field.required ? '' : ' (optional)';
  let q;
  switch (field.type) {
    case 'enum': {
      const opts = field.values.map((v) => [v, humanise(v)]);
      q = opts.length <= 6 ? radiosQuestion(id, label + optional, opts) : selectQuestion(id, label + optional, opts);
      break;
    }
    case 'bool':
      q = radiosQuestion(id, label + optional, [['true', 'Yes'], ['false', 'No']], { inline: true });
      break;
    case 'date':
      q = dateQuestion(id, label + optional, { value: field.required ? today : undefined });
      break;
    case 'datetime':
      q = dateQuestion(id, label + optional, { time: true });
      break;
    case 'int':
      q = textQuestion(id, label + optional, { width: 10, hint: field.min !== undefined ? `A whole number from ${field.min} to ${field.max}` : undefined });
      break;
    case 'id':
      q = textQuestion(id, label + optional, { width: 20, hint: 'A short name of letters, numbers and hyphens, for example oak-primary', spellcheck: false });
      break;
    default:
      q = textareaQuestion(id, label + optional, { maxLength: field.max_length });
  }
  const read = () => {
    const v = q.read();
    if (v === '') {
      if (field.required) throw new Error(field.type === 'enum' || field.type === 'bool' ? `Select ${label.toLowerCase()}` : `Enter ${label.toLowerCase()}`);
      return undefined;
    }
    if (field.type === 'bool') return v === 'true';
    if (field.type === 'int') {
      if (!/^-?\d+$/.test(v)) throw new Error(`${label} must be a whole number`);
      return Number(v);
    }
    if (field.type === 'id') {
      const s = slug(v);
      if (!s) throw new Error(`${label} must have letters or numbers`);
      return s;
    }
    return v;
  };
  return { el: q.el, focusId: q.focusId, read, field };
}

// ---- errors ----------------------------------------------------------------------------------------

// Shows the errors: a summary at the top of the main content, linked to each field, and the message
// above each field. errors: [{text, focusId}]
export function showErrors(errors) {
  clearErrors();
  // in the order of the page's questions
  const pos = (e) => document.getElementById(e.focusId);
  errors = [...errors].sort((a, b) => {
    const x = pos(a); const y = pos(b);
    if (!x || !y) return 0;
    return x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
  });
  const slot = document.getElementById('error-summary-slot');
  const summary = h('div', { class: 'govuk-error-summary', 'data-module': 'govuk-error-summary' },
    h('div', { role: 'alert' },
      h('h2', { class: 'govuk-error-summary__title' }, 'There is a problem'),
      h('div', { class: 'govuk-error-summary__body' },
        h('ul', { class: 'govuk-list govuk-error-summary__list' },
          errors.map((e) => h('li', {}, e.focusId ? h('a', { href: `#${e.focusId}` }, e.text) : e.text))))));
  slot.append(summary);
  for (const e of errors) {
    const input = e.focusId && document.getElementById(e.focusId);
    const g = input?.closest('[data-field-group]');
    if (!g) continue;
    g.classList.add('govuk-form-group--error');
    const msgId = nextId('error');
    const msg = h('p', { class: 'govuk-error-message', id: msgId, 'data-ehc-error': '' },
      h('span', { class: 'govuk-visually-hidden' }, 'Error: '), e.text);
    const anchor = g.querySelector('.govuk-hint') || g.querySelector('legend, label');
    anchor.after(msg);
    for (const i of g.querySelectorAll('input, select, textarea')) {
      if (i.type !== 'radio') i.classList.add(i.tagName === 'SELECT' ? 'govuk-select--error' : i.tagName === 'TEXTAREA' ? 'govuk-textarea--error' : 'govuk-input--error');
      i.setAttribute('aria-describedby', `${i.getAttribute('aria-describedby') || ''} ${msgId}`.trim());
    }
  }
  document.title = `Error: ${document.title.replace(/^Error: /, '')}`;
  new ErrorSummary(summary); // focuses the summary; its links move focus to the field
}

export function clearErrors() {
  const slot = document.getElementById('error-summary-slot');
  if (slot) clear(slot);
  for (const g of document.querySelectorAll('.govuk-form-group--error')) g.classList.remove('govuk-form-group--error');
  for (const m of document.querySelectorAll('[data-ehc-error]')) m.remove();
  for (const i of document.querySelectorAll('.govuk-input--error, .govuk-select--error, .govuk-textarea--error')) {
    i.classList.remove('govuk-input--error', 'govuk-select--error', 'govuk-textarea--error');
  }
  document.title = document.title.replace(/^Error: /, '');
}

// Reads every question; errors name their field. Returns {values, errors}.
export function readQuestions(questions) {
  const values = {};
  const errors = [];
  for (const [name, q] of Object.entries(questions)) {
    try {
      const v = q.read();
      if (v !== undefined && v !== '') values[name] = v;
    } catch (e) {
      errors.push({ text: e.message, focusId: q.focusId });
    }
  }
  return { values, errors };
}

// An API error as an error summary: linked to the field it names when the form has it.
export function showApiError(err, questions, fallbackFocusId) {
  const name = (err.field || '').replace(/^(fields|child|request)\./, '');
  const q = questions[err.field] || questions[name];
  showErrors([{ text: sentence(err.message), focusId: q ? q.focusId : fallbackFocusId }]);
}

function sentence(text) {
  const s = String(text || 'Something went wrong');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
