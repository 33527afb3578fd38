// grouprank's dashboard: plain JavaScript over the service's JSON endpoints,
// no build step. Pages: overview, experiments (list and report), models,
// groups. Charts are Apache ECharts (SVG renderer), kept in
// window.grouprank.charts by name for tests and debugging.
"use strict";

const state = { charts: {}, timers: [], seq: 0 };
window.grouprank = state;

// ---- small helpers ----------------------------------------------------

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// esc makes text safe inside HTML (what ECharts tooltips render).
const esc = (x) => String(x).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// ciLevel is the report's interval level in percent, 1 - alpha.
const ciLevel = (rp) => +(100 * (1 - (rp.alpha ?? 0.05))).toFixed(2);

const fmt = {
  num: (x, d = 0) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }),
  pct: (x, d = 1) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : (100 * x).toFixed(d) + "%",
  signed: (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x)) ? "n/a" : (x >= 0 ? "+" : "") + (100 * x).toFixed(d) + "%",
  // money arrives in fen (cents), as everywhere in the API
  yuan: (cents) => (cents === null || cents === undefined) ? "–" : "¥" + (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  day: (t) => t ? new Date(t).toISOString().slice(0, 10) : "–",
  ms: (t) => t ? new Date(t).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "–",
  iso: (s) => s ? new Date(s).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "–",
  ago: (s) => {
    if (!s) return "";
    const sec = (Date.now() - new Date(s).getTime()) / 1000;
    if (sec < 90) return "just now";
    if (sec < 5400) return Math.round(sec / 60) + " min ago";
    if (sec < 129600) return Math.round(sec / 3600) + " h ago";
    return Math.round(sec / 86400) + " days ago";
  },
};

function keys() {
  return { api: sessionStorage.getItem("grouprank.api") || "", admin: sessionStorage.getItem("grouprank.admin") || "" };
}

// api fetches a JSON endpoint; it resolves to {ok, status, body} and never
// throws (a network failure is status 0).
async function api(path, opts = {}) {
  const headers = { Accept: "application/json" };
  const k = keys();
  if (k.api) headers["X-API-Key"] = k.api;
  if (opts.admin && k.admin) headers.Authorization = "Bearer " + k.admin;
  try {
    const res = await fetch(path, { method: opts.method || "GET", headers });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    return { ok: res.ok, status: res.status, body };
  } catch (e) {
    return { ok: false, status: 0, body: { error: "the service did not answer: " + e.message } };
  }
}

function errorText(r) {
  const msg = r.body && r.body.error ? r.body.error : "HTTP " + r.status;
  return r.status ? `${msg} (HTTP ${r.status})` : msg;
}

function notice(kind, ...text) { return h("div", { class: "notice " + kind, role: kind === "error" ? "alert" : null }, ...text); }

