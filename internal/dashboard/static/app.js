// plumb's dashboard: pages drawn from the JSON API under /api/v1, redrawn
// when the finding stream (/api/v1/stream) says something changed.
// Everything is built with DOM nodes and textContent: no value from a
// cluster is ever read as HTML.

const page = document.getElementById('page');
const ROWS = 500; // rows drawn before "Show all"

// h builds an element: h('a', {href: '#/'}, 'text', child, …).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, opts) {
  const resp = await fetch('/api/v1/' + path, Object.assign({credentials: 'same-origin', headers: {Accept: 'application/json'}}, opts));
  if (resp.status === 401) { location.href = '/login'; throw new Error('signed out'); }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.message || resp.statusText);
  return body;
}

const badge = (s) => h('span', {class: 'badge ' + s}, s);
const q = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v)).toString();
const findingLink = (f) => h('a', {href: '#/object/' + encodeURIComponent(f.id || f.findingId), class: 'obj'}, objName(f));
const objName = (f) => (f.namespace ? f.namespace + '/' : '') + f.name;
// userName is who made a change, or who may have when several people wrote
// with its field manager.
const userName = (u) => u.name || (u.candidates && u.candidates.length ? 'one of ' + u.candidates.join(', ') : '');
const clusterLink = (name) => h('a', {href: '#/cluster/' + encodeURIComponent(name)}, name);

function ago(t) {
  if (!t) return '—';
  const s = Math.max(0, (Date.now() - new Date(t).getTime()) / 1000);
  const text = s < 60 ? Math.round(s) + 's ago' : s < 3600 ? Math.round(s / 60) + 'm ago' : s < 86400 ? Math.round(s / 3600) + 'h ago' : Math.round(s / 86400) + 'd ago';
  return h('time', {datetime: t, title: new Date(t).toLocaleString()}, text);
}

function value(v) {
  if (v === undefined) return h('span', {class: 'muted'}, '—');
  return h('code', {}, typeof v === 'string' ? v : JSON.stringify(v));
}

