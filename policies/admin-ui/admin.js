/* eidhub administration UI: the attribute-release policies of the requesters.
 *
 * A single page (index.html) talking to the JSON API of docs/admin-api.md
 * under /admin/api/ (relative URLs, so the page must be loaded as /admin/).
 * No framework, no inline code (the page's CSP allows only this file and
 * admin.css), no innerHTML: every outside value goes in as text. The CSRF
 * token of the session is kept in memory only and sent as X-CSRF-Token with
 * every POST. Views are chosen by the URL fragment: #/ (requesters) and
 * #/requester/<client_id> (the policy editor).
 *
 * Stable hooks for tests (ids unless noted):
 *   header      session-user ("alice (editor)"), logout, notice (messages such as "session ended")
 *   login       view-login, login-form, login-user, login-password, login-submit, login-error
 *   requesters  view-requesters, requesters (table); one row per requester:
 *               tr[data-requester="<client_id>"] with td.profile, td.version and a.open
 *   editor      view-editor, back, editor-title, editor-client-id, editor-version, editor-meta,
 *               viewer-note (shown to viewers)
 *     tabs      tab-form, tab-json, panel-form, panel-json
 *     form      policy-fields (the fieldset, disabled for viewers), f-profile, f-release-custom,
 *               release-list with div.attr[data-attribute="<name>"] holding
 *               input#rel-<name> (released when asked) and input#always-<name> (release_always),
 *               f-age-over + f-age-over-add (adds age_over_N), f-resident-of + f-resident-add,
 *               f-min-loa, f-methods, f-countries, f-subject-type, f-sector, f-consent;
 *               [data-member="<member>"] wraps each member's controls and gets class "invalid"
 *               when the validation error names that member
 *     json      raw-json (textarea), raw-json-error, effective-json (the resolved policy)
 *     checks    validation (class "ok" / "bad" / "checking"), validation-state, validation-error
 *     save      f-why, save, save-status, save-conflict (the 409 box), save-conflict-detail,
 *               reload-latest
 *   preview     preview-form, p-given-name, p-family-name, p-date-of-birth, p-country, p-scope,
 *               preview-run, preview-claims (table; tr[data-claim="<claim>"] > td.value holds the
 *               JSON value), preview-empty, preview-subject-type, preview-error (also
 *               "Refused: …" when the policy would not accept the sample citizen)
 *   history     history (list; li[data-version="<n>"] with button.diff and button.rollback),
 *               history-empty, diff, diff-title, diff-changes (tr[data-member="<member>"] with
 *               td.from and td.to), diff-none, rollback-form, rollback-version, rollback-why,
 *               rollback-confirm, rollback-cancel, rollback-status
 */
'use strict';

