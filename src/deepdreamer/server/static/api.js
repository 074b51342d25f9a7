// The HTTP client for /work/contract.md: relative URLs only (the page's own origin).
// Every failure becomes an ApiError whose message is the server's one-line `detail`.

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The one line to show for a non-2xx answer: `detail` (FastAPI's list form joined), else the status. */
async function detailOf(response) {
  let detail = null;
  try {
    const body = await response.json();
    detail = body && body.detail;
  } catch {
    /* not JSON */
  }
  if (Array.isArray(detail)) {
    // FastAPI's own validation errors: [{loc: [...], msg: "..."}]
    detail = detail
      .map((d) => (d && d.msg ? `${(d.loc || []).filter((x) => x !== 'body').join('.')}: ${d.msg}` : String(d)))
      .join('; ');
  } else if (detail && typeof detail === 'object') {
    detail = JSON.stringify(detail);
  }
  if (!detail) {
    const fallback = {
      400: 'the server refused these settings',
      404: 'not found',
      409: 'not finished yet',
      413: 'the upload is too large',
      415: 'that file is not an image',
      429: 'the queue is full; try again when a job finishes',
    };
    detail = fallback[response.status] || `the server answered ${response.status} ${response.statusText}`.trim();
  }
  return String(detail);
}

async function request(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', ...options });
  } catch {
    throw new ApiError('cannot reach the deepdreamer server (is `deepdreamer serve` still running?)', 0);
  }
  if (!response.ok) throw new ApiError(await detailOf(response), response.status);
  return response;
}

/** GET a JSON document. */
export async function getJSON(url) {
  const response = await request(url, { headers: { Accept: 'application/json' } });
  return response.json();
}

/** GET a file as a Blob (the sample photo, a result's source photo, a mask). */
export async function getBlob(url) {
  const response = await request(url);
  return response.blob();
}

/** POST a FormData (multipart) or nothing; the JSON answer, or null for an empty one. */
export async function post(url, body = undefined) {
  const response = await request(url, { method: 'POST', body, headers: { Accept: 'application/json' } });
  return jsonOrNull(response);
}

/** DELETE; null (204) or the JSON answer. */
export async function del(url) {
  const response = await request(url, { method: 'DELETE', headers: { Accept: 'application/json' } });
  return jsonOrNull(response);
}

async function jsonOrNull(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const enc = encodeURIComponent;

/** The contract's URLs in one place. */
export const urls = {
  info: '/api/info',
  sample: '/api/sample',
  layers: (model) => `/api/models/${enc(model)}/layers`,
  labels: (model) => `/api/models/${enc(model)}/labels`,
  guide: (model, layer) => `/api/models/${enc(model)}/layers/${enc(layer)}/guide.jpg`,
  jobs: '/api/jobs',
  job: (id) => `/api/jobs/${enc(id)}`,
  events: (id, after = 0) => `/api/jobs/${enc(id)}/events${after ? `?after=${after}` : ''}`,
  cancel: (id) => `/api/jobs/${enc(id)}/cancel`,
  results: '/api/results',
  result: (id) => `/api/results/${enc(id)}`,
  mask: (id) => `/api/results/${enc(id)}/mask`,
};
