// Sluice dashboard: polls the server's JSON endpoints (same origin) and draws with uPlot.
// Keys, metrics, labels, messages and payloads come from the store and are untrusted: they only
// ever reach the page as text (textContent, Option text, title, dataset), never as markup.
"use strict";

(function () {
  const state = {
    refreshSeconds: 2,
    overview: null,
    charts: [], // [{key, metric, size}]
    plots: new Map(), // chart id -> {plot, box, signature}
    refreshes: 0,
  };
  const COLORS = ["#2e90fa", "#12b76a", "#f79009", "#7a5af8", "#ee46bc", "#06aed4", "#667085"];

  // --- small DOM helpers (text only) ---------------------------------------------------------
  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      if (props.cls) node.className = props.cls;
      if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
      if (props.title) node.title = String(props.title);
      if (props.data) for (const k of Object.keys(props.data)) node.dataset[k] = String(props.data[k]);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }
  function $(id) {
    return document.getElementById(id);
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }
  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
    return v.toLocaleString("en-US", { maximumFractionDigits: a >= 100 ? 1 : a >= 1 ? 2 : 4 });
  }
  function duration(s) {
    if (s === null || s === undefined) return "–";
    const a = Math.abs(s);
    const sign = s < 0 ? "-" : "";
    if (a < 1) return sign + (a * 1000).toFixed(0) + " ms";
    if (a < 120) return sign + a.toFixed(a < 10 ? 1 : 0) + " s";
    if (a < 7200) return sign + (a / 60).toFixed(1) + " min";
    if (a < 172800) return sign + (a / 3600).toFixed(1) + " h";
    // Days with hours and minutes: a replay of old data lags by days, and its windows differ by
    // minutes.
    const days = Math.floor(a / 86400);
    const rest = new Date((a - days * 86400) * 1000).toISOString().substring(11, 16);
    return sign + days + " d " + rest;
  }
  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.000Z$|Z$/, "Z");
  }
  function sizeText(s) {
    return s % 3600 === 0 ? s / 3600 + " h" : s % 60 === 0 ? s / 60 + " min" : s + " s";
  }
  async function getJson(path, params) {
    const query = params ? "?" + new URLSearchParams(params).toString() : "";
    const response = await fetch(path + query, { cache: "no-store", credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
    return body;
  }
  function table(node, headers, rows) {
    clear(node);
    const head = el("tr", null, headers.map((h) => el("th", { text: h })));
    node.appendChild(el("thead", null, [head]));
    const body = el("tbody");
    for (const row of rows) body.appendChild(row);
    node.appendChild(body);
  }
  function td(text, cls) {
    return el("td", { text: text, cls: cls });
  }
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
  /** The time axis in UTC, 24 h: seconds for short spans, the date where it changes. */
  function timeAxis() {
    return {
      values: (u, vals) => {
        const span = vals.length > 1 ? vals[vals.length - 1] - vals[0] : 0;
        let day = null;
        return vals.map((v) => {
          const iso = new Date(v * 1000).toISOString();
          const time = span < 300 ? iso.substring(11, 19) : iso.substring(11, 16);
          const date = iso.substring(0, 10);
          const label = date !== day ? time + "\n" + date : time;
          day = date;
          return label;
        });
      },
    };
  }
  const timeSeries = { value: (u, v) => (v === null || v === undefined ? "–" : utc(v)) };

  // --- uPlot charts ---------------------------------------------------------------------------
  function plotWidth(box) {
    return Math.max(300, Math.floor(box.getBoundingClientRect().width) - 4);
  }
  /** Draws (or redraws with new data) a uPlot chart in box; a new series layout makes a new plot. */
  function draw(id, box, signature, makeOpts, data) {
    let entry = state.plots.get(id);
    if (entry && (entry.signature !== signature || entry.box !== box || !box.contains(entry.plot.root))) {
      entry.plot.destroy();
      entry = null;
    }
    if (!entry) {
      const opts = makeOpts(plotWidth(box));
      opts.tzDate = tzDate;
      entry = { plot: new uPlot(opts, data, box), box: box, signature: signature };
      state.plots.set(id, entry);
    } else {
      entry.plot.setData(data);
    }
    return entry.plot;
  }
  function forget(id) {
    const entry = state.plots.get(id);
    if (entry) {
      entry.plot.destroy();
      state.plots.delete(id);
    }
  }
  window.addEventListener("resize", () => {
    for (const entry of state.plots.values()) entry.plot.setSize({ width: plotWidth(entry.box), height: entry.plot.height });
  });

  // --- the key/metric chooser and the chart list ------------------------------------------------
  function readHash() {
    try {
      const match = /^#charts=(.*)$/.exec(location.hash);
      if (!match) return null;
      const list = JSON.parse(decodeURIComponent(match[1]));
      if (!Array.isArray(list)) return null;
      return list
        .filter((c) => Array.isArray(c) && typeof c[0] === "string" && typeof c[1] === "string")
        .map((c) => ({ key: c[0], metric: c[1], size: typeof c[2] === "number" ? c[2] : null }));
    } catch (e) {
      return null;
    }
  }
  function writeHash() {
    const list = state.charts.map((c) => [c.key, c.metric, c.size]);
    history.replaceState(null, "", "#charts=" + encodeURIComponent(JSON.stringify(list)));
  }
  function chartId(c) {
    return "chart|" + c.key + "|" + c.metric + "|" + c.size;
  }
  function defaultSize(overview) {
    const sizes = overview.window_sizes || [];
    return sizes.length > 1 && sizes.length <= 20 ? sizes[0] : null;
  }
  function updateChooser(overview) {
    const pairs = overview.pairs || [];
    const keySelect = $("choose-key");
    const metricSelect = $("choose-metric");
    const chosenKey = keySelect.value;
    const chosenMetric = metricSelect.value;
    const keys = [...new Set(pairs.map((p) => p.key))];
    const metrics = [...new Set(pairs.map((p) => p.metric))].sort();
    fillSelect(keySelect, keys.map((k) => [k, k]), chosenKey);
    fillSelect(metricSelect, metrics.map((m) => [m, m]), chosenMetric);
    const sizes = overview.window_sizes || [];
    const sizeSelect = $("choose-size");
    $("choose-size-label").hidden = !(sizes.length > 1 && sizes.length <= 20);
    fillSelect(sizeSelect, [["", "all"]].concat(sizes.map((s) => [String(s), sizeText(s)])), sizeSelect.value || String(defaultSize(overview) || ""));
  }
  function fillSelect(select, options, chosen) {
    const signature = JSON.stringify(options);
    if (select.dataset.options !== signature) {
      clear(select);
      for (const [value, text] of options) select.appendChild(new Option(text, value));
      select.dataset.options = signature;
    }
    if (chosen !== undefined && options.some((o) => o[0] === chosen)) select.value = chosen;
  }
  function defaultCharts(overview) {
    const pairs = (overview.pairs || []).slice();
    const size = defaultSize(overview);
    const alerted = pairs.filter((p) => p.alerts > 0).sort((a, b) => b.alerts - a.alerts || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const chosen = (alerted.length ? alerted : pairs).slice(0, 2);
    return chosen.map((p) => ({ key: p.key, metric: p.metric, size: size }));
  }
  $("add-chart").addEventListener("click", () => {
    const key = $("choose-key").value;
    const metric = $("choose-metric").value;
    if (!key || !metric) return;
    const sizeValue = $("choose-size-label").hidden ? "" : $("choose-size").value;
    const chart = { key: key, metric: metric, size: sizeValue ? Number(sizeValue) : null };
    if (!state.charts.some((c) => chartId(c) === chartId(chart))) state.charts.unshift(chart);
    writeHash();
    refresh();
  });

  function chartBox(c) {
    const container = $("charts");
    const id = chartId(c);
    for (const box of container.children) if (box.dataset.id === id) return box;
    const remove = el("button", { cls: "remove", text: "×", title: "remove this chart" });
    remove.type = "button";
    remove.addEventListener("click", () => {
      state.charts = state.charts.filter((x) => chartId(x) !== id);
      forget(id);
      box.remove();
      writeHash();
    });
    const box = el("div", { cls: "chart", data: { id: id, key: c.key, metric: c.metric } }, [
      el("div", { cls: "title", text: c.key + " · " + c.metric + (c.size ? " · " + sizeText(c.size) + " windows" : "") }),
      el("div", { cls: "note" }),
      el("div", { cls: "plot" }),
      remove,
    ]);
    container.appendChild(box);
    return box;
  }

  function drawSeries(c, s) {
    const box = chartBox(c);
    box.dataset.points = String(s.t.length);
    box.dataset.total = String(s.total);
    box.dataset.thresholds = String(s.thresholds.length);
    const firingAt = new Map(s.firing.map((f) => [f.t, f.value]));
    const data = [s.t, s.mean, s.p95, s.p99];
    const series = [
      timeSeries,
      { label: "mean", stroke: "#2e90fa", width: 2, value: (u, v) => fmt(v) },
      { label: "p95", stroke: "#7a5af8", width: 1, value: (u, v) => fmt(v) },
      { label: "p99", stroke: "#ee46bc", width: 1, value: (u, v) => fmt(v) },
    ];
    for (const th of s.thresholds) {
      data.push(s.t.map(() => th.value));
      series.push({ label: "threshold " + th.rule_id, stroke: "#d92d20", width: 1.5, dash: [6, 4], points: { show: false }, value: (u, v) => fmt(v) });
    }
    if (s.firing.length) {
      data.push(s.t.map((t) => (firingAt.has(t) ? firingAt.get(t) : null)));
      series.push({
        label: "alert value (FIRING)",
        stroke: "#d92d20",
        paths: () => null,
        points: { show: true, size: 9, fill: "#d92d20", stroke: "#d92d20" },
        value: (u, v) => fmt(v),
      });
    }
    const note = box.querySelector(".note");
    note.textContent =
      s.t.length +
      " windows" +
      (s.total > s.t.length ? " (the newest of " + s.total + ")" : "") +
      (s.thresholds.length ? "" : " · no alert judged these windows, so the store has no threshold for them");
    const plotBox = box.querySelector(".plot");
    if (!s.t.length) {
      forget(chartId(c));
      clear(plotBox);
      plotBox.appendChild(el("div", { cls: "empty", text: "no windows for this key and metric" }));
      return;
    }
    if (plotBox.firstChild && plotBox.firstChild.className === "empty") clear(plotBox);
    const signature = series.map((x) => x.label).join("\u0000");
    draw(
      chartId(c),
      plotBox,
      signature,
      (width) => ({
        width: width,
        height: 260,
        series: series,
        bands: [{ series: [3, 2], fill: "rgba(122, 90, 248, 0.15)" }],
        scales: { x: { time: true } },
        axes: [timeAxis(), { values: (u, vals) => vals.map(fmt), size: 60 }],
      }),
      data,
    );
  }

  // --- alert timeline ---------------------------------------------------------------------------
  function drawAlerts(a) {
    const timeline = $("timeline");
    timeline.dataset.alertCount = String(a.total);
    timeline.dataset.episodes = String(a.episodes.length);
    clear(timeline);
    if (!a.episodes.length) {
      timeline.appendChild(el("div", { cls: "empty", text: "no alerts in the store" }));
    } else {
      const horizon = Math.max(a.data_end || 0, ...a.episodes.map((e) => Math.max(e.last, e.end || 0)));
      const from = Math.min(...a.episodes.map((e) => e.start));
      const span = Math.max(1, horizon - from);
      const rows = new Map();
      for (const e of a.episodes) {
        const who = e.rule_id + "\u0000" + e.key;
        if (!rows.has(who)) rows.set(who, { rule: e.rule_id, key: e.key, episodes: [] });
        rows.get(who).episodes.push(e);
      }
      const sorted = [...rows.values()].sort((x, y) => (x.rule + x.key < y.rule + y.key ? -1 : 1));
      for (const row of sorted) {
        timeline.appendChild(el("div", { cls: "who" }, [el("span", { cls: "rule", text: row.rule + " · " }), el("span", { text: row.key })]));
        const track = el("div", { cls: "track", data: { rule: row.rule, key: row.key } });
        for (const e of row.episodes) {
          const end = e.resolved ? e.end : horizon;
          const bar = el("div", {
            cls: "bar " + e.severity + (e.resolved ? "" : " open") + (e.silenced ? " silenced" : ""),
            title:
              e.rule_id + " " + e.key + " (" + e.metric + ", " + e.severity + ")\nFIRING " + utc(e.start) +
              (e.resolved ? "\nRESOLVED " + utc(e.end) : "\nstill firing") +
              "\nvalue " + fmt(e.value) + ", threshold " + fmt(e.threshold) +
              (e.silenced ? "\nsilenced" : "") + "\n" + e.notifications + " notification(s)",
            data: { alertId: e.alert_id, status: e.resolved ? "RESOLVED" : "FIRING" },
          });
          bar.style.left = ((100 * (e.start - from)) / span).toFixed(3) + "%";
          bar.style.width = ((100 * Math.max(0, end - e.start)) / span).toFixed(3) + "%";
          track.appendChild(bar);
        }
        timeline.appendChild(track);
      }
      timeline.appendChild(el("div", { cls: "axis" }, [el("span", { text: utc(from) }), el("span", { text: utc(horizon) })]));
    }
    const rows = a.newest.map((n) =>
      el("tr", null, [
        td(n.emitted_at),
        td(n.status, "status-" + n.status),
        td(n.severity),
        td(n.rule_id),
        td(n.key),
        td(n.metric),
        td(fmt(n.value), "num"),
        td(fmt(n.threshold), "num"),
        td(n.window_start + " – " + n.window_end),
        td(n.message),
      ]),
    );
    table($("alerts-table"), ["emitted", "status", "severity", "rule", "key", "metric", "value", "threshold", "window", "message"], rows);
  }

  // --- dead letters -----------------------------------------------------------------------------
  function drawDeadLetters(d) {
    const reasons = d.reasons || [];
    const box = $("dead-letter-chart");
    box.dataset.total = String(d.total);
    table(
      $("dead-letter-reasons"),
      ["reason", "count"],
      reasons.map((r) => el("tr", null, [td(r.reason), td(fmt(r.count), "num")])),
    );
    const newest = $("dead-letters");
    newest.dataset.total = String(d.total);
    table(
      newest,
      ["failed at", "stage", "reason", "source", "error", "payload"],
      (d.newest || []).map((n) =>
        el("tr", { cls: "dead-letter" }, [
          td(n.failed_at),
          td(n.stage),
          td(n.reason),
          td(n.source),
          td(n.error),
          el("td", {}, [
            el("div", { cls: "payload", text: n.payload, data: { base64: n.payload_base64 } }),
            ...(n.payload_length > n.payload.length ? [el("div", { cls: "muted", text: "… " + (n.payload_length - n.payload.length) + " more characters" })] : []),
            ...(n.payload_base64 ? [el("div", { cls: "muted", text: "(not UTF-8: base64)" })] : []),
          ]),
        ]),
      ),
    );
    if (!d.total) {
      forget("dead-letters");
      clear(box);
      box.appendChild(el("div", { cls: "empty", text: "no dead letters in the store" }));
      return;
    }
    if (box.firstChild && box.firstChild.className === "empty") clear(box);
    // One empty bucket on either side, so a single bucket still has a width; stacked bars.
    const width = d.bucket_seconds;
    const t = [d.t[0] - width, ...d.t, d.t[d.t.length - 1] + width];
    const raw = reasons.map((r) => [0, ...d.counts[r.reason], 0]);
    const stacked = [];
    let below = t.map(() => 0);
    for (const counts of raw) {
      below = below.map((b, i) => b + counts[i]);
      stacked.push(below);
    }
    const series = [timeSeries];
    const data = [t];
    for (let i = reasons.length - 1; i >= 0; i--) {
      series.push({
        label: reasons[i].reason,
        stroke: COLORS[i % COLORS.length],
        fill: COLORS[i % COLORS.length],
        paths: uPlot.paths.bars({ size: [0.9, 80] }),
        value: ((counts) => (u, v, si, idx) => (idx === null || idx === undefined ? "–" : fmt(counts[idx])))(raw[i]),
      });
      data.push(stacked[i]);
    }
    draw(
      "dead-letters",
      box,
      series.map((s) => s.label).join("\u0000") + width,
      (w) => ({
        width: w,
        height: 200,
        series: series,
        scales: { x: { time: true } },
        // A tick per bucket (at most about 12 labelled), not uPlot's sub-bucket ticks.
        axes: [Object.assign(timeAxis(), { splits: (u) => u.data[0].filter((x, i, all) => i % Math.ceil(all.length / 12) === 0) }), { values: (u, vals) => vals.map(fmt), size: 60 }],
      }),
      data,
    );
  }

  // --- throughput and watermark lag -------------------------------------------------------------
  function drawThroughput(tp) {
    const box = $("throughput");
    const lagBox = $("lag");
    const metrics = Object.keys(tp.values || {}).sort();
    box.dataset.points = String(tp.t.length);
    lagBox.dataset.points = String(tp.lag_seconds.filter((v) => v !== null).length);
    if (!tp.t.length) {
      forget("throughput");
      forget("lag");
      clear(box);
      clear(lagBox);
      box.appendChild(el("div", { cls: "empty", text: "no windows in the store" }));
      return;
    }
    for (const b of [box, lagBox]) if (b.firstChild && b.firstChild.className === "empty") clear(b);
    const series = [timeSeries].concat(metrics.map((m, i) => ({ label: m, stroke: COLORS[i % COLORS.length], width: 2, value: (u, v) => fmt(v) })));
    draw(
      "throughput",
      box,
      metrics.join("\u0000"),
      (w) => ({ width: w, height: 220, series: series, scales: { x: { time: true } }, axes: [timeAxis(), { values: (u, vals) => vals.map(fmt), size: 60 }] }),
      [tp.t].concat(metrics.map((m) => tp.values[m])),
    );
    if (!tp.lag_known) {
      forget("lag");
      clear(lagBox);
      lagBox.appendChild(el("div", { cls: "empty", text: "this store has no write times (written_at): it was made by an older Sluice" }));
      return;
    }
    draw(
      "lag",
      lagBox,
      "lag",
      (w) => ({
        width: w,
        height: 220,
        series: [timeSeries, { label: "lag", stroke: "#f79009", width: 2, points: { show: true }, value: (u, v) => duration(v) }],
        scales: { x: { time: true } },
        axes: [timeAxis(), { values: (u, vals) => vals.map(duration), size: 96 }],
      }),
      [tp.t, tp.lag_seconds],
    );
  }

  // --- the refresh loop -------------------------------------------------------------------------
  let timer = null;
  let running = false;
  let again = false;
  async function refresh() {
    if (running) {
      again = true; // the refresh under way starts the next one at once
      return;
    }
    running = true;
    if (timer) clearTimeout(timer);
    timer = null;
    const status = $("status");
    try {
      const overview = await getJson("/api/overview");
      state.overview = overview;
      state.refreshSeconds = overview.refresh_seconds || 2;
      $("store").textContent = overview.store + " · schema " + overview.schema;
      $("n-windows").textContent = fmt(overview.windows);
      $("n-pairs").textContent = fmt((overview.pairs || []).length) + (overview.pairs_truncated ? "+" : "");
      $("n-alerts").textContent = fmt(overview.alerts);
      $("n-dead-letters").textContent = fmt(overview.dead_letters);
      updateChooser(overview);
      if (!state.charts.length && !state.chosen) {
        state.charts = readHash() || defaultCharts(overview);
        state.chosen = state.charts.length > 0;
        if (state.chosen) writeHash();
      }
      const size = defaultSize(overview);
      const [alerts, deadLetters, throughput, ...series] = await Promise.all(
        [getJson("/api/alerts"), getJson("/api/dead-letters"), getJson("/api/throughput", size ? { size: size } : null)].concat(
          state.charts.map((c) => getJson("/api/series", Object.assign({ key: c.key, metric: c.metric }, c.size ? { size: c.size } : {}))),
        ),
      );
      state.charts.forEach((c, i) => drawSeries(c, series[i]));
      // Keep the page's order of charts the list's order (newest added first).
      const container = $("charts");
      state.charts.forEach((c) => container.appendChild(chartBox(c)));
      drawAlerts(alerts);
      drawDeadLetters(deadLetters);
      drawThroughput(throughput);
      state.refreshes++;
      document.body.dataset.refreshes = String(state.refreshes);
      document.body.dataset.ready = "true";
      status.classList.remove("error");
      status.textContent = "updated " + new Date().toISOString().substring(11, 19) + " UTC · every " + state.refreshSeconds + " s";
    } catch (e) {
      status.classList.add("error");
      status.textContent = "cannot refresh: " + (e && e.message ? e.message : String(e)) + " (retrying)";
    }
    running = false;
    timer = setTimeout(refresh, again ? 0 : state.refreshSeconds * 1000);
    again = false;
  }

  // Counted so that a test (and you, in the console) can see that the policy never had to block
  // anything the page itself does.
  let violations = 0;
  document.addEventListener("securitypolicyviolation", () => {
    violations++;
    document.body.dataset.cspViolations = String(violations);
  });
  document.body.dataset.cspViolations = "0";
  refresh();
})();
