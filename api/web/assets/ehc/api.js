// The JSON API with the session cookie (HttpOnly: this code never sees it) and the CSRF token
// that every state-changing request must send as X-CSRF-Token. The token comes with sign-in; it is
// kept in localStorage so that another tab of the same session can act too, and cleared at sign-out.

const CSRF_KEY = 'ehc.csrf';

export class ApiError extends Error {
  constructor(status, error, body) {
    super(error?.message || `the service answered ${status}`);
    this.status = status;
    this.body = body || null;
    this.code = error?.code || 'error';
    this.field = error?.field || null;
  }
}

export function setCsrf(token) {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = localStorage.getItem(CSRF_KEY) || '';
  const init = { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) };
  // a read, or a write with an Idempotency-Key, is tried once more after a network error (a keep-alive
  // connection the server closed as it was reused): the second try cannot do anything twice
  const retry = method === 'GET' || 'Idempotency-Key' in headers;
  let r;
  for (let attempt = 0; !r; attempt++) {
    try {
      r = await fetch(path, init);
    } catch {
      if (!retry || attempt > 0) throw new ApiError(0, { code: 'network', message: 'The service cannot be reached. Check your connection and try again.' });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  if (r.status === 204) return null;
  let json = null;
  try { json = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new ApiError(r.status, json?.error, json);
  return json;
}

// "Today" as ehcd sees it: the simulated clock when it runs on one (tests, demonstrations), else
// the civil date in England.
export async function today() {
  try {
    const c = await api('GET', '/admin/clock');
    if (c?.today) return c.today;
  } catch { /* no simulated clock */ }
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

const workflows = new Map();
export async function workflow(id) {
  if (!workflows.has(id)) workflows.set(id, api('GET', `/api/v1/workflows/${encodeURIComponent(id)}`));
  try {
    return await workflows.get(id);
  } catch (e) {
    workflows.delete(id);
    throw e;
  }
}
