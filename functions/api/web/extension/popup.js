// HT Base extension popup: the server address and API key (kept in extension storage), then the current tab (or the
// URL the context menu passed as #url=) archived through the API on open, its progress polled until it is done.
/* global document, fetch, URLSearchParams, location, setTimeout */
const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);

const POLL_MS = 1000;
const POLL_LIMIT_MS = 5 * 60 * 1000;

async function settings() {
  const s = await api.storage.local.get(['server', 'key']);
  return s.server && s.key ? { server: s.server, key: s.key } : null;
}

async function call(s, path, init = {}) {
  let res;
  try {
    res = await fetch(`${s.server}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${s.key}`, Accept: 'application/json', ...(init.headers ?? {}) },
    });
  } catch {
    throw new Error(
      `Cannot reach ${s.server}. Is it running, and does it list this extension in ALLOWED_EXTENSION_IDS?`,
    );
  }
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new Error('The server refused the API key. Check it in the server settings.');
  if (!res.ok) throw new Error(body.detail || `The server answered ${res.status}.`);
  return body;
}

async function targetUrl() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('url');
  if (fromHash) return fromHash;
  const [tab] = await api.tabs.query({ active: true, currentWindow: true });
  return tab?.url ?? null;
}

function say(text) {
  $('progress').textContent = text;
}

function showFormats(artifacts) {
  const list = $('formats');
  list.replaceChildren(
    ...artifacts.map((a) => {
      const li = document.createElement('li');
      li.textContent = `${a.format}: ${a.status}${a.errorMessage ? ` (${a.errorMessage})` : ''}`;
      return li;
    }),
  );
}

async function archive(s, url) {
  const go = $('go');
  go.disabled = true;
  $('open').hidden = true;
  try {
    say('Sending to HT Base…');
    const sent = await call(s, '/archive', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    const link = $('open');
    link.href = `${s.server}/#/archives/${sent.id}`;
    link.hidden = false;
    const deadline = Date.now() + POLL_LIMIT_MS;
    for (;;) {
      const a = await call(s, `/archives/${sent.id}`);
      const done = a.artifacts.filter((x) => x.status === 'succeeded' || x.status === 'skipped').length;
      showFormats(a.artifacts);
      if (a.status === 'complete') return say(sent.deduplicated ? 'Archived (a recent snapshot)' : 'Archived');
      if (a.status === 'partial') return say('Archived, but some formats failed');
      if (a.status === 'failed') return say('The capture failed');
      if (Date.now() > deadline) return say('Still archiving; follow it in HT Base');
      say(`Archiving… ${done} of ${a.artifacts.length} formats done`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (err) {
    say(err.message);
  } finally {
    go.disabled = false;
  }
}

async function showArchive(s) {
  $('settings').hidden = true;
  $('archive').hidden = false;
  const url = await targetUrl();
  $('target').textContent = url ?? '';
  if (!url || !/^https?:\/\//i.test(url)) {
    $('go').disabled = true;
    return say('Only http and https pages can be archived.');
  }
  $('go').onclick = () => archive(s, url);
  // Opening the popup is the one click: archive at once (the server returns a recent snapshot instead of a twin).
  await archive(s, url);
}

function showSettings(current) {
  $('archive').hidden = true;
  $('settings').hidden = false;
  // The id the server's ALLOWED_EXTENSION_IDS needs is this page's origin host: Chrome's extension id, or in Firefox
  // the install's UUID (moz-extension://<uuid>), which runtime.id is not (it is the gecko id of the manifest).
  $('extid').textContent = new URL(api.runtime.getURL('/')).host;
  if (current) {
    $('server').value = current.server;
    $('key').value = current.key;
  }
  $('settings').onsubmit = async (ev) => {
    ev.preventDefault();
    $('settings-error').textContent = '';
    let server;
    try {
      server = new URL($('server').value.trim()).origin;
    } catch {
      $('settings-error').textContent = 'The server address must be a URL like https://archive.example.org';
      return;
    }
    const s = { server, key: $('key').value.trim() };
    try {
      await call(s, '/archives?limit=1');
    } catch (err) {
      $('settings-error').textContent = err.message;
      return;
    }
    await api.storage.local.set(s);
    await showArchive(s);
  };
}

$('change').onclick = async () => showSettings(await settings());
const s = await settings();
if (s) await showArchive(s);
else showSettings(null);