function card(label, value, sub, id) {
  return h("div", { class: "card", "data-card": id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

function badge(text, cls) { return h("span", { class: "badge " + (cls || text) }, text); }

// chart makes a chart in a new element named name (data-chart) and records it.
function chart(name, option, cls) {
  const el = h("div", { class: "chart " + (cls || ""), "data-chart": name });
  requestAnimationFrame(() => {
    if (!el.isConnected) return;
    const c = echarts.init(el, null, { renderer: "svg" });
    c.setOption(Object.assign({ animation: false, textStyle: { fontFamily: "inherit" } }, option));
    state.charts[name] = c;
    el.dataset.ready = "1";
  });
  return el;
}

function resetPage() {
  for (const c of Object.values(state.charts)) c.dispose();
  state.charts = {};
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  return ++state.seq;
}

function show(seq, ...nodes) {
  if (seq !== state.seq) return false; // the user navigated away meanwhile
  const page = document.getElementById("page");
  page.replaceChildren(...nodes);
  return true;
}

// ---- overview ---------------------------------------------------------

async function overview(seq) {
  const history = { t: [], rps: [], p99: [], ev: [] };
  const body = h("div", {});
  const render = async () => {
    const r = await api("/v1/status");
    if (seq !== state.seq) return;
    if (!r.ok) { body.replaceChildren(notice("error", "Status unavailable: " + errorText(r))); return; }
    const s = r.body, rt = s.rates;
    const exps = Object.entries(s.experiments || {}).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
    const cards = h("div", { class: "cards" },
      card("Model in service", s.model_version || "none", s.trained ? "trained " + fmt.iso(s.trained) + " (" + fmt.ago(s.trained) + ")" : "no snapshot loaded", "model"),
      card("Data up to", s.windows ? fmt.day(s.windows.serve) : "–", s.windows ? "profiles and factors rebuilt at this instant" : "", "data"),
      card("Catalogue", fmt.num(s.products), "products served", "products"),
      card("Groups", fmt.num(s.groups), "group records in the snapshot", "groups"),
      card("Picks per second", fmt.num(rt.picks_per_second, 2), `all routes ${fmt.num(rt.requests_per_second, 2)}/s`, "rps"),
      card("Picks p99 latency", rt.picks_p99_ms === null ? "–" : fmt.num(rt.picks_p99_ms, 2) + " ms", rt.picks_p50_ms === null ? "no picks in the window" : `p50 ${fmt.num(rt.picks_p50_ms, 2)} ms`, "p99"),
      card("Event ingest", fmt.num(rt.events_per_second, 1) + "/s", "events stored (duplicates excluded)", "events"),
      card("Experiments", exps, "", "experiments"));
    history.t.push(new Date(s.now).toISOString().slice(11, 19));
    history.rps.push(+rt.picks_per_second.toFixed(3));
    history.p99.push(rt.picks_p99_ms === null ? null : +rt.picks_p99_ms.toFixed(3));
    history.ev.push(+rt.events_per_second.toFixed(3));
    const nodes = [];
    if (s.message) nodes.push(notice("empty", s.message));
    nodes.push(cards);
    nodes.push(h("p", { class: "muted" }, `Rates over the last ${fmt.num(rt.window_seconds, 0)} s, read off the service's own Prometheus metrics (/metrics); p99 is estimated from the latency histogram's buckets. ${fmt.num(rt.errors_5xx)} 5xx answers in the window. Refreshes every 5 s; started ${fmt.iso(s.started)}.`));
    body.replaceChildren(...nodes);
    if (!state.charts.traffic) {
      body.append(h("div", { class: "panel" }, h("h2", {}, "Since this page opened"), chart("traffic", trafficOption(history))));
    } else {
      body.append(state.charts.traffic.getDom().parentElement);
      state.charts.traffic.setOption(trafficOption(history));
    }
  };
  show(seq, h("h1", {}, "Overview"), body);
  await render();
  state.timers.push(setInterval(render, 5000));
}

function trafficOption(hs) {
  return {
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 60, top: 36, bottom: 30 },
    xAxis: { type: "category", data: hs.t },
    yAxis: [{ type: "value", name: "per second" }, { type: "value", name: "ms" }],
    series: [
      { name: "picks/s", type: "line", data: hs.rps, showSymbol: hs.t.length < 30 },
      { name: "events/s", type: "line", data: hs.ev, showSymbol: hs.t.length < 30 },
      { name: "picks p99 (ms)", type: "line", yAxisIndex: 1, data: hs.p99, connectNulls: true, showSymbol: hs.t.length < 30 },
    ],
  };
}

// ---- experiments --------------------------------------------------------

async function experiments(seq) {
  const r = await api("/v1/experiments");
  const title = h("h1", {}, "Experiments");
  if (r.status === 404) return show(seq, title, notice("empty", "This service keeps no experiments (it was started without a live store)."));
  if (!r.ok) return show(seq, title, notice("error", "Experiments unavailable: " + errorText(r)));
  const list = r.body.experiments || [];
  if (list.length === 0) {
    return show(seq, title, notice("empty", "No experiments yet. Create one with ",
      h("code", {}, "grouprank ab create --file experiment.json"), " or POST /v1/admin/experiments, then start it."));
  }
  const rows = list.map((e) => {
    const first = (e.periods || [])[0];
    return h("tr", { "data-key": e.key },
      h("td", {}, h("a", { href: "#/experiments/" + encodeURIComponent(e.key) }, e.key), h("div", { class: "muted" }, e.description || "")),
      h("td", {}, badge(e.status)),
      h("td", {}, e.unit), h("td", {}, e.layer),
      h("td", { class: "num" }, fmt.pct(e.traffic, 0)),
      h("td", {}, (e.arms || []).map((a) => `${a.name} ${a.weight}%`).join(" · ")),
      h("td", {}, e.primary_metric),
      h("td", {}, first ? fmt.ms(first.from) : "not started"),
      h("td", { class: "num" }, e.planned_days));
  });
  const layers = (r.body.layers || []).map((l) => `${l.name}: ${(l.options || []).join(", ")}`).join(" · ");
  show(seq, title,
    h("table", { "data-table": "experiments" }, h("thead", {}, h("tr", {}, ["Experiment", "Status", "Unit", "Layer", "Traffic", "Arms", "Primary metric", "Started", "Planned days"].map((c) => h("th", {}, c)))), h("tbody", {}, rows)),
    h("p", { class: "muted" }, "Layers (each owns its ranker options; one running experiment per layer): " + layers));
}

async function report(seq, key) {
  const title = h("h1", {}, "Experiment ", h("code", {}, key));
  const back = h("p", {}, h("a", { href: "#/experiments" }, "← all experiments"));
  show(seq, back, title, h("p", { class: "muted" }, "Computing the report (it reads every exposure and event of the experiment)…"));
  const r = await api("/v1/experiments/" + encodeURIComponent(key) + "/report");
  if (!r.ok) return show(seq, back, title, notice(r.status === 409 || r.status === 404 ? "empty" : "error", errorText(r)));
  const rp = r.body;
  const treat = rp.arms.slice(1).map((a) => a.name);
  const head = h("p", {}, badge(rp.status), ` unit ${rp.unit} · day ${rp.days} of ${rp.planned_days} planned · alpha ${rp.alpha} · `,
    `${fmt.num(rp.arms.reduce((s, a) => s + a.units, 0))} units`, rp.at ? ` · computed ${fmt.iso(rp.at)}` : "",
    rp.excluded_overrides ? ` · ${rp.excluded_overrides} QA overrides excluded` : "");
  const decision = h("div", { class: "notice decision " + rp.verdict, "data-decision": rp.verdict },
    h("strong", {}, "Decision (the experiment's stored rule): "), rp.decision);
  const srm = h("div", { class: "notice " + (rp.srm.flagged ? "error" : ""), "data-srm": rp.srm.flagged ? "flagged" : "ok" }, rp.srm_words || "");
  const lines = h("div", { class: "panel" }, h("h2", {}, "Primary metric and guardrails"),
    h("ul", { class: "words" }, (rp.lines || []).map((l) => h("li", { class: /BREACHED/.test(l) ? "breach" : "" }, l))));
  const words = h("div", { class: "panel" }, h("h2", {}, "Every metric"),
    h("ul", { class: "words", "data-words": "metrics" }, rp.metrics.flatMap((m) => (m.words || []).map((w) => h("li", {}, w)))),
    h("p", { class: "muted" }, `Relative lift over the control arm with its ${ciLevel(rp)}% interval (delta method; CUPED where the experiment has a pre-period).`));
  const arms = h("table", { "data-table": "arms" },
    h("thead", {}, h("tr", {}, ["Arm", "Weight", "Units", "Pushes", "Orders", "GMV", "Commission"].map((c, i) => h("th", { class: i ? "num" : "" }, c)))),
    h("tbody", {}, rp.arms.map((a) => h("tr", {}, h("td", {}, a.name), h("td", { class: "num" }, a.weight + "%"), h("td", { class: "num" }, fmt.num(a.units)),
      h("td", { class: "num" }, fmt.num(a.pushes)), h("td", { class: "num" }, fmt.num(a.orders)), h("td", { class: "num", "data-money": "gmv" }, fmt.yuan(a.gmv_cents)), h("td", { class: "num", "data-money": "commission" }, fmt.yuan(a.commission_cents))))));
  // lift chart: one row per metric (and treatment), the point and its interval
  const cats = [], pts = [], ivs = [];
  rp.metrics.forEach((m) => {
    treat.forEach((arm, i) => {
      const l = (m.cuped_lifts && m.cuped_lifts[i]) || m.lifts[i];
      if (!l || l.rel === null || l.rel_lo === null || l.rel_hi === null) return; // no lift yet: its note says why
      const label = treat.length > 1 ? `${m.label} (${arm})` : m.label;
      cats.push(label);
      pts.push([+(100 * l.rel).toFixed(2), label]);
      ivs.push([cats.length - 1, +(100 * l.rel_lo).toFixed(2), +(100 * l.rel_hi).toFixed(2)]);
    });
  });
  const liftOption = {
    // ECharts renders a formatter's string as HTML: names (arms are user data) are escaped
    tooltip: { trigger: "item", formatter: (p) => p.seriesName === "lift" ? `${esc(p.value[1])}: ${p.value[0] >= 0 ? "+" : ""}${p.value[0]}%` : `${esc(cats[p.value[0]])}: ${ciLevel(rp)}% CI ${p.value[1]}% to ${p.value[2]}%` },
    grid: { left: 170, right: 30, top: 20, bottom: 40 },
    xAxis: { type: "value", name: "lift %", nameLocation: "middle", nameGap: 26, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: cats, inverse: true },
    series: [
      { name: `${ciLevel(rp)}% CI`, type: "custom", data: ivs, encode: { x: [1, 2], y: 0 }, renderItem: (params, a) => {
        const y = a.value(0), lo = a.coord([a.value(1), y]), hi = a.coord([a.value(2), y]);
        const half = a.size([0, 1])[1] * 0.18;
        const style = { stroke: "#2f6fed", lineWidth: 2 };
        return { type: "group", children: [
          { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
          { type: "line", shape: { x1: lo[0], y1: lo[1] - half, x2: lo[0], y2: lo[1] + half }, style },
          { type: "line", shape: { x1: hi[0], y1: hi[1] - half, x2: hi[0], y2: hi[1] + half }, style },
        ] };
      } },
      { name: "lift", type: "scatter", data: pts, symbolSize: 10, itemStyle: { color: "#1d2430" },
        markLine: { silent: true, symbol: "none", data: [{ xAxis: 0 }], lineStyle: { color: "#999", type: "dashed" }, label: { show: false } } },
    ],
  };
  // cumulative metric per arm by day
  const metricNames = Object.keys(rp.daily || {});
  const primary = rp.metrics[0] ? rp.metrics[0].metric : metricNames[0];
  const labelOf = Object.fromEntries(rp.metrics.map((m) => [m.metric, m.label]));
  const dailyOption = (metric) => {
    const pts = (rp.daily || {})[metric] || [];
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 60, right: 20, top: 36, bottom: 40 },
      xAxis: { type: "category", name: "day", nameLocation: "middle", nameGap: 26, data: pts.map((p) => p.day) },
      yAxis: { type: "value", name: labelOf[metric] || metric, scale: true, nameTextStyle: { align: "left" } },
      series: rp.arms.map((a, i) => ({ name: a.name, type: "line", data: pts.map((p) => p.values[i]) })),
    };
  };
  const select = h("select", { "data-select": "daily-metric", onchange: (ev) => state.charts.daily && state.charts.daily.setOption(dailyOption(ev.target.value), { replaceMerge: ["series"] }) },
    metricNames.map((m) => h("option", { value: m, selected: m === primary }, labelOf[m] || m)));
  show(seq, back, title, head, decision, srm, lines,
    h("div", { class: "row" },
      h("div", { class: "panel" }, h("h2", {}, `Lift over the control, ${ciLevel(rp)}% interval`), chart("lift", liftOption)),
      h("div", { class: "panel" }, h("h2", {}, "Cumulative value per arm by day "), select, chart("daily", dailyOption(primary)))),
    words, h("h2", {}, "Arms"), arms);
}

// ---- models ---------------------------------------------------------------

async function models(seq, message) {
  const title = h("h1", {}, "Models");
  const r = await api("/v1/models");
  if (r.status === 404) return show(seq, title, notice("empty", "This service lists no models."));
  if (!r.ok) return show(seq, title, notice("error", "Models unavailable: " + errorText(r)));
  const list = r.body.models || [];
  const out = [title];
  if (message) out.push(message);
  if (list.length === 0) {
    out.push(notice("empty", "No model is published yet: train one (", h("code", {}, "grouprank train"), ") and publish it (", h("code", {}, "grouprank publish"), ")."));
    return show(seq, ...out);
  }
  const hasPrev = list.some((m) => m.previous);
  const act = async (path, what) => {
    const res = await api(path, { method: "POST", admin: true });
    const msg = res.ok ? notice("", `${what}: ${res.body.model_version} is now in service.`)
      : notice("error", `${what} refused: ${errorText(res)}`, res.status === 401 || res.status === 403 ? h("span", {}, " Set the admin token under ", h("strong", {}, "Keys"), ".") : "");
    msg.dataset.result = res.ok ? "ok" : "refused";
    resetPage();
    models(state.seq, msg);
  };
  const rows = list.map((m) => {
    const mt = m.metrics || {};
    return h("tr", { "data-version": m.version },
      h("td", {}, h("strong", {}, m.version), " ", m.serving ? badge("serving") : null, m.current && !m.serving ? badge("current") : null, m.previous ? badge("previous") : null,
        m.error ? h("div", { class: "breach" }, m.error) : null),
      h("td", {}, fmt.iso(m.created)),
      h("td", { class: "num" }, fmt.num(mt.test_auc, 4)), h("td", { class: "num" }, fmt.num(mt.random_auc, 4)),
      h("td", { class: "num" }, fmt.num(mt.test_log_loss, 4)), h("td", { class: "num" }, fmt.num(mt.test_max_decile_error, 4)),
      h("td", { class: "num" }, m.size && m.size.groups ? fmt.num(m.size.groups) : "–"), h("td", { class: "num" }, m.size && m.size.products ? fmt.num(m.size.products) : "–"),
      h("td", {}, !m.current ? h("button", { type: "button", "data-action": "promote", onclick: () => act("/v1/admin/models/" + encodeURIComponent(m.version) + "/promote", "Promote " + m.version) }, "Promote") : null,
        m.current && hasPrev ? h("button", { type: "button", "data-action": "rollback", onclick: () => act("/v1/admin/models/rollback", "Rollback") }, "Roll back") : null));
  });
  out.push(h("table", { "data-table": "models" }, h("thead", {}, h("tr", {}, ["Version", "Trained", "Test AUC", "Randomised AUC", "Test log loss", "Max decile error", "Groups", "Products", ""].map((c, i) => h("th", { class: i >= 2 && i < 8 ? "num" : "" }, c)))), h("tbody", {}, rows)));
  out.push(h("p", { class: "muted" }, "Promote and roll back need the admin token (Keys). Test figures are on the pushes after the calibration window; randomised: the 5% of lists the logging policy shuffled."));
  // AUC against the baselines, per version (oldest first)
  const asc = list.slice().reverse();
  const baselineNames = [];
  for (const m of asc) for (const b of ((m.report || {}).conversion || {}).baselines || []) if (!baselineNames.includes(b.name)) baselineNames.push(b.name);
  const aucOption = {
    tooltip: { trigger: "axis" }, legend: { top: 0, type: "scroll" }, grid: { left: 50, right: 20, top: 50, bottom: 30 },
    xAxis: { type: "category", data: asc.map((m) => m.version) },
    yAxis: { type: "value", name: "test AUC", min: 0.4, max: 1 },
    series: [{ name: "conversion model", type: "bar", data: asc.map((m) => (m.metrics || {}).test_auc ?? null) }].concat(
      baselineNames.map((n) => ({ name: n, type: "bar", data: asc.map((m) => {
        const b = (((m.report || {}).conversion || {}).baselines || []).find((x) => x.name === n);
        return b && Number.isFinite(b.auc) ? +b.auc.toFixed(4) : null;
      }) }))),
  };
  const sel = list.find((m) => m.serving) || list[0];
  const picker = h("select", { "data-select": "reliability-version", onchange: (ev) => {
    const m = list.find((x) => x.version === ev.target.value);
    state.charts.reliability.setOption(reliabilityOption(m), { replaceMerge: ["series"] });
    offPolicy.replaceChildren(offPolicyTable(m));
  } }, list.map((m) => h("option", { value: m.version, selected: m === sel }, m.version)));
  const offPolicy = h("div", {}, offPolicyTable(sel));
  out.push(h("div", { class: "row" },
    h("div", { class: "panel" }, h("h2", {}, "Test AUC against the baselines"), chart("auc", aucOption)),
    h("div", { class: "panel" }, h("h2", {}, "Reliability of the calibrated conversion "), picker, chart("reliability", reliabilityOption(sel)))));
  out.push(h("div", { class: "panel" }, h("h2", {}, "Rankings' value per push: off-policy estimates against the truth"), offPolicy));
  show(seq, ...out);
}

function reliabilityOption(m) {
  const d = (((m || {}).report || {}).conversion || {}).deciles || [];
  const hasTrue = d.some((b) => Number.isFinite(b.true));
  const top = Math.max(0.05, ...d.map((b) => Math.max(b.predicted, b.observed, hasTrue ? b.true : 0))) * 1.05;
  const series = [
    { name: "observed", type: "line", data: d.map((b) => [+b.predicted.toFixed(4), +b.observed.toFixed(4)]), symbolSize: 8 },
    { name: "perfect calibration", type: "line", data: [[0, 0], [top, top]], symbol: "none", lineStyle: { type: "dashed", color: "#999" } },
  ];
  if (hasTrue) series.splice(1, 0, { name: "true probability", type: "line", data: d.map((b) => [+b.predicted.toFixed(4), +b.true.toFixed(4)]), symbolSize: 6 });
  return {
    tooltip: { trigger: "item", formatter: (p) => `${esc(p.seriesName)}: predicted ${p.value[0]}, ${p.value[1]}` },
    legend: { top: 0, type: "scroll" }, grid: { left: 60, right: 20, top: 44, bottom: 44 },
    xAxis: { type: "value", name: "predicted P(order | push), per decile", nameLocation: "middle", nameGap: 28, min: 0, max: +top.toFixed(3) },
    yAxis: { type: "value", name: "share with an order", min: 0, max: +top.toFixed(3) },
    series,
  };
}

function offPolicyTable(m) {
  const ops = ((m || {}).report || {}).off_policy || [];
  if (ops.length === 0) return h("p", { class: "muted" }, "This version's report has no off-policy estimates.");
  const hasTrue = ops.some((o) => Number.isFinite(o.true));
  return h("table", { "data-table": "off-policy" },
    h("thead", {}, h("tr", {}, ["Ranking", "Matched pushes", "Model's estimate", "SNIPS", "Doubly robust", hasTrue ? "True value" : null].filter(Boolean).map((c, i) => h("th", { class: i ? "num" : "" }, c)))),
    h("tbody", {}, ops.map((o) => h("tr", { "data-config": o.config }, h("td", {}, o.config), h("td", { class: "num", "data-matches": "" }, fmt.num(o.matches)),
      h("td", { class: "num" }, fmt.num(o.model, 4)),
      o.note ? h("td", { class: "muted", colspan: 2, "data-note": "" }, o.note)
        : [h("td", { class: "num" }, fmt.num(o.snips, 4)), h("td", { class: "num" }, fmt.num(o.dr, 4))],
      hasTrue ? h("td", { class: "num" }, fmt.num(o.true, 4)) : null))),
    h("caption", { class: "muted" }, ops[0].estimand || ""));
}

// ---- groups ----------------------------------------------------------------

async function groups(seq, id, query) {
  const objective = query.get("objective") || "";
  const input = h("input", { type: "text", name: "group", placeholder: "group id", value: id || "", required: true });
  const obj = h("select", { name: "objective" }, ["", "orders", "gmv", "commission", "commission-quality", "practice"].map((o) => h("option", { value: o, selected: o === objective }, o || "default objective")));
  const form = h("form", { class: "inline", onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = "#/groups/" + encodeURIComponent(input.value) + (obj.value ? "?objective=" + obj.value : "");
  } }, "Group ", input, obj, h("button", { class: "primary", type: "submit" }, "Look up"));
  const title = h("h1", {}, "Groups");
  if (!id) return show(seq, title, form, h("p", { class: "muted" }, "A group's profile, its latest orders and its current picks as the promoter app gets them."));
  const q = new URLSearchParams({ k: "10", explain: "true", preview: "true" });
  if (objective) q.set("objective", objective);
  const [pr, pk] = await Promise.all([api("/v1/groups/" + encodeURIComponent(id)), api(`/v1/groups/${encodeURIComponent(id)}/picks?${q}`)]);
  if (!pr.ok) return show(seq, title, form, notice(pr.status === 503 ? "empty" : "error", errorText(pr)));
  const p = pr.body;
  const out = [title, form];
  if (!p.known) out.push(notice("empty", `Group ${p.group_id || p.group} has no record in snapshot ${p.model_version}: its picks are a cold start (from the channel and city tier the app sends).`));
  else {
    out.push(h("div", { class: "cards" },
      card("Channel", p.channel, "city tier " + p.city_tier, "channel"),
      card("Orders per day", fmt.num(p.orders_per_day, 2), p.days_since_order === null ? "never ordered" : `last order ${fmt.num(p.days_since_order, 1)} days before the snapshot`, "activity"),
      card("Pushes", fmt.num(p.pushes, 0), `${fmt.pct(p.push_conversion)} with an order (shrunk)`, "pushes"),
      card("Price band", topBand(p.price_bands), "most of its units", "band")));
    out.push(h("div", { class: "row" },
      h("div", { class: "panel" }, h("h2", {}, "Category affinity"), chart("categories", shareOption(p.categories, "share of units"), "small")),
      h("div", { class: "panel" }, h("h2", {}, "Price bands (yuan)"), chart("bands", shareOption(p.price_bands, "share of units"), "small"))));
  }
  out.push(h("h2", {}, "Latest orders"));
  out.push(p.orders.length === 0 ? notice("empty", "No orders recorded for this group.") :
    h("table", { "data-table": "orders" }, h("thead", {}, h("tr", {}, ["Time", "SKU", "Product", "Category", "Price", "Qty", "Source"].map((c, i) => h("th", { class: i === 4 || i === 5 ? "num" : "" }, c)))),
      h("tbody", {}, p.orders.map((o) => h("tr", {}, h("td", {}, fmt.ms(o.time)), h("td", {}, o.item_id || o.sku), h("td", {}, o.title || "(not in the catalogue)"), h("td", {}, o.category || ""),
        h("td", { class: "num" }, fmt.yuan(o.price_cents)), h("td", { class: "num" }, o.quantity), h("td", {}, o.source))))));
  out.push(h("h2", {}, "Current picks"));
  if (!pk.ok) out.push(notice("error", "Picks unavailable: " + errorText(pk)));
  else {
    const b = pk.body;
    out.push(h("p", { class: "muted" }, `Objective ${b.objective}, model ${b.model_version}`, b.experiment ? ` · experiment ${b.experiment}, arm ${b.arm}` : "",
      b.cold_start ? " · cold start" : "", " · a preview: the same request as the app's, without logging an exposure. Score = log expected orders + price + commission + rating + caution terms."));
    out.push(h("table", { "data-table": "picks" },
      h("thead", {}, h("tr", {}, ["#", "SKU", "Product", "Category", "Price", "Commission", "Rating", "P(order)", "E[orders]", "Score parts", "Score"].map((c, i) => h("th", { class: i >= 4 && i !== 9 ? "num" : "" }, c)))),
      h("tbody", {}, (b.items || []).map((it, i) => h("tr", { "data-sku": it.sku, "data-score": it.score },
        h("td", {}, i + 1), h("td", {}, it.item_id || it.sku), h("td", {}, it.title, it.reason ? h("div", { class: "reason" }, it.reason) : null), h("td", {}, it.category),
        h("td", { class: "num" }, fmt.yuan(it.price_cents)), h("td", { class: "num" }, fmt.yuan(it.commission_cents)), h("td", { class: "num" }, fmt.pct(it.rating)),
        h("td", { class: "num" }, fmt.num(it.p, 4)), h("td", { class: "num" }, fmt.num(it.expected_orders, 4)),
        h("td", { class: "parts" }, `log E ${fmt.num(it.log_expected_orders, 3)} · price ${fmt.num(it.price, 3)} · commission ${fmt.num(it.commission, 3)} · rating ${fmt.num(it.rating_term || 0, 3)} · caution ${fmt.num(it.caution_term || 0, 3)}`),
        h("td", { class: "num" }, fmt.num(it.score, 4)))))));
  }
  show(seq, ...out);
}

