// The wallboard (docs/api.md, GET /): the chat queues from GET /v1/chat/queues, fetched every
// POLL_MS; the oldest wait keeps counting in between. The professionals advised for the
// current hour come from GET /v1/chat/forecast, fetched every FORECAST_MS. The read token comes once in the URL
// fragment (#token=kanava_…, never sent to the server), is kept in localStorage and sent as
// Authorization: Bearer. No data is ever written as HTML: names go in through textContent.
"use strict";

(function () {
  var POLL_MS = 3000; // at most 5 s between updates (docs/api.md)
  var TIMEOUT_MS = 4000; // a request that takes longer counts as failed
  var STALE_MS = 15000; // no successful update for this long: shown as stale
  var TICK_MS = 250; // clock and counting waits
  var KEY = "kanava.wallboard.token";
  var FORECAST_MS = 60000; // the advice changes by the hour; the server recomputes it per request

  // The page's texts in its language (GET / renders them from the catalogues): tr("key").
  var TEXTS = JSON.parse(document.getElementById("texts").textContent);
  var PERCENT = new Intl.NumberFormat(document.documentElement.lang, {
    style: "percent",
    maximumFractionDigits: 0,
  });

  function tr(key, values) {
    var text = Object.prototype.hasOwnProperty.call(TEXTS, key) ? TEXTS[key] : key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && name in values ? String(values[name]) : whole;
    });
  }

  var memory = null; // if localStorage is unavailable, the token lives as long as the page
  var tokens = {
    get: function () {
      try {
        var stored = window.localStorage.getItem(KEY);
        return stored !== null ? stored : memory;
      } catch (e) {
        return memory;
      }
    },
    set: function (value) {
      memory = value;
      try {
        window.localStorage.setItem(KEY, value);
      } catch (e) {
        /* kept in memory */
      }
    },
    clear: function () {
      memory = null;
      try {
        window.localStorage.removeItem(KEY);
      } catch (e) {
        /* nothing stored */
      }
    },
  };

  var state = {
    queues: null, // the last successful answer's queues
    asOf: null, // its as_of (Date)
    receivedAt: 0, // performance.now() when it arrived
    error: null, // {message, detail, setup} of the last failure, null after a success
    cards: new Map(), // queue_id -> card elements
    forecast: new Map(), // queue_id -> its hours [{start (ms), end (ms), professionals, expected}]
  };

  function el(id) {
    return document.getElementById(id);
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clock(date) {
    return pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var rest = pad(s % 60);
    return h > 0 ? h + ":" + pad(m) + ":" + rest : m + ":" + rest;
  }

  // Green under half the queue's service-level seconds, amber up to it, red beyond.
  function level(wait, limit) {
    if (wait > limit) return "over";
    if (wait >= limit / 2) return "near";
    return "ok";
  }

  // --- the token ----------------------------------------------------------------------
  function takeToken() {
    var fragment = window.location.hash.replace(/^#/, "");
    if (fragment) {
      var params = new URLSearchParams(fragment);
      if (params.has("token")) {
        var given = (params.get("token") || "").trim();
        if (given) tokens.set(given);
        else tokens.clear(); // #token= forgets the stored token
        var url = window.location.pathname + window.location.search;
        window.history.replaceState(null, "", url);
      }
    }
    return tokens.get();
  }

  // --- fetching -----------------------------------------------------------------------
  function failure(message, detail, setup) {
    return { message: message, detail: detail || "", setup: !!setup };
  }

  function valid(body) {
    return (
      body &&
      typeof body.as_of === "string" &&
      Array.isArray(body.queues) &&
      body.queues.every(function (q) {
        return q && typeof q.queue_id === "string" && typeof q.name === "string";
      })
    );
  }

  function poll() {
    var token = tokens.get();
    if (!token) {
      showSetup();
      return; // nothing to fetch until the page is opened with a token
    }
    var controller = new AbortController();
    var timer = window.setTimeout(function () {
      controller.abort();
    }, TIMEOUT_MS);
    fetch("v1/chat/queues", {
      headers: headers(token),
      cache: "no-store",
      credentials: "omit",
      signal: controller.signal,
    })
      .then(function (response) {
        if (response.status === 401) {
          throw failure(
            tr("The token is not accepted (401)"),
            tr("The token is revoked or wrong. Create a new one and open the screen with it."),
            true
          );
        }
        if (response.status === 403) {
          throw failure(
            tr("The token may not read (403)"),
            tr("Create a token with the scope read."),
            true
          );
        }
        if (!response.ok) {
          throw failure(tr("The server answered with an error {status}", { status: response.status }));
        }
        return response.json().catch(function () {
          throw failure(tr("The server gave an unexpected answer"));
        });
      })
      .then(function (body) {
        if (!valid(body)) throw failure(tr("The server gave an unexpected answer"));
        state.queues = body.queues;
        state.asOf = new Date(body.as_of);
        state.receivedAt = performance.now();
        state.error = null;
        render();
      })
      .catch(function (err) {
        if (err && typeof err.message === "string" && "setup" in err) {
          state.error = err;
        } else if (err && err.name === "AbortError") {
          state.error = failure(tr("The server did not answer in time"));
        } else {
          state.error = failure(tr("Cannot reach the server"));
        }
        render();
      })
      .then(function () {
        window.clearTimeout(timer);
        window.setTimeout(poll, POLL_MS);
      });
  }

  function headers(token) {
    return { Authorization: "Bearer " + token, Accept: "application/json" };
  }

  // The forecast is an extra: when it fails the column shows "–" and the board goes on.
  function pollForecast() {
    var token = tokens.get();
    var next = function () {
      window.setTimeout(pollForecast, FORECAST_MS);
    };
    if (!token) return next();
    fetch("v1/chat/forecast", { headers: headers(token), cache: "no-store", credentials: "omit" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body || !Array.isArray(body.rows)) return;
        var byQueue = new Map();
        body.rows.forEach(function (row) {
          if (!byQueue.has(row.queue_id)) byQueue.set(row.queue_id, []);
          byQueue.get(row.queue_id).push(hourOf(row));
        });
        state.forecast = byQueue;
        if (state.queues !== null) renderQueues();
      })
      .catch(function () {
        /* the last forecast stays */
      })
      .then(next);
  }

  function hourOf(h) {
    var start = Date.parse(h.hour);
    return {
      start: start,
      end: start + 3600000,
      professionals: h.professionals_advised,
      expected: h.expected_offered,
    };
  }

  function currentHour(queueId) {
    var now = Date.now();
    var hours = state.forecast.get(queueId) || [];
    for (var i = 0; i < hours.length; i++) {
      if (hours[i].start <= now && now < hours[i].end) return hours[i];
    }
    return null;
  }

  // --- rendering ----------------------------------------------------------------------
  function showSetup() {
    var url = window.location.origin + window.location.pathname + "#token=…";
    el("setup-url").textContent = url;
    el("setup").hidden = false;
    setStatus(tr("No token"), true);
  }

  function setStatus(text, isStale) {
    var status = el("status");
    status.replaceChildren(make("span", "", text));
    status.className = isStale ? "status stale" : "status";
  }

  function figure(row, field) {
    var box = make("div", "figure");
    box.dataset.field = field;
    var value = make("span", "value", "–");
    box.appendChild(value);
    row.appendChild(box);
    return { box: box, value: value, note: null };
  }

  function note(f) {
    f.note = make("span", "note");
    f.box.appendChild(f.note);
    return f;
  }

  function number(field) {
    var node = make("b", "", "–");
    node.dataset.field = field;
    return node;
  }

  function newCard(queueId) {
    var root = make("section", "row card");
    root.dataset.queueId = queueId;
    var head = make("div", "name-cell");
    var name = make("h2", "name");
    var badge = make("span", "badge");
    badge.dataset.field = "open";
    head.appendChild(name);
    head.appendChild(badge);
    root.appendChild(head);
    var waiting = figure(root, "waiting");
    var wait = note(figure(root, "oldest-wait"));
    var active = figure(root, "active");
    var free = note(figure(root, "free"));
    var slots = number("capacity-slots");
    var agents = number("agents-available");
    free.count = make("span", "", "–");
    var of = make("span", "of", " / ");
    of.appendChild(slots);
    free.value.replaceChildren(free.count, of);
    free.note.replaceChildren(document.createTextNode(tr("professionals") + " "), agents);
    var staffing = note(figure(root, "staffing"));
    staffing.needed = make("span", "", "–");
    staffing.onDuty = number("on-duty");
    var ofOnDuty = make("span", "of", " / ");
    ofOnDuty.appendChild(staffing.onDuty);
    staffing.value.replaceChildren(staffing.needed, ofOnDuty);
    var sl = note(figure(root, "service-level"));
    return {
      root: root,
      name: name,
      badge: badge,
      waiting: waiting,
      wait: wait,
      active: active,
      free: free,
      slots: slots,
      agents: agents,
      staffing: staffing,
      sl: sl,
      queue: null,
    };
  }

  function fillCard(card, q) {
    card.queue = q;
    card.name.textContent = q.name;
    card.badge.textContent = q.open ? tr("Open") : tr("Closed");
    card.badge.className = "badge " + (q.open ? "open" : "closed");
    card.root.classList.toggle("closed", !q.open);
    card.waiting.value.textContent = String(q.waiting);
    card.active.value.textContent = String(q.active);
    card.free.count.textContent = String(Math.max(0, q.capacity_slots - q.active));
    card.slots.textContent = String(q.capacity_slots);
    card.agents.textContent = String(q.agents_available);
    showStaffing(card.staffing, q, currentHour(q.queue_id));
    card.sl.value.textContent =
      q.service_level_today === null || q.service_level_today === undefined
        ? "–"
        : PERCENT.format(q.service_level_today);
    card.sl.note.textContent = tr("answered ≤ {seconds} s", { seconds: q.service_level_seconds });
  }

  // Needed (the advice for this hour) over on duty (available or busy); amber when short.
  function showStaffing(f, q, hour) {
    var needed = hour && typeof hour.professionals === "number" ? hour.professionals : null;
    f.needed.textContent = needed === null ? "–" : String(needed);
    f.onDuty.textContent = String(q.professionals_on_duty);
    f.note.textContent =
      hour && typeof hour.expected === "number"
        ? tr("forecast {chats} chats an hour", { chats: Math.round(hour.expected) })
        : tr("no forecast");
    var short = q.open && needed !== null && needed > q.professionals_on_duty;
    f.box.className = "figure staffing" + (short ? " short" : "");
  }

  // The oldest wait now: the answer's figure plus the time since it arrived (while fresh).
  function showWait(card, elapsedSeconds) {
    var q = card.queue;
    var box = card.wait.box;
    if (!q || q.waiting === 0) {
      card.wait.value.textContent = "–";
      card.wait.note.textContent = tr("limit {limit}", {
        limit: duration(q ? q.service_level_seconds : 0),
      });
      box.className = "figure wait ok";
      card.root.classList.remove("over");
      return;
    }
    var wait = q.oldest_wait_seconds + elapsedSeconds;
    var lvl = level(wait, q.service_level_seconds);
    card.wait.value.textContent = duration(wait);
    var limit = { limit: duration(q.service_level_seconds) };
    card.wait.note.textContent =
      lvl === "over" ? tr("limit {limit} – over the limit", limit) : tr("limit {limit}", limit);
    box.className = "figure wait " + lvl;
    card.root.classList.toggle("over", lvl === "over");
  }

  function stale() {
    if (state.error) return true;
    return state.queues !== null && performance.now() - state.receivedAt > STALE_MS;
  }

  function elapsed() {
    // A stale board stops counting: it shows the last known figures, marked as such.
    return stale() ? 0 : (performance.now() - state.receivedAt) / 1000;
  }

  function renderQueues() {
    var main = el("queues");
    var seen = new Set();
    var wanted = [];
    state.queues.forEach(function (q) {
      var card = state.cards.get(q.queue_id);
      if (!card) {
        card = newCard(q.queue_id);
        state.cards.set(q.queue_id, card);
      }
      fillCard(card, q);
      showWait(card, 0);
      seen.add(q.queue_id);
      wanted.push(card.root);
    });
    state.cards.forEach(function (card, id) {
      if (!seen.has(id)) state.cards.delete(id);
    });
    el("columns").hidden = wanted.length === 0;
    // The type grows until the queues fill the screen (see --rows in the page's style).
    document.documentElement.style.setProperty("--rows", String(Math.max(3, wanted.length)));
    if (wanted.length === 0) {
      wanted.push(make("p", "empty", tr("This token shows no chat queue.")));
    }
    main.replaceChildren.apply(main, wanted);
  }

  function renderStatus() {
    var alert = el("alert");
    var isStale = stale();
    document.body.classList.toggle("stale", isStale);
    var last = state.asOf ? clock(state.asOf) : null;
    if (!isStale) {
      setStatus(tr("Updated {time}", { time: last }), false);
      alert.hidden = true;
      return;
    }
    setStatus(last ? tr("Out of date – updated {time}", { time: last }) : tr("No data"), true);
    var reason = state.error || failure(tr("The data do not update"));
    var shown = last
      ? tr("Showing the last successful update, at {time}.", { time: last })
      : tr("No data received yet.");
    alert.replaceChildren(
      document.createTextNode(reason.message + ". " + shown),
      make("span", "detail", reason.detail)
    );
    alert.hidden = false;
  }

  function render() {
    if (state.queues !== null) renderQueues();
    if (state.error && state.error.setup) {
      showSetup();
    } else {
      el("setup").hidden = true;
    }
    renderStatus();
  }

  function tick() {
    el("clock").textContent = clock(new Date());
    if (state.queues === null) return;
    var seconds = elapsed();
    state.cards.forEach(function (card) {
      showWait(card, seconds);
    });
    if (document.body.classList.contains("stale") !== stale()) renderStatus();
  }

  function start() {
    takeToken();
    tick();
    window.setInterval(tick, TICK_MS);
    poll();
    pollForecast();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
