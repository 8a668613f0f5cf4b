// The console's behaviour in the browser: live updates (server-sent events), countdowns, sound, keyboard.
(function () {
  "use strict";
  var body = document.body;
  var watch = body.dataset.watch || "";
  var serverNow = Date.parse(body.dataset.clockNow || "") || Date.now();
  var speed = parseFloat(body.dataset.clockSpeed || "1") || 1;
  var loadedAt = Date.now();

  function policyNow() { return serverNow + (Date.now() - loadedAt) * speed; }

  function beep(urgent) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = beep.ctx || (beep.ctx = new Ctx());
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = urgent ? 880 : 660;
      gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + (urgent ? 0.6 : 0.25));
    } catch (e) { /* no sound available */ }
  }

  function notice(data) {
    var box = document.getElementById("notices");
    if (!box) { return; }
    var item = document.createElement("div");
    item.className = "notice" + (data.urgent ? " urgent" : "");
    item.setAttribute("role", data.urgent ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = data.text + (data.reason ? " (" + data.reason + ")" : "");
    item.appendChild(text);
    if (data.ticket_id) {
      var link = document.createElement("a");
      link.href = data.href || "/tickets/" + encodeURIComponent(data.ticket_id);
      link.textContent = " → " + data.ticket_id.slice(0, 8);
      item.appendChild(link);
    }
    var close = document.createElement("button");
    close.type = "button"; close.className = "small"; close.textContent = "×";
    close.setAttribute("aria-label", "dismiss");
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    box.prepend(item);
    beep(data.urgent);
  }

  function mergeTimeline() {
    window.fetch("/tickets/" + encodeURIComponent(watch) + "/timeline", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var list = document.getElementById("timeline");
        var added = false;
        holder.content.querySelectorAll("li[id]").forEach(function (item) {
          if (document.getElementById(item.id)) { return; }
          var when = item.querySelector("time").getAttribute("datetime");
          var after = null;
          list.querySelectorAll("li").forEach(function (old) {
            if (old.querySelector("time").getAttribute("datetime") > when && after === null) { after = old; }
          });
          list.insertBefore(item, after);
          added = true;
        });
        if (added) { body.dispatchEvent(new CustomEvent("ticket-changed")); }
      });
  }

  function connect() {
    if (!body.dataset.signedIn || !window.EventSource) { return; }
    var query = (watch ? "watch=" + encodeURIComponent(watch) : "") + (body.dataset.board ? (watch ? "&" : "") + "board=1" : "");
    var source = new EventSource("/events" + (query ? "?" + query : ""));
    source.addEventListener("call", function (e) {
      var data = JSON.parse(e.data);
      window.htmx.ajax("GET", "/calls/" + encodeURIComponent(data.call_id) + "/pop", { target: "#call-pop", swap: "innerHTML" });
      beep(true);
    });
    source.addEventListener("ticket", function (e) {
      var data = JSON.parse(e.data);
      if (data.ticket_id !== watch) { return; }
      var list = document.getElementById("timeline");
      if (list && !document.getElementById("ev-" + data.event_id)) {
        list.insertAdjacentHTML("beforeend", data.html);
      }
      body.dispatchEvent(new CustomEvent("ticket-changed"));
      // intake's view follows the same topic: look again in case it had not caught up yet
      window.setTimeout(function () { body.dispatchEvent(new CustomEvent("ticket-changed")); }, 2500);
    });
    source.addEventListener("notice", function (e) { notice(JSON.parse(e.data)); });
    // events between the page's rendering and the stream's opening: merge the timeline as the service has it,
    // and again a little later, since intake's view follows the same topic and may not have caught up yet
    source.addEventListener("open", function () {
      if (!watch || !document.getElementById("timeline")) { return; }
      mergeTimeline();
      window.setTimeout(mergeTimeline, 2500);
      window.setTimeout(mergeTimeline, 6000);
    });
    // the desk is never reloaded under the agent's hands: it says the queue changed, with a link to see it
    source.addEventListener("callbacks", function () {
      var changed = document.getElementById("desk-changed");
      if (changed) { changed.hidden = false; }
    });
    // issue 17: a list of the user's work changed (inbox, center queues, division): notice with sound, refresh
    source.addEventListener("work", function (e) {
      var data = JSON.parse(e.data);
      notice(data);
      body.dispatchEvent(new CustomEvent("work-changed", { detail: data }));
      var live = document.getElementById("live-work");
      if (live) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = data.href || "/tickets/" + encodeURIComponent(data.ticket_id || "");
        link.textContent = new Date().toLocaleTimeString() + " · " + data.text;
        item.appendChild(link);
        if (data.urgent) { item.className = "urgent"; }
        live.prepend(item);
      }
      var changed = document.getElementById("queue-changed");
      if (changed) { changed.hidden = false; }
    });
    // issue 18: the wallboard (static/wallboard.js) hears breaches and changes, and whether the stream is open
    source.addEventListener("wallboard", function (e) {
      body.dispatchEvent(new CustomEvent("wallboard-event", { detail: JSON.parse(e.data) }));
    });
    source.addEventListener("open", function () {
      body.dataset.stream = "open";  // for a script that starts after the stream opened
      body.dispatchEvent(new CustomEvent("stream-open"));
    });
    source.addEventListener("error", function () {
      body.dataset.stream = "lost";
      body.dispatchEvent(new CustomEvent("stream-lost"));
    });
    window.addEventListener("beforeunload", function () { source.close(); });
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = policyNow();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      // working-day clocks count down from the working time the server computed (no day off in between today)
      var left = el.dataset.left !== undefined
        ? Math.round(parseFloat(el.dataset.left) - (Date.now() - loadedAt) * speed / 1000)
        : Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      var abs = Math.abs(left);
      var text = two(Math.floor(abs / 3600)) + ":" + two(Math.floor(abs / 60) % 60) + ":" + two(abs % 60);
      el.textContent = (left < 0 ? "−" : "") + text;
      el.classList.toggle("overdue", left < 0);
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      var key = e.key.toLowerCase();
      var go = { n: "/work-orders/new", s: "/search", b: "/callbacks/next", h: "/home" }[key];
      if (go) { e.preventDefault(); window.location.assign(go); }
    }
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      var form = e.target.closest ? e.target.closest("form[data-submit-shortcut]") : null;
      form = form || document.querySelector("form[data-submit-shortcut]");
      if (form) { e.preventDefault(); form.requestSubmit(); }
    }
  });

  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-now-into]") : null;
    if (!button) { return; }
    var input = document.getElementById(button.dataset.nowInto);
    var now = new Date(policyNow());
    if (input) { input.value = two(now.getHours()) + ":" + two(now.getMinutes()); input.focus(); }
  });

  // a complaint among the call's other requests asks for the complaint's subject too
  document.addEventListener("change", function (e) {
    if (!e.target.matches || !e.target.matches("[data-request-kind]")) { return; }
    var fields = document.getElementById("complaint-fields");
    if (!fields) { return; }
    var main = document.getElementById("category");
    var any = Array.prototype.some.call(document.querySelectorAll("[data-request-kind]"), function (s) { return s.value === "complaint"; });
    fields.hidden = !(any || (main && main.value === "complaint"));
  });

  // issue 17: a button that opens the form it controls (the unit's actions, the center's reject, ...)
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[data-opens]") : null;
    if (!button) { return; }
    var form = document.getElementById(button.dataset.opens);
    if (!form) { return; }
    form.hidden = !form.hidden;
    button.setAttribute("aria-expanded", form.hidden ? "false" : "true");
    if (!form.hidden) {
      var first = form.querySelector("textarea, input:not([type=hidden]), select");
      form.scrollIntoView({ block: "start" });
      if (first) { first.focus(); }
    }
  });
  // an action refused (422), changed meanwhile (409) or not allowed (403) still shows the page's answer
  document.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    if (status === 422 || status === 409 || status === 403) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  connect();
  tick();
  window.setInterval(tick, 1000);
})();