function topBand(bands) {
  let best = null;
  for (const b of bands || []) if (!best || b.share > best.share) best = b;
  return best && best.share > 0 ? `${best.name} (${fmt.pct(best.share, 0)})` : "–";
}

function shareOption(items, name) {
  return {
    tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" }, grid: { left: 90, right: 30, top: 10, bottom: 30 },
    xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: items.map((x) => x.name), inverse: true },
    series: [{ name, type: "bar", data: items.map((x) => +(100 * x.share).toFixed(1)) }],
  };
}

// ---- routing and keys --------------------------------------------------------

async function route() {
  const seq = resetPage();
  const [path, qs] = (location.hash.replace(/^#/, "") || "/overview").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const page = parts[0] || "overview";
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.nav === page);
  const query = new URLSearchParams(qs || "");
  try {
    if (page === "experiments" && parts[1]) await report(seq, parts[1]);
    else if (page === "experiments") await experiments(seq);
    else if (page === "models") await models(seq);
    else if (page === "groups") await groups(seq, parts[1], query);
    else await overview(seq);
  } catch (e) {
    show(seq, notice("error", "This page failed: " + e.message));
  }
  if (seq === state.seq) document.body.dataset.page = page;
}

function setupKeys() {
  const dlg = document.getElementById("keys");
  document.getElementById("keys-open").addEventListener("click", () => {
    const k = keys();
    document.getElementById("key-api").value = k.api;
    document.getElementById("key-admin").value = k.admin;
    dlg.showModal();
  });
  dlg.addEventListener("close", () => {
    if (dlg.returnValue !== "save") return;
    sessionStorage.setItem("grouprank.api", document.getElementById("key-api").value.trim());
    sessionStorage.setItem("grouprank.admin", document.getElementById("key-admin").value.trim());
    route();
  });
}

window.addEventListener("hashchange", route);
window.addEventListener("resize", () => { for (const c of Object.values(state.charts)) c.resize(); });
setupKeys();
route();