function delta(rl) {
  if (!rl || !Object.keys(rl).length) return h('span', {class: 'muted'}, '—');
  return h('span', {class: 'delta'}, Object.entries(rl).map(([k, v], i) =>
    h('span', {class: String(v).startsWith('-') ? 'minus' : 'plus'}, (i ? ', ' : '') + k + ' ' + (String(v).startsWith('-') ? v : '+' + v))));
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const money = (m) => m === undefined || m === null ? '' : (m < 0 ? '−' : '') + '$' + Math.abs(m).toFixed(2) + '/month';

// table draws items as rows, at most ROWS of them until "Show all": row
// builds one item's <tr>, only for the items drawn.
function table(headers, items, row, opts = {}) {
  const body = h('tbody');
  const limit = opts.all ? items.length : opts.rows || ROWS;
  items.slice(0, limit).forEach((it) => body.append(row(it)));
  const t = h('table', {class: opts.class}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {class: x.startsWith('#') ? 'num' : ''}, x.replace(/^#/, ''))))), body);
  if (items.length > limit) {
    return h('div', {}, t, h('p', {}, h('button', {class: 'more', onclick: (ev) => ev.target.closest('div').replaceWith(table(headers, items, row, Object.assign({}, opts, {all: true})))},
      `Show all ${items.length} (${items.length - limit} more)`)));
  }
  if (!items.length) body.append(h('tr', {}, h('td', {colspan: headers.length, class: 'muted'}, opts.empty || 'Nothing here.')));
  return t;
}

const card = (k, v, cls) => h('div', {class: 'card ' + (cls || '')}, h('div', {class: 'v'}, v), h('div', {class: 'k'}, k));

// ---- pages ---------------------------------------------------------------

// Fleet: every cluster with its status and counts; filter by label.
async function fleet(params) {
  const [cl, cost] = await Promise.all([api('clusters'), api('cost?items=false')]);
  const filter = params.get('labels') || '';
  const want = filter.split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.split('='));
  const match = (c) => want.every(([k, v]) => c.labels && (v === undefined ? k in c.labels : c.labels[k] === v));
  const costBy = Object.fromEntries(cost.clusters.map((t) => [t.cluster, t]));
  const items = cl.items.filter(match);
  const sum = (k) => items.reduce((n, c) => n + (c[k] || 0), 0);
  const input = h('input', {type: 'search', id: 'label-filter', placeholder: 'Filter by label: env=prod,region=eu', value: filter});
  input.addEventListener('change', () => { location.hash = '#/?' + q({labels: input.value}); });
  return h('div', {},
    h('h1', {}, 'Fleet'),
    h('div', {class: 'cards'},
      card('clusters', items.length), card('drifted', sum('drifted'), 'drifted'), card('missing', sum('missing')),
      card('unmanaged', sum('unmanaged')),
      card('drift asks for', cost.fleet.workloads ? delta(cost.fleet.resourceDelta) : 'nothing more'),
      cost.fleet.monthly !== undefined ? card('a month', money(cost.fleet.monthly)) : null),
    h('div', {class: 'toolbar'}, input, h('span', {class: 'muted'}, `${items.length} of ${cl.items.length} clusters`)),
    table(['Cluster', 'Status', '#Drifted', '#Missing', '#Unmanaged', '#Coverage', 'Last scan', 'Labels', 'Drift asks for'],
      items, (c) => h('tr', {'data-cluster': c.name},
        h('td', {}, clusterLink(c.name)),
        h('td', {}, badge(c.status), c.error ? h('div', {class: 'muted'}, c.error) : null,
          c.sourceErrors ? h('div', {class: 'error source-errors'}, plural(c.sourceErrors.length, 'source error')) : null),
        h('td', {class: 'num drifted'}, c.drifted || 0), h('td', {class: 'num missing'}, c.missing || 0), h('td', {class: 'num unmanaged'}, c.unmanaged || 0),
        h('td', {class: 'num'}, c.coverage === undefined ? '—' : Math.round(c.coverage * 100) + '%'),
        h('td', {}, ago(c.lastScan)),
        h('td', {}, Object.entries(c.labels || {}).map(([k, v]) => h('code', {class: 'label'}, k + '=' + v + ' '))),
        h('td', {}, costBy[c.name] ? delta(costBy[c.name].resourceDelta) : '—')),
      {empty: 'No cluster matches.'}));
}

// sourceErrors says what the last load of a cluster's sources found wrong
// and how many declarations it kept as they last loaded; nothing when they
// load cleanly.
function sourceErrors(c) {
  if (!c.sourceErrors) return null;
  const kept = c.keptDeclarations ? ` ${plural(c.keptDeclarations, 'declaration')} kept as last loaded until the source is fixed.` : '';
  return h('div', {class: 'error source-errors'},
    h('p', {}, `The sources do not load cleanly: ${plural(c.sourceErrors.length, 'error')}.${kept}`),
    h('ul', {}, c.sourceErrors.map((e) => h('li', {}, h('code', {}, [e.path, e.line].filter(Boolean).join(':')), ' ', e.object ? e.object + ': ' : '', e.message))));
}

// Cluster: its findings, each linking to its object.
async function clusterPage(params, name) {
  const [cl, fs] = await Promise.all([api('clusters'), api('findings?' + q({cluster: name}))]);
  const c = cl.items.find((x) => x.name === name);
  if (!c) return h('div', {}, h('h1', {}, 'No cluster ' + name), h('a', {href: '#/'}, 'Back to the fleet'));
  const text = (params.get('q') || '').toLowerCase();
  const items = fs.items.filter((f) => !text || (f.kind + ' ' + objName(f) + ' ' + f.state).toLowerCase().includes(text));
  const input = h('input', {type: 'search', placeholder: 'Filter objects', value: params.get('q') || ''});
  input.addEventListener('change', () => { location.hash = '#/cluster/' + encodeURIComponent(name) + '?' + q({q: input.value}); });
  return h('div', {},
    h('h1', {}, 'Cluster ', name, ' ', badge(c.status)),
    c.error ? h('p', {class: 'error'}, c.error) : null,
    sourceErrors(c),
    h('div', {class: 'cards'}, card('declared objects', c.objects), card('drifted', c.drifted || 0), card('missing', c.missing || 0),
      card('unmanaged', c.unmanaged || 0), card('coverage', c.coverage === undefined ? '—' : Math.round(c.coverage * 100) + '%'), card('last scan', ago(c.lastScan))),
    h('div', {class: 'toolbar'}, input, h('span', {class: 'muted'}, `${items.length} findings`)),
    table(['Object', 'Kind', 'State', 'Changed fields', 'Changed by', 'Last change', 'Requests'],
      items, (f) => h('tr', {'data-id': f.id},
        h('td', {}, findingLink(f)), h('td', {}, f.kind), h('td', {}, badge(f.state)),
        h('td', {}, (f.changes || []).slice(0, 3).map((x) => h('div', {}, h('code', {}, x.path))), (f.changes || []).length > 3 ? h('div', {class: 'muted'}, `and ${f.changes.length - 3} more`) : null),
        h('td', {}, [...new Set((f.changes || []).map((x) => x.user ? userName(x.user) : x.manager).filter(Boolean))].join(', ')),
        h('td', {}, ago(f.lastChange)), h('td', {}, delta(f.resourceDelta))),
      {empty: 'Every declared object is as declared.'}));
}

// Object: one finding's changes as a diff, who made them, and its timeline.
async function objectPage(params, id) {
  const [cluster, group, kind, namespace, ...rest] = id.split('/');
  const name = rest.join('/');
  const [fs, evs, rems, runs, breaks] = await Promise.all([
    api('findings?' + q({cluster, kind, namespace})), api('events?' + q({cluster, kind, namespace, limit: 1000})),
    api('remediations?' + q({cluster})).catch(() => ({items: []})), api('runs?limit=200').catch(() => ({items: []})),
    api('break-glass?limit=200').catch(() => ({items: []}))]);
  const f = fs.items.find((x) => x.id === id);
  const events = evs.items.filter((e) => e.findingId === id);
  const plans = rems.items.filter((r) => r.findingId === id);
  const title = h('h1', {}, kind, ' ', namespace ? namespace + '/' : '', name, ' ', h('span', {class: 'muted'}, 'in '), clusterLink(cluster), ' ', f ? badge(f.state) : badge('ok'));
  const parts = [title];
  if (!f) {
    parts.push(h('p', {class: 'in-sync'}, 'In sync: the object is as declared.'));
  } else {
    if (f.source) parts.push(h('p', {class: 'muted'}, 'Declared in ', h('code', {}, f.source.path + (f.source.line ? ':' + f.source.line : '')),
      f.source.commit ? ' at ' + f.source.commit.slice(0, 12) : ''));
    if (f.resourceDelta) parts.push(h('p', {}, 'Requests beyond the declaration: ', delta(f.resourceDelta)));
    if (f.state === 'missing') parts.push(h('p', {}, 'Declared but absent from the cluster.'));
    if (f.state === 'unmanaged') parts.push(h('p', {}, 'Live in the cluster; no source declares it.'));
    if ((f.changes || []).length) {
      parts.push(h('h2', {}, 'Changes'), table(['Field', 'Desired', 'Live', 'Changed by', 'Operation', 'When', 'User'],
        f.changes, (c) => h('tr', {'data-path': c.path, class: 'change ' + c.type},
          h('td', {}, h('code', {}, c.path), ' ', h('span', {class: 'muted'}, c.type)),
          h('td', {class: 'desired'}, value(c.desired)), h('td', {class: 'live-v'}, value(c.live)),
          h('td', {}, c.manager || '—'), h('td', {}, c.operation || '—'), h('td', {}, ago(c.time)),
          h('td', {}, c.user ? userName(c.user) : h('span', {class: 'muted'}, 'no audit data')))));
    }
  }
  const items = [];
  for (const e of events) {
    items.push({t: e.openedAt, text: [badge(e.state), ' opened', e.managers && e.managers.length ? ' by ' + e.managers.join(', ') : '', e.updates ? ` (changed ${e.updates} more times)` : '']});
    if (e.resolvedAt) items.push({t: e.resolvedAt, text: [badge('ok'), ' resolved', e.resolvedBy ? ' by ' + e.resolvedBy : '']});
  }
  for (const r of plans) items.push({t: r.createdAt, text: ['remediation #' + r.id + ' ', badge(r.state), r.reason ? ' — ' + r.reason : '', ' ', h('a', {href: '#/remediations'}, 'queue')]});
  for (const r of runs.items) {
    if (r.clusters && r.clusters.includes(cluster) && r.objects && events.some((e) => new Date(r.time) >= new Date(e.openedAt) && (!e.resolvedAt || new Date(r.time) <= new Date(e.resolvedAt)))) {
      items.push({t: r.time, text: ['run #' + r.id + ' (' + r.command + ') ', badge(r.outcome), ' by ' + r.user]});
    }
  }
  for (const b of breaks.items) {
    if (b.cluster === cluster && b.kind === kind && (b.namespace || '') === (namespace || '') && b.name === name) {
      items.push({t: b.time, text: [badge('break-glass'), ' by ' + b.user + ': ' + b.reason, b.paths.length ? ' (' + b.paths.join(', ') + ')' : '']});
    }
  }
  items.sort((a, b) => new Date(b.t) - new Date(a.t));
  parts.push(h('h2', {}, 'Timeline'), items.length
    ? h('ul', {class: 'timeline'}, items.map((i) => h('li', {}, ago(i.t), ' — ', i.text)))
    : h('p', {class: 'muted'}, 'No history recorded.'));
  return h('div', {}, parts);
}

// Skew: where clusters that should match differ, field by field,
// computed by the server from the drifted findings (/api/v1/skew).
async function skew(params) {
  const groupBy = params.get('groupBy') || '';
  const r = await api('skew?' + q({groupBy}));
  const input = h('input', {type: 'search', id: 'group-by', placeholder: 'Group clusters by label: env', value: groupBy});
  input.addEventListener('change', () => { location.hash = '#/skew?' + q({groupBy: input.value}); });
  const groups = r.groups.filter((g) => g.clusters.length > 1);
  // One plain cell per cluster: a fleet's table has thousands.
  const cell = (c, d) => {
    const v = d.values[c];
    const drifted = d.drifted.includes(c);
    return h('td', {'data-cluster': c, class: 'mono ' + (drifted ? 'live-v' : 'desired'), title: drifted ? 'drifted' : 'as declared'},
      v === undefined || v === null ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  };
  return h('div', {}, h('h1', {}, 'Skew'),
    h('p', {class: 'muted'}, 'Where clusters that should match differ, field by field: clusters that drifted in red, clusters as declared in green. ',
      'Clusters match within a group: all of them, or those with the same value of a label.'),
    h('div', {class: 'toolbar'}, input, h('span', {class: 'muted'}, `${groups.length} ${groups.length === 1 ? 'group' : 'groups'} of two or more clusters`)),
    groups.length ? groups.map((g) => {
      const rows = g.objects.flatMap((o) => o.differences.map((d) => ({o, d})));
      return [r.groupBy ? h('h2', {}, g.name) : null,
        table(['Object', 'Field', ...g.clusters], rows, ({o, d}) => h('tr', {'data-object': [o.kind, o.namespace || '', o.name].join('/'), 'data-path': d.path},
          h('td', {}, o.kind, ' ', objName(o)), h('td', {}, h('code', {}, d.path)),
          g.clusters.map((c) => cell(c, d))),
        // As many cells as ROWS rows of a usual table.
        {empty: 'No skew: these clusters match.', class: 'skew', rows: Math.max(50, Math.floor(ROWS * 8 / (g.clusters.length + 2)))})];
    }) : h('p', {class: 'muted', id: 'no-groups'}, 'Skew compares two or more clusters; ', r.groupBy ? 'no value of ' + r.groupBy + ' has two.' : 'this fleet has one.'));
}

// failures are the last error of each write made from the page, by path.
const failures = new Map();
const failure = (path) => h('div', {class: 'result error'}, failures.get(path));

// Remediations: the approval queue and the history of runs, with undo.
async function remediations() {
  const [rems, runs, breaks] = await Promise.all([api('remediations'), api('runs'), api('break-glass').catch(() => ({items: []}))]);
  // post runs a write from a button and redraws; an error shows in the
  // row's .result, and stays there when the page is drawn again.
  const post = (path, key = path) => async (ev) => {
    const row = ev.target.closest('tr');
    row.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      await api(path, {method: 'POST'});
      render(true);
    } catch (err) {
      row.querySelectorAll('button').forEach((b) => { b.disabled = false; });
      failures.set(key, err.message);
      row.querySelector('.result').textContent = err.message;
    }
  };
  const steps = (r) => (r.plan.steps || []).map((s) => h('div', {}, s.action, ' ', s.kind, ' ', objName(s), ' ', badge(s.risk),
    (s.changes || []).map((c) => h('div', {class: 'muted'}, h('code', {}, c.path), ' → ', value(c.desired)))));
  // Undo asks once more, in place: Undo, then "Put back N objects?" with
  // Confirm and Cancel.
  const undone = new Set(runs.items.filter((r) => r.undoOf && (r.outcome === 'applied' || r.outcome === 'partial')).map((r) => r.undoOf));
  const undo = (r) => {
    if (undone.has(r.id)) return h('span', {class: 'muted'}, 'undone');
    if (r.outcome !== 'applied' && r.outcome !== 'partial') return '—';
    const cell = h('div', {class: 'undo'});
    const ask = h('button', {class: 'undo', onclick: () => cell.replaceChildren(
      h('span', {}, `Put back what run #${r.id} changed? `),
      h('button', {class: 'confirm-undo', onclick: post(`runs/${r.id}/undo`)}, 'Confirm undo'), ' ',
      h('button', {class: 'cancel', onclick: () => cell.replaceChildren(ask, failure(`runs/${r.id}/undo`))}, 'Cancel'),
      failure(`runs/${r.id}/undo`))}, 'Undo');
    cell.append(ask, failure(`runs/${r.id}/undo`));
    return cell;
  };
  // Plans are made a moment after the finding the stream announces, and
  // runs end without a finding event: look again while the page is open,
  // unless an undo waits for its confirmation.
  setTimeout(() => { if (location.hash === '#/remediations' && !page.querySelector('button.confirm-undo')) refresh(); }, 3000);
  const pending = rems.items.filter((r) => r.state === 'pending');
  const held = rems.items.filter((r) => r.state !== 'pending');
  return h('div', {},
    h('h1', {}, 'Remediations'),
    h('h2', {}, `Waiting for approval (${pending.length})`),
    table(['#', 'Cluster', 'Object', 'Plan', 'Since', ''], pending, (r) => h('tr', {'data-remediation': r.id, 'data-finding': r.findingId},
      h('td', {}, r.id), h('td', {}, clusterLink(r.cluster)), h('td', {}, h('a', {href: '#/object/' + encodeURIComponent(r.findingId)}, r.findingId.split('/').slice(2).join(' '))),
      h('td', {}, steps(r)), h('td', {}, ago(r.createdAt)),
      h('td', {}, h('button', {class: 'approve', onclick: post(`remediations/${r.id}/approve?hash=${encodeURIComponent(r.hash)}`, `remediations/${r.id}`)}, 'Approve'), ' ',
        h('button', {class: 'reject', onclick: post(`remediations/${r.id}/reject`, `remediations/${r.id}`)}, 'Reject'), failure(`remediations/${r.id}`))),
    {empty: 'Nothing waits for approval.'}),
    held.length ? [h('h2', {}, 'Held back'), table(['#', 'Cluster', 'Object', 'State', 'Why'], held, (r) => h('tr', {'data-remediation': r.id},
      h('td', {}, r.id), h('td', {}, r.cluster), h('td', {}, h('a', {href: '#/object/' + encodeURIComponent(r.findingId)}, r.findingId.split('/').slice(2).join(' '))),
      h('td', {}, badge(r.state)), h('td', {}, r.reason || (r.managers || []).join(', '))))] : null,
    h('h2', {}, 'History'),
    table(['Run', 'When', 'Command', 'Clusters', '#Objects', 'Outcome', 'By', 'Undo'], runs.items, (r) => h('tr', {'data-run': r.id, 'data-undo-of': r.undoOf},
      h('td', {}, '#' + r.id), h('td', {}, ago(r.time)), h('td', {}, r.command, r.undoOf ? ' of #' + r.undoOf : ''), h('td', {}, (r.clusters || []).join(', ')),
      h('td', {class: 'num'}, r.objects), h('td', {}, badge(r.outcome)), h('td', {}, r.user), h('td', {}, undo(r))),
    {empty: 'No runs yet.'}),
    h('h2', {}, 'Break-glass writes'),
    table(['When', 'Cluster', 'Object', 'By', 'Fields', 'Reason'], breaks.items, (b) => h('tr', {'data-break-glass': b.id},
      h('td', {}, ago(b.time)), h('td', {}, b.cluster), h('td', {}, b.kind, ' ', objName(b)), h('td', {}, b.user),
      h('td', {}, b.paths.map((p) => h('code', {}, p + ' '))), h('td', {}, b.reason)),
    {empty: 'Nobody broke glass.'}));
}

// Cost: what drift asks for beyond the declarations, per workload,
// cluster and fleet.
async function costPage() {
  const c = await api('cost');
  return h('div', {}, h('h1', {}, 'Cost of drift'),
    h('p', {class: 'muted'}, 'Pod requests × replicas, live minus declared. ',
      c.pricing ? `Priced at $${c.pricing.cpuCoreHour} per core-hour and $${c.pricing.memoryGiBHour} per GiB-hour, 730 hours a month.` : 'Set pricing: {cpuCoreHour, memoryGiBHour} in plumb.yaml for a monthly estimate.'),
    h('div', {class: 'cards'}, card('drifted workloads', c.fleet.workloads), card('fleet asks for', c.fleet.workloads ? delta(c.fleet.resourceDelta) : 'nothing more'),
      c.fleet.monthly !== undefined ? card('a month', money(c.fleet.monthly)) : null),
    h('h2', {}, 'Per cluster'),
    table(['Cluster', '#Workloads', 'Requests', '#Monthly'], c.clusters, (t) => h('tr', {'data-cluster': t.cluster},
      h('td', {}, clusterLink(t.cluster)), h('td', {class: 'num'}, t.workloads), h('td', {}, delta(t.resourceDelta)), h('td', {class: 'num'}, money(t.monthly))),
    {empty: 'No drifted workload asks for more or less than declared.'}),
    h('h2', {}, 'Per workload'),
    table(['Cluster', 'Workload', 'Requests', '#Monthly'], c.items, (i) => h('tr', {'data-id': i.id},
      h('td', {}, i.cluster), h('td', {}, i.kind, ' ', findingLink(i)), h('td', {}, delta(i.resourceDelta)), h('td', {class: 'num'}, money(i.monthly))),
    {empty: 'None.'}));
}

// ---- routing and live updates --------------------------------------------

const routes = [
  [/^\/$/, fleet, 'fleet'],
  [/^\/cluster\/(.+)$/, clusterPage, 'fleet'],
  [/^\/object\/(.+)$/, objectPage, 'fleet'],
  [/^\/skew$/, skew, 'skew'],
  [/^\/remediations$/, remediations, 'remediations'],
  [/^\/cost$/, costPage, 'cost'],
];

let drawing = 0;
// render draws the page of the location. A redraw for the stream (not
// forced) leaves the page alone while an undo waits for its confirmation,
// even when its data was read before the Undo click.
async function render(force = false) {
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(query || '');
  const n = ++drawing;
  for (const [re, fn, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === nav));
    try {
      const el = await fn(params, ...m.slice(1).map(decodeURIComponent));
      if (n !== drawing) return; // a newer drawing started
      if (!force && page.querySelector('button.confirm-undo')) return;
      const y = window.scrollY;
      page.replaceChildren(el);
      window.scrollTo(0, y);
      page.dataset.rendered = String(n);
    } catch (err) {
      if (n === drawing) page.replaceChildren(h('p', {class: 'error'}, 'Cannot load: ' + err.message));
    }
    return;
  }
  page.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page ', h('code', {}, path), '. ', h('a', {href: '#/'}, 'Go to the fleet')));
}

// Redraw once for a burst of events, at most every 250 ms.
let pending = null;
function refresh() {
  const answering = () => page.querySelector('button.confirm-undo'); // an undo waits for its confirmation
  if (pending || answering()) return;
  pending = setTimeout(() => { pending = null; if (!answering()) render(); }, 250);
}

function listen() {
  const live = document.getElementById('live');
  const es = new EventSource('/api/v1/stream');
  es.onopen = () => { live.textContent = 'live'; live.className = 'live on'; refresh(); };
  es.onerror = () => { live.textContent = 'reconnecting'; live.className = 'live off'; };
  for (const t of ['opened', 'updated', 'resolved']) es.addEventListener(t, refresh);
}

window.addEventListener('hashchange', () => render(true));
render(true);
listen();
