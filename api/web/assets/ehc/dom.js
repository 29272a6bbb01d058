// Building the page from data without innerHTML: every text from the API becomes a text node, so
// nothing a user typed can ever run as markup (and the CSP forbids inline script anyway).

// h('a', {href: '/x', class: 'govuk-link'}, 'text', child, [more]) -> an element
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// GOV.UK components used on more than one page

export function tag(text, colour) {
  return h('strong', { class: `govuk-tag${colour ? ` govuk-tag--${colour}` : ''}` }, text);
}

export function summaryList(rows) {
  return h('dl', { class: 'govuk-summary-list' },
    rows.filter(Boolean).map(([key, value]) =>
      h('div', { class: 'govuk-summary-list__row' },
        h('dt', { class: 'govuk-summary-list__key' }, key),
        h('dd', { class: 'govuk-summary-list__value' }, value ?? ''))));
}

// table(caption, ['Col', ...], [[cell, ...], ...], {numeric: [2]})
export function table(caption, head, rows, opts = {}) {
  const numeric = new Set(opts.numeric || []);
  return h('table', { class: 'govuk-table', id: opts.id },
    h('caption', { class: `govuk-table__caption govuk-table__caption--${opts.captionSize || 'm'}` }, caption),
    h('thead', { class: 'govuk-table__head' },
      h('tr', { class: 'govuk-table__row' },
        head.map((c, i) => h('th', { scope: 'col', class: `govuk-table__header${numeric.has(i) ? ' govuk-table__header--numeric' : ''}` }, c)))),
    h('tbody', { class: 'govuk-table__body' },
      rows.map((r) => h('tr', { class: 'govuk-table__row' },
        r.map((c, i) => i === 0 && opts.rowHeaders
          ? h('th', { scope: 'row', class: 'govuk-table__header' }, c)
          : h('td', { class: `govuk-table__cell${numeric.has(i) ? ' govuk-table__cell--numeric' : ''}` }, c))))));
}

export function link(href, text, attrs = {}) {
  return h('a', { href, class: 'govuk-link', ...attrs }, text);
}

export function button(text, attrs = {}) {
  return h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button', ...attrs }, text);
}

export function inset(...children) {
  return h('div', { class: 'govuk-inset-text' }, children);
}

export function para(...children) {
  return h('p', { class: 'govuk-body' }, children);
}

// The success banner shown after an action (role=alert: announced when it appears).
export function successBanner(text) {
  if (!text) return null;
  return h('div', { class: 'govuk-notification-banner govuk-notification-banner--success', role: 'alert', 'aria-labelledby': 'flash-title', 'data-module': 'govuk-notification-banner' },
    h('div', { class: 'govuk-notification-banner__header' }, h('h2', { class: 'govuk-notification-banner__title', id: 'flash-title' }, 'Success')),
    h('div', { class: 'govuk-notification-banner__content' }, h('p', { class: 'govuk-notification-banner__heading' }, text)));
}
