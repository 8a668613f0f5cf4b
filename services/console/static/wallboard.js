// Issue 18: the wallboard (大屏). Figures from /reporting/wallboard/data, drawn with Apache ECharts (served from
// node_modules by the console, never a CDN); live: each event the stream pushes (app.js) shows at once and
// reloads the figures, again a little later since reporting's store follows the same topics.
(function () {
  "use strict";
  var board = document.getElementById("wallboard");
  if (!board) { return; }
  var body = document.body;
  var labels = board.dataset;
  var gauges = {};
  var unitsChart = null;
  var pending = null;
  var offsetMinutes = 480;  // the branch's offset, from the data (Asia/Shanghai until it comes)

  function wallTime(iso) {  // hh:mm:ss on the branch's wall clock, with its offset
    var shifted = new Date(Date.parse(iso) + offsetMinutes * 60000).toISOString().slice(11, 19);
    var sign = offsetMinutes < 0 ? "-" : "+";
    var abs = Math.abs(offsetMinutes);
    return shifted + " " + sign + String(100 + Math.floor(abs / 60)).slice(1) + ":" + String(100 + abs % 60).slice(1);
  }

  function text(id, value) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var missing = value === null || value === undefined;  // its service is not answering: say so, never show 0
    el.textContent = missing ? "–" : String(value);
    el.title = missing ? labels.labelUnavailable : "";
  }

  function gauge(el) {
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    gauges[el.dataset.clock] = { chart: chart, label: el.dataset.label };
    return chart;
  }

  function drawGauge(g, data) {
    var rate = data.rate;
    g.chart.setOption({
      animation: false,
      title: { text: g.label, left: "center", bottom: 0, textStyle: { fontSize: 20, color: "#fff" } },
      series: [{
        type: "gauge", min: 0, max: 100, radius: "88%", center: ["50%", "52%"],
        progress: { show: true, width: 16 },
        axisLine: { lineStyle: { width: 16, color: [[0.8, "#ff4d4f"], [0.95, "#faad14"], [1, "#52c41a"]] } },
        axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false }, pointer: { show: false },
        detail: {
          valueAnimation: false, fontSize: 34, color: "#fff", offsetCenter: [0, "0%"],
          formatter: function () { return rate === null ? "–" : rate.toFixed(1) + "%"; }
        },
        data: [{ value: rate === null ? 0 : rate }]
      }]
    });
  }

  function drawUnits(units) {
    if (!unitsChart) { unitsChart = window.echarts.init(document.getElementById("units-chart"), null, { renderer: "svg" }); }
    var names = units.map(function (u) { return u.unit; });
    unitsChart.setOption({
      animation: false,
      textStyle: { fontSize: 16, color: "#fff" },
      legend: { data: [labels.labelBreaches, labels.labelDue], textStyle: { color: "#fff", fontSize: 16 } },
      grid: { left: 150, right: 24, top: 40, bottom: 24 },
      xAxis: { type: "value", minInterval: 1, axisLabel: { color: "#d9d9d9", fontSize: 14 } },
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { color: "#fff", fontSize: 16 } },
      series: [
        { name: labels.labelBreaches, type: "bar", stack: "risk", color: "#ff4d4f", data: units.map(function (u) { return u.breaches; }) },
        { name: labels.labelDue, type: "bar", stack: "risk", color: "#faad14", data: units.map(function (u) { return u.due; }) }
      ]
    }, true);
  }

  function show(data) {
    text("fig-calls-now", data.calls_now);
    text("fig-calls", data.calls_today);
    text("fig-received", data.received_today);
    text("fig-open", data.open);
    text("fig-due", data.due_within_hour);
    text("fig-breaches", data.breaches_today);
    text("fig-escalations", data.escalations_today);
    offsetMinutes = data.zone_offset_minutes;
    text("board-time", wallTime(data.at));
    board.dataset.breaches = String(data.breaches_today);
    data.gauges.forEach(function (g) { if (gauges[g.clock]) { drawGauge(gauges[g.clock], g); } });
    drawUnits(data.units_at_risk);
  }

  function load() {
    window.fetch(labels.dataUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } });
  }

  function later() {
    // a burst of events reloads once; then once more when reporting has surely read them too
    if (pending) { return; }
    pending = window.setTimeout(function () { pending = null; load(); window.setTimeout(load, 3000); }, 700);
  }

  function feed(data) {
    if (!data.breach && !data.escalation) { return; }
    var list = document.getElementById("board-feed");
    var hint = list.querySelector(".hint");
    if (hint) { hint.remove(); }
    var item = document.createElement("li");
    item.className = data.breach ? "breach" : "escalation";
    var what = (data.breach ? labels.labelBreach : labels.labelEscalation) + " · " + data.text;
    item.textContent = wallTime(data.occurred_at) + " · " + what +
      (data.unit_id ? " · " + data.unit_id : "") + (data.ticket_id ? " · " + data.ticket_id.slice(0, 8) : "");
    list.prepend(item);
    while (list.children.length > 12) { list.lastElementChild.remove(); }
    if (data.breach) {  // the count moves at once; the reload confirms it from reporting's store
      var el = document.getElementById("fig-breaches");
      var n = parseInt(el.textContent, 10);
      if (!isNaN(n)) { el.textContent = String(n + 1); }
    }
  }

  document.querySelectorAll(".board-gauge").forEach(gauge);
  window.addEventListener("resize", function () {
    Object.keys(gauges).forEach(function (k) { gauges[k].chart.resize(); });
    if (unitsChart) { unitsChart.resize(); }
  });
  body.addEventListener("wallboard-event", function (e) { feed(e.detail); later(); });
  function opened() {
    text("board-live", labels.labelLive);
    document.getElementById("board-live").className = "board-live on";
  }
  body.addEventListener("stream-open", function () { opened(); load(); });  // and what happened while closed
  body.addEventListener("stream-lost", function () {
    text("board-live", labels.labelOffline);
    document.getElementById("board-live").className = "board-live";
  });
  if (body.dataset.stream === "open") { opened(); }  // app.js opened it before this script ran
  load();
  window.setInterval(load, 60000);  // the clock moves even when nothing happens (due within the hour)
})();