(function () {
  /* ------------------------------------------------------------ constants */

  /* The attribute names the release list offers (attributes/registry.c and
   * the derived ones of policies/policy.h). Names found in a policy that are
   * not listed here (age_over_21, is_resident_of_LV, future ones) get a row
   * of their own, so nothing is ever hidden from the administrator. */
  const ATTRIBUTE_GROUPS = [
    ['Natural person', [
      ['person_identifier', 'personal identifier'], ['given_name', 'given name'],
      ['family_name', 'family name'], ['date_of_birth', 'date of birth'],
      ['birth_name', 'birth name'], ['place_of_birth', 'place of birth'],
      ['current_address', 'address'], ['gender', 'gender'],
    ]],
    ['Derived', [
      ['age_over_18', 'at least 18 years old'], ['age_band', 'age range'], ['country', 'identity\'s country'],
    ]],
    ['Legal person', [
      ['legal_person_identifier', 'identifier'], ['legal_name', 'name'], ['legal_address', 'address'],
      ['vat_registration_number', 'VAT number'], ['tax_reference', 'tax reference'], ['lei', 'LEI'],
      ['eori', 'EORI'], ['seed', 'SEED'], ['sic', 'SIC'],
    ]],
  ];
  const MEMBERS = ['profile', 'release', 'release_always', 'min_loa', 'methods', 'countries',
    'subject_type', 'sector', 'consent'];
  const VALIDATE_DELAY_MS = 250;

  /* ------------------------------------------------------------ state */

  const state = {
    user: null, role: null, csrf: null,
    name: null,           // the requester being edited
    baseVersion: null,    // the version the edit started from (sent as base_version)
    loadedDoc: null,      // the document of that version
    doc: {},              // the document being edited (the form and the JSON show it)
    extra: {},            // members of doc the form does not know; kept as they are
    effective: null,      // the resolved policy of the last valid doc
    valid: false,
    conflict: false,      // a save was refused with 409: saving waits for a reload
    validateSeq: 0, validateTimer: null,
    previewSeq: 0, previewShown: false,
    extraAttributes: [],  // rows added to the release list beyond ATTRIBUTE_GROUPS
    history: [],
  };

  /* ------------------------------------------------------------ helpers */

  const $ = (id) => document.getElementById(id);

  /** A new element with attributes and children (strings become text). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function show(id, visible) { $(id).hidden = !visible; }

  function setText(id, text, cls) {
    const e = $(id);
    e.textContent = text || '';
    if (cls !== undefined) e.className = cls;
  }

  /** JSON with sorted keys: two documents with the same content compare equal. */
  function canonical(v) {
    if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
    if (v && typeof v === 'object') {
      return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
    }
    return JSON.stringify(v);
  }

  function display(v) {
    if (v === undefined || v === null) return '—';
    if (typeof v === 'string') return v;
    return JSON.stringify(v);
  }

  function displayName(dn, fallback) {
    if (typeof dn === 'string' && dn) return dn;
    if (dn && typeof dn === 'object') return dn.en || Object.values(dn).find((x) => typeof x === 'string') || fallback;
    return fallback;
  }

  function formatTime(at) {
    if (at === undefined || at === null || at === '') return '';
    const d = typeof at === 'number' ? new Date(at * 1000) : new Date(at);
    if (Number.isNaN(d.getTime())) return String(at);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function splitList(text, upper) {
    return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean).map((s) => (upper ? s.toUpperCase() : s));
  }

  function errorText(r) {
    if (r.data && typeof r.data === 'object') {
      return r.data.message || r.data.error || `HTTP ${r.status}`;
    }
    return r.status ? `HTTP ${r.status}` : 'The server could not be reached.';
  }

  const isEditor = () => state.role === 'editor';

  /* ------------------------------------------------------------ the API */

  /**
   * One API call. POSTs carry JSON and the CSRF token. Returns
   * {status, data}; status 0 when the network failed. A 401 (other than a
   * failed login) means the session ended: back to the login view.
   */
  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      if (state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
      opts.body = JSON.stringify(body === undefined ? {} : body);
    }
    let res;
    try {
      res = await fetch('api/' + path, opts);
    } catch (e) {
      return { status: 0, data: null };
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (res.status === 401 && path !== 'login') sessionEnded();
    return { status: res.status, data };
  }

  const q = (params) => new URLSearchParams(params).toString();

  /* ------------------------------------------------------------ session */

  function notice(text) {
    setText('notice', text);
    show('notice', !!text);
  }

  function setSession(s) {
    state.user = s ? s.user : null;
    state.role = s ? s.role : null;
    state.csrf = s ? s.csrf : null;
    show('session', !!s);
    setText('session-user', s ? `${s.user} (${s.role})` : '');
    document.body.classList.toggle('role-viewer', !!s && s.role !== 'editor');
  }

  function sessionEnded() {
    if (!state.user) return;
    setSession(null);
    notice('Your session has ended. Sign in again.');
    showView('view-login');
    $('login-user').focus();
  }

  async function login(ev) {
    ev.preventDefault();
    show('login-error', false);
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    if (!user || !password) {
      setText('login-error', 'Enter your user name and password.');
      show('login-error', true);
      return;
    }
    $('login-submit').disabled = true;
    const r = await api('POST', 'login', { user, password });
    $('login-submit').disabled = false;
    $('login-password').value = '';
    if (r.status === 200 && r.data && r.data.csrf) {
      setSession(r.data);
      notice('');
      route();
      return;
    }
    setText('login-error', r.status === 401 ? 'Wrong user name or password.' : `Could not sign in: ${errorText(r)}`);
    show('login-error', true);
    $('login-password').focus();
  }

  async function logout() {
    await api('POST', 'logout', {});
    setSession(null);
    state.name = null;
    notice('You have signed out.');
    showView('view-login');
  }

  /* ------------------------------------------------------------ views */

  function showView(id) {
    for (const v of ['view-login', 'view-requesters', 'view-editor']) show(v, v === id);
  }

  function route() {
    if (!state.user) { showView('view-login'); return; }
    const m = location.hash.match(/^#\/requester\/(.+)$/);
    if (m) openEditor(decodeURIComponent(m[1]));
    else showRequesters();
  }

  /* ------------------------------------------------------------ requesters */

  async function showRequesters() {
    state.name = null;
    document.title = 'Requesters · eidhub administration';
    showView('view-requesters');
    const tbody = $('requesters').tBodies[0];
    const r = await api('GET', 'requesters');
    if (r.status !== 200 || !Array.isArray(r.data)) {
      if (r.status !== 401) notice(`Could not load the requesters: ${errorText(r)}`);
      return;
    }
    tbody.replaceChildren(...r.data.map((rq) => {
      const policy = rq.policy || {};
      const name = displayName(rq.display_name, rq.client_id);
      return el('tr', { 'data-requester': rq.client_id },
        el('td', {}, name),
        el('td', {}, el('code', { text: rq.client_id })),
        el('td', { class: 'profile' }, policy.profile ? el('span', { class: 'badge', text: policy.profile }) : '—'),
        el('td', { class: 'version' }, String(policy.version ?? 0)),
        el('td', {}, el('a', {
          class: 'open', id: `open-${rq.client_id}`, href: '#/requester/' + encodeURIComponent(rq.client_id),
          'aria-label': `Open the policy of ${name}`, text: isEditor() ? 'Edit' : 'View',
        })));
    }));
    show('requesters-empty', r.data.length === 0);
  }

  /* ------------------------------------------------------------ editor: loading */

  async function openEditor(name) {
    showView('view-editor');
    const first = state.name !== name;
    state.name = name;
    if (first) resetEditor();
    applyRole();
    await Promise.all([loadPolicy(), loadHistory()]);
  }

  function resetEditor() {
    state.previewShown = false;
    state.extraAttributes = [];
    setText('editor-title', state.name);
    setText('editor-client-id', state.name);
    setText('save-status', '', '');
    setText('rollback-status', '', '');
    show('save-conflict', false);
    show('rollback-form', false);
    show('diff', false);
    show('preview-claims', false);
    show('preview-empty', false);
    show('preview-subject', false);
    show('preview-error', false);
    $('f-why').value = '';
    selectTab('form', false);
  }

  function applyRole() {
    const viewer = !isEditor();
    show('viewer-note', viewer);
    $('policy-fields').disabled = viewer;
    $('raw-json').readOnly = viewer;
    $('f-why').disabled = viewer;
    updateSaveButton();
    for (const b of document.querySelectorAll('#history button.rollback')) b.disabled = viewer;
  }

  /** Loads the requester's current policy into the editor (dropping unsaved edits). */
  async function loadPolicy() {
    const name = state.name;
    const r = await api('GET', 'policy?' + q({ name }));
    if (name !== state.name) return;
    if (r.status !== 200 || !r.data) {
      if (r.status !== 401) notice(`Could not load the policy of ${name}: ${errorText(r)}`);
      return;
    }
    notice('');
    const p = r.data;
    state.baseVersion = p.version;
    state.conflict = false;
    show('save-conflict', false);
    state.loadedDoc = (p.document && typeof p.document === 'object') ? p.document : {};
    state.effective = p.effective || null;
    setText('editor-version', String(p.version));
    const meta = p.meta || {};
    setText('editor-meta', p.version > 0
      ? `saved by ${meta.by || '?'} ${formatTime(meta.at)}${meta.why ? ` — “${meta.why}”` : ''}`
      : '(the profile the registration names)');
    // the display name comes from the list; fetch it once if we came here directly
    api('GET', 'requesters').then((rr) => {
      if (rr.status === 200 && Array.isArray(rr.data) && name === state.name) {
        const rq = rr.data.find((x) => x.client_id === name);
        if (rq) {
          setText('editor-title', displayName(rq.display_name, name));
          document.title = `${displayName(rq.display_name, name)} · eidhub administration`;
        }
      }
    });
    state.extraAttributes = [];
    renderReleaseList();
    setDoc(JSON.parse(JSON.stringify(state.loadedDoc)), 'load');
  }

  /* ------------------------------------------------------------ editor: the form */

  function knownAttribute(name) {
    return ATTRIBUTE_GROUPS.some(([, list]) => list.some(([n]) => n === name)) || state.extraAttributes.includes(name);
  }

  function addAttributeRow(name) {
    if (!knownAttribute(name)) state.extraAttributes.push(name);
  }

  function describeExtra(name) {
    let m = name.match(/^age_over_(\d+)$/);
    if (m) return `at least ${m[1]} years old`;
    m = name.match(/^is_resident_of_([A-Z]{2})$/);
    if (m) return `identity's country is ${m[1]}`;
    return '';
  }

  function attributeRow(name, label) {
    const rel = el('input', { type: 'checkbox', class: 'rel', id: `rel-${name}`, 'data-attribute': name });
    const alw = el('input', { type: 'checkbox', class: 'alw', id: `always-${name}`, 'data-attribute': name });
    return el('div', { class: 'attr', 'data-attribute': name, title: label || null },
      el('label', { for: rel.id }, rel, el('span', { class: 'name', text: name }),
        label ? el('span', { class: 'sr-only', text: ` (${label})` }) : null),
      el('label', { class: 'always', for: alw.id }, alw, 'always', el('span', { class: 'sr-only', text: ` (${name})` })));
  }

  /** Builds the release list: the known attributes, then the extra ones. */
  function renderReleaseList() {
    const groups = [];
    for (const [title, attrs] of ATTRIBUTE_GROUPS) {
      const rows = attrs.map(([name, label]) => attributeRow(name, label));
      if (title === 'Derived') {
        for (const name of state.extraAttributes) rows.push(attributeRow(name, describeExtra(name)));
      }
      if (title === 'Legal person') {
        // rarely used: folded unless something in it is ticked
        groups.push(el('details', { class: 'attr-group', id: 'release-legal' },
          el('summary', { class: 'attr-group-title', text: `${title} (${attrs.length})` }),
          el('div', { class: 'attr-grid' }, ...rows)));
      } else {
        groups.push(el('div', { class: 'attr-group' }, el('div', { class: 'attr-group-title', text: title }),
          el('div', { class: 'attr-grid' }, ...rows)));
      }
    }
    $('release-list').replaceChildren(...groups);
  }

  /** Ticks the release list from release/release_always and enables it when custom. */
  function showRelease(release, always, custom) {
    for (const name of [...release, ...always]) {
      if (typeof name === 'string' && !knownAttribute(name)) state.extraAttributes.push(name);
    }
    const existing = new Set([...document.querySelectorAll('#release-list .attr')].map((r) => r.dataset.attribute));
    if (!state.extraAttributes.every((n) => existing.has(n)) || existing.size === 0) renderReleaseList();
    const rs = new Set(release);
    const as = new Set(always);
    for (const row of document.querySelectorAll('#release-list .attr')) {
      const name = row.dataset.attribute;
      const rel = row.querySelector('input.rel');
      const alw = row.querySelector('input.alw');
      rel.checked = rs.has(name);
      alw.checked = as.has(name);
      rel.disabled = !custom;
      alw.disabled = !custom || !rel.checked;
      row.classList.toggle('on', rel.checked || alw.checked);
    }
    const legal = $('release-legal');
    if (legal && legal.querySelector('input:checked')) legal.open = true;
    $('release-list').classList.toggle('inherited', !custom);
    $('f-release-custom').checked = custom;
    setText('release-hint', custom
      ? 'Ticked: released when the requester asks for it. “always”: released even unasked (release_always).'
      : 'Showing what the profile releases. Tick the box above to choose other attributes.');
  }

  function setSelect(id, value) {
    const s = $(id);
    const v = value === undefined || value === null ? '' : String(value);
    if (![...s.options].some((o) => o.value === v)) s.append(el('option', { value: v, text: v }));
    s.value = v;
  }

  /** Puts doc into the form controls. Tolerates anything (the JSON view accepts any text). */
  function toForm(doc) {
    const eff = state.effective || {};
    setSelect('f-profile', typeof doc.profile === 'string' ? doc.profile : '');
    const custom = Array.isArray(doc.release) || Array.isArray(doc.release_always);
    const strings = (a) => (Array.isArray(a) ? a.filter((x) => typeof x === 'string') : []);
    // extra rows live as long as the document (or what it inherits) names them
    const named = new Set([...strings(doc.release), ...strings(doc.release_always),
      ...strings(eff.release), ...strings(eff.release_always)]);
    const keep = state.extraAttributes.filter((n) => named.has(n));
    if (keep.length !== state.extraAttributes.length) {
      state.extraAttributes = keep;
      renderReleaseList();
    }
    if (custom) showRelease(strings(doc.release), strings(doc.release_always), true);
    else showRelease(strings(eff.release), strings(eff.release_always), false);
    setSelect('f-min-loa', typeof doc.min_loa === 'string' ? doc.min_loa : '');
    setSelect('f-subject-type', typeof doc.subject_type === 'string' ? doc.subject_type : '');
    setSelect('f-consent', typeof doc.consent === 'boolean' ? String(doc.consent) : '');
    $('f-methods').value = strings(doc.methods).join(', ');
    $('f-countries').value = strings(doc.countries).join(', ');
    $('f-sector').value = typeof doc.sector === 'string' ? doc.sector : '';
    state.extra = {};
    for (const [k, v] of Object.entries(doc)) if (!MEMBERS.includes(k)) state.extra[k] = v;
    showDefaults();
  }

  /** The "(profile's: …)" texts of members the document leaves to its profile. */
  function showDefaults() {
    const eff = state.effective || {};
    setText('effective-json', state.effective ? JSON.stringify(state.effective, null, 2) : '');
    const label = (v) => (v === undefined || v === null || v === '' ? 'none' : display(v));
    const defaults = { 'f-min-loa': eff.min_loa, 'f-subject-type': eff.subject_type,
      'f-consent': eff.consent === undefined ? undefined : (eff.consent ? 'yes' : 'no') };
    for (const [id, v] of Object.entries(defaults)) {
      const o = $(id).querySelector('option[data-default]');
      o.textContent = v === undefined ? '(profile’s)' : `(profile’s: ${label(v)})`;
    }
    const list = (a) => (Array.isArray(a) && a.length ? a.join(', ') : 'all');
    $('f-methods').placeholder = list(eff.methods);
    $('f-countries').placeholder = list(eff.countries);
    $('f-sector').placeholder = eff.sector ? eff.sector : 'this requester';
    if (!$('f-release-custom').checked) {
      const strings = (a) => (Array.isArray(a) ? a : []);
      showRelease(strings(eff.release), strings(eff.release_always), false);
    }
  }

  /** The document the form describes (members in schema order, unknown ones kept). */
  function fromForm() {
    const d = {};
    const profile = $('f-profile').value;
    if (profile) d.profile = profile;
    if ($('f-release-custom').checked) {
      const rows = [...document.querySelectorAll('#release-list .attr')];
      d.release = rows.filter((r) => r.querySelector('input.rel').checked).map((r) => r.dataset.attribute);
      d.release_always = rows.filter((r) => r.querySelector('input.rel').checked && r.querySelector('input.alw').checked)
        .map((r) => r.dataset.attribute);
    }
    if ($('f-min-loa').value) d.min_loa = $('f-min-loa').value;
    const methods = splitList($('f-methods').value, false);
    if (methods.length) d.methods = methods;
    const countries = splitList($('f-countries').value, true);
    if (countries.length) d.countries = countries;
    if ($('f-subject-type').value) d.subject_type = $('f-subject-type').value;
    const sector = $('f-sector').value.trim();
    if (sector) d.sector = sector;
    if ($('f-consent').value) d.consent = $('f-consent').value === 'true';
    return Object.assign(d, state.extra);
  }

  /** Makes doc the edited document; from says who changed it ('form', 'raw', 'load'). */
  function setDoc(doc, from) {
    state.doc = doc;
    if (from !== 'form') toForm(doc);
    if (from !== 'raw') {
      $('raw-json').value = JSON.stringify(doc, null, 2);
      show('raw-json-error', false);
    }
    updateSaveButton();
    scheduleValidate(from === 'load' ? 0 : VALIDATE_DELAY_MS);
  }

  function formChanged(ev) {
    const t = ev && ev.target;
    if (t && t.id === 'f-release-custom' && t.checked) {
      // start from what applies now
      const eff = state.effective || {};
      showRelease(Array.isArray(eff.release) ? eff.release : [], Array.isArray(eff.release_always) ? eff.release_always : [], true);
    } else if (t && t.id === 'f-release-custom') {
      showDefaults();
    } else if (t && t.classList && t.classList.contains('rel')) {
      const alw = $(`always-${t.dataset.attribute}`);
      if (!t.checked) alw.checked = false;
      alw.disabled = !t.checked;
      t.closest('.attr').classList.toggle('on', t.checked);
    }
    if (t && t.id === 'f-profile' && !$('f-release-custom').checked) {
      // the inherited release is the new profile's: shown once validation answers
      $('release-list').classList.add('inherited');
    }
    setDoc(fromForm(), 'form');
  }

  function addDerived(name, input) {
    if (!$('f-release-custom').checked) {
      const eff = state.effective || {};
      showRelease(Array.isArray(eff.release) ? eff.release : [], Array.isArray(eff.release_always) ? eff.release_always : [], true);
    }
    addAttributeRow(name);
    renderReleaseKeep();
    const rel = $(`rel-${name}`);
    rel.checked = true;
    $(`always-${name}`).disabled = false;
    rel.closest('.attr').classList.add('on');
    input.value = input.id === 'f-age-over' ? input.value : '';
    setDoc(fromForm(), 'form');
    rel.focus();
  }

  /** Re-renders the release list keeping what is ticked. */
  function renderReleaseKeep() {
    const doc = fromForm();
    renderReleaseList();
    showRelease(doc.release || [], doc.release_always || [], true);
  }

  function addAgeOver() {
    const n = Number($('f-age-over').value);
    if (!Number.isInteger(n) || n < 1 || n > 150) {
      showValidation('bad', 'Age over: a whole number from 1 to 150.');
      $('f-age-over').focus();
      return;
    }
    addDerived(`age_over_${n}`, $('f-age-over'));
  }

  function addResident() {
    const c = $('f-resident-of').value.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(c)) {
      showValidation('bad', 'Resident of: a two-letter country code such as EE.');
      $('f-resident-of').focus();
      return;
    }
    addDerived(`is_resident_of_${c}`, $('f-resident-of'));
  }

  function rawChanged() {
    const text = $('raw-json').value;
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      setText('raw-json-error', `Not valid JSON: ${e.message}`);
      show('raw-json-error', true);
      state.valid = false;
      state.validateSeq++;
      showValidation('bad', 'The JSON text cannot be read (see below it).');
      updateSaveButton();
      return;
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      setText('raw-json-error', 'The policy must be a JSON object: { ... }.');
      show('raw-json-error', true);
      state.valid = false;
      state.validateSeq++;
      showValidation('bad', '$: must be an object');
      updateSaveButton();
      return;
    }
    show('raw-json-error', false);
    setDoc(doc, 'raw');
  }

  /* ------------------------------------------------------------ editor: validation */

  function scheduleValidate(delay) {
    clearTimeout(state.validateTimer);
    state.valid = false;
    state.validateSeq++;
    showValidation('checking', '');
    updateSaveButton();
    state.validateTimer = setTimeout(validateNow, delay);
  }

  function showValidation(kind, error) {
    const box = $('validation');
    box.className = `validation ${kind}`;
    setText('validation-state', { ok: 'Valid', bad: 'Invalid', checking: 'Checking…' }[kind] || '');
    setText('validation-error', error || '');
    for (const r of document.querySelectorAll('#release-list .attr.invalid')) r.classList.remove('invalid');
    for (const f of document.querySelectorAll('#policy-form [data-member]')) {
      f.classList.remove('invalid');
      for (const c of f.querySelectorAll('input, select')) c.removeAttribute('aria-invalid');
    }
    if (kind !== 'bad' || !error) return;
    // "$.release[2]: unknown attribute" names the member: mark its field
    const m = error.match(/^\$\.([A-Za-z_][A-Za-z0-9_]*)/);
    if (!m) return;
    const member = m[1] === 'release_always' ? 'release' : m[1];
    // "$.release[2]": the third name of that list; mark its row too
    const item = error.match(/^\$\.(release|release_always)\[(\d+)\]/);
    const list = item && state.doc[item[1]];
    const name = Array.isArray(list) ? list[Number(item[2])] : undefined;
    if (typeof name === 'string') {
      const row = document.querySelector(`#release-list .attr[data-attribute="${CSS.escape(name)}"]`);
      if (row) row.classList.add('invalid');
    }
    const field = document.querySelector(`#policy-form [data-member="${CSS.escape(member)}"]`);
    if (field) {
      field.classList.add('invalid');
      for (const c of field.querySelectorAll(':scope > select, :scope > input')) {
        c.setAttribute('aria-invalid', 'true');
        c.setAttribute('aria-errormessage', 'validation-error');
      }
    }
  }

  async function validateNow() {
    const seq = ++state.validateSeq;
    const doc = state.doc;
    const r = await api('POST', 'validate', { document: doc });
    if (seq !== state.validateSeq) return; // something changed meanwhile
    if (r.status === 200 && r.data && r.data.valid) {
      state.valid = true;
      state.effective = r.data.effective || state.effective;
      showValidation('ok', '');
      showDefaults();
      if (state.previewShown) runPreview();
    } else if (r.status === 422 && r.data) {
      state.valid = false;
      showValidation('bad', r.data.error || r.data.message || 'invalid');
    } else if (r.status !== 401) {
      state.valid = false;
      showValidation('bad', `Could not check it: ${errorText(r)}`);
    }
    updateSaveButton();
  }

  /* ------------------------------------------------------------ editor: saving */

  const dirty = () => state.loadedDoc !== null && canonical(state.doc) !== canonical(state.loadedDoc);

  function updateSaveButton() {
    const b = $('save');
    b.disabled = !isEditor() || !state.valid || !dirty() || state.conflict;
    b.title = !isEditor() ? 'Viewers cannot save' : state.conflict ? 'Load the latest version first'
      : !dirty() ? 'Nothing changed' : !state.valid ? 'Fix the policy first' : '';
  }

  async function save(ev) {
    ev.preventDefault();
    if (!isEditor()) return;
    const why = $('f-why').value.trim();
    show('save-conflict', false);
    if (!why) {
      setText('save-status', 'Say why you change it (1 to 500 characters): it is kept with the version.', 'bad');
      $('f-why').focus();
      return;
    }
    const name = state.name;
    const base = state.baseVersion;
    $('save').disabled = true;
    setText('save-status', 'Saving…', '');
    const r = await api('POST', 'policy?' + q({ name }), { document: state.doc, why, base_version: base });
    if (name !== state.name) return;
    if (r.status === 201 && r.data) {
      $('f-why').value = '';
      await Promise.all([loadPolicy(), loadHistory()]);
      setText('save-status', `Saved as version ${r.data.version}. New logins get it within a second.`, 'ok');
      showDiff(r.data.version);
      return;
    }
    updateSaveButton();
    if (r.status === 409) {
      await showConflict(base);
      setText('save-status', '', '');
    } else if (r.status === 422) {
      setText('save-status', `Not saved: ${errorText(r)}`, 'bad');
    } else if (r.status === 403) {
      setText('save-status', `Not saved: your account may not change policies (${errorText(r)}).`, 'bad');
    } else if (r.status !== 401) {
      setText('save-status', `Not saved: ${errorText(r)}`, 'bad');
    }
  }

  async function showConflict(base) {
    const h = await api('GET', 'history?' + q({ name: state.name }));
    let detail = `You started from version ${base}, which is no longer the current one.`;
    if (h.status === 200 && Array.isArray(h.data) && h.data.length) {
      const latest = h.data[0];
      detail = `Version ${latest.version} was saved by ${latest.by || 'someone'} ${formatTime(latest.at)}` +
        `${latest.why ? ` (“${latest.why}”)` : ''} after you opened version ${base}. ` +
        'Your changes were not saved. Load the latest version and make them again ' +
        '(copy them from the JSON tab first if you need them).';
      renderHistory(h.data);
    }
    setText('save-conflict-detail', detail);
    show('save-conflict', true);
    state.conflict = true;
    updateSaveButton();
    $('reload-latest').focus();
  }

  /* ------------------------------------------------------------ editor: preview */

  async function runPreview(ev) {
    if (ev) ev.preventDefault();
    state.previewShown = true;
    const identity = {};
    for (const [id, member] of [['p-given-name', 'given_name'], ['p-family-name', 'family_name'],
      ['p-date-of-birth', 'date_of_birth'], ['p-country', 'country']]) {
      const v = $(id).value.trim();
      if (v) identity[member] = member === 'country' ? v.toUpperCase() : v;
    }
    const seq = ++state.previewSeq;
    const r = await api('POST', 'preview', { name: state.name, document: state.doc, identity, scope: $('p-scope').value.trim() });
    if (seq !== state.previewSeq) return;
    const tbody = $('preview-claims').tBodies[0];
    if (r.status !== 200 || !r.data || typeof r.data.claims !== 'object' || r.data.claims === null) {
      if (r.status === 401) return;
      setText('preview-error', `No preview: ${errorText(r)}`);
      show('preview-error', true);
      show('preview-claims', false);
      show('preview-empty', false);
      show('preview-subject', false);
      return;
    }
    // "refused": the policy would not accept this citizen at all (country, method, level)
    setText('preview-error', r.data.refused ? `Refused: ${r.data.refused}` : '');
    show('preview-error', !!r.data.refused);
    const claims = Object.entries(r.data.claims);
    tbody.replaceChildren(...claims.map(([k, v]) => el('tr', { 'data-claim': k },
      el('th', { scope: 'row' }, el('code', { text: k })),
      el('td', { class: 'value', text: JSON.stringify(v) }))));
    show('preview-claims', claims.length > 0);
    show('preview-empty', claims.length === 0 && !r.data.refused);
    setText('preview-subject-type', r.data.subject_type || '');
    show('preview-subject', !!r.data.subject_type);
  }

  /* ------------------------------------------------------------ editor: history */

  async function loadHistory() {
    const name = state.name;
    const r = await api('GET', 'history?' + q({ name }));
    if (name !== state.name) return;
    if (r.status !== 200 || !Array.isArray(r.data)) {
      if (r.status !== 401) notice(`Could not load the history: ${errorText(r)}`);
      return;
    }
    renderHistory(r.data);
  }

  function renderHistory(entries) {
    state.history = entries;
    const current = entries.length ? entries[0].version : 0;
    const rows = entries.map((e) => historyRow(e.version, e.by, e.at, e.why, e.version === current));
    rows.push(historyRow(0, null, null, 'the profile the registration names', current === 0));
    $('history').replaceChildren(...rows);
    show('history-empty', entries.length === 0);
  }

  function historyRow(version, by, at, why, current) {
    const who = version === 0 ? 'registration' : `${by || '?'} · ${formatTime(at)}`;
    return el('li', { 'data-version': version, class: current ? 'current' : null },
      el('span', { class: 'v', text: `v${version}`, title: current ? 'current version' : null }),
      el('div', { class: 'who' }, el('div', { text: who + (current ? ' · current' : '') }),
        why ? el('div', { class: 'why', text: why }) : null),
      el('div', { class: 'actions' },
        version > 0 ? el('button', { type: 'button', class: 'small diff', 'aria-label': `Changes in version ${version}`,
          text: 'Changes', onclick: () => showDiff(version) }) : null,
        current ? null : el('button', { type: 'button', class: 'small rollback', disabled: !isEditor(),
          'aria-label': `Roll back to version ${version}`, text: 'Roll back', onclick: () => startRollback(version) })));
  }

  /** Shows what version changed, against the version before it. */
  async function showDiff(version) {
    const older = state.history.map((e) => e.version).filter((v) => v < version);
    const from = older.length ? Math.max(...older) : 0;
    const r = await api('GET', 'diff?' + q({ name: state.name, from, to: version }));
    show('diff', true);
    setText('diff-title', `Changes from version ${from} to version ${version}`);
    const tbody = $('diff-changes').tBodies[0];
    if (r.status !== 200 || !r.data || !Array.isArray(r.data.changes)) {
      tbody.replaceChildren();
      show('diff-changes', false);
      setText('diff-none', `Could not compare: ${errorText(r)}`);
      show('diff-none', true);
      return;
    }
    tbody.replaceChildren(...r.data.changes.map((c) => el('tr', { 'data-member': c.member },
      el('th', { scope: 'row' }, el('code', { text: c.member })),
      diffCell('from', c.from, c.to), diffCell('to', c.to, c.from))));
    show('diff-changes', r.data.changes.length > 0);
    setText('diff-none', 'No differences.');
    show('diff-none', r.data.changes.length === 0);
  }

  /** One side of a change: lists item by item, what the other side lacks marked. */
  function diffCell(side, value, other) {
    const td = el('td', { class: `value ${side}` });
    if (!Array.isArray(value)) {
      td.append(el('div', { class: side === 'from' ? 'removed' : 'added', text: display(value) }));
      return td;
    }
    if (value.length === 0) td.append(el('span', { class: 'muted', text: '(none)' }));
    const others = new Set(Array.isArray(other) ? other.map(display) : []);
    for (const item of value) {
      const changed = !others.has(display(item));
      td.append(el('div', { class: changed ? (side === 'from' ? 'removed' : 'added') : null },
        el('span', { class: 'mark', 'aria-hidden': 'true', text: changed ? (side === 'from' ? '−' : '+') : '' }),
        changed ? el('span', { class: 'sr-only', text: side === 'from' ? 'removed: ' : 'added: ' }) : null,
        display(item)));
    }
    return td;
  }

  function startRollback(version) {
    setText('rollback-version', String(version));
    $('rollback-form').dataset.version = String(version);
    $('rollback-why').value = '';
    setText('rollback-status', '', '');
    show('rollback-form', true);
    $('rollback-why').focus();
  }

  async function rollback(ev) {
    ev.preventDefault();
    const version = Number($('rollback-form').dataset.version);
    const why = $('rollback-why').value.trim();
    if (!why) {
      setText('rollback-status', 'Say why (1 to 500 characters).', 'bad');
      $('rollback-why').focus();
      return;
    }
    $('rollback-confirm').disabled = true;
    const r = await api('POST', 'rollback?' + q({ name: state.name }), { version, why });
    $('rollback-confirm').disabled = false;
    if (r.status === 201 && r.data) {
      show('rollback-form', false);
      await Promise.all([loadPolicy(), loadHistory()]);
      setText('save-status', `Rolled back to version ${version}: saved as version ${r.data.version}.`, 'ok');
      showDiff(r.data.version);
    } else if (r.status !== 401) {
      setText('rollback-status', `Not rolled back: ${errorText(r)}`, 'bad');
    }
  }

  /* ------------------------------------------------------------ tabs */

  function selectTab(which, focus) {
    for (const t of ['form', 'json']) {
      const on = t === which;
      const tab = $(`tab-${t}`);
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      show(`panel-${t}`, on);
      if (on && focus) tab.focus();
    }
  }

  function tabKeys(ev) {
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      selectTab(ev.target.id === 'tab-form' ? 'json' : 'form', true);
      ev.preventDefault();
    }
  }

  /* ------------------------------------------------------------ start */

  async function start() {
    renderReleaseList();
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('policy-form').addEventListener('change', formChanged);
    $('policy-form').addEventListener('input', (ev) => {
      if (ev.target.matches('input[type=text]') && !['f-age-over', 'f-resident-of'].includes(ev.target.id)) formChanged(ev);
    });
    $('policy-form').addEventListener('submit', (ev) => ev.preventDefault());
    $('f-age-over-add').addEventListener('click', addAgeOver);
    $('f-resident-add').addEventListener('click', addResident);
    for (const [input, add] of [['f-age-over', addAgeOver], ['f-resident-of', addResident]]) {
      $(input).addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); add(); } });
      $(input).addEventListener('change', (ev) => ev.stopPropagation());
    }
    $('raw-json').addEventListener('input', rawChanged);
    $('save-form').addEventListener('submit', save);
    $('reload-latest').addEventListener('click', async () => {
      show('save-conflict', false);
      await Promise.all([loadPolicy(), loadHistory()]);
      setText('save-status', `Loaded version ${state.baseVersion}.`, '');
    });
    $('preview-form').addEventListener('submit', runPreview);
    $('rollback-form').addEventListener('submit', rollback);
    $('rollback-cancel').addEventListener('click', () => show('rollback-form', false));
    $('tab-form').addEventListener('click', () => selectTab('form'));
    $('tab-json').addEventListener('click', () => selectTab('json'));
    $('tab-form').addEventListener('keydown', tabKeys);
    $('tab-json').addEventListener('keydown', tabKeys);
    window.addEventListener('hashchange', route);

    const r = await api('GET', 'session');
    if (r.status === 200 && r.data && r.data.csrf) setSession(r.data);
    route();
    if (!state.user) $('login-user').focus();
  }

  document.addEventListener('DOMContentLoaded', start);
}());
