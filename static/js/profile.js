// The profile page's live parts. Every few seconds (as often as the server's last answer
// said) it asks /live for the banner, "Last watched", the recently watched posters and the
// tab's title, rendered by the server from the very partials of the page, and swaps in those
// that changed; between two answers it moves the progress bar. It tells /live which version
// of the history's sections it shows (data-history-key): when the mirror has another (on a
// first run, as the backfill goes on), the answer brings them too. Nothing else: every word and
// number on the page is the server's (profile/formatting.py), so no rule is written twice.
// Two things only the browser can do are done here: times of day in the viewer's own time
// zone and locale (Intl), and the moment a play's end time passes on this page's clock (the
// bar then stays full and the time left goes, and it asks at once: the answer says
// "Finishing" while Trakt still reports the play, and then what came next).
// Changes are also pushed: /live/stream (server-sent events) sends the very same answer the
// moment something changes (a media server's webhook, a Trakt refresh), and while it is open
// the page asks /live only once a minute (the minutes in the words). When the stream is
// refused (204 under `make run`, 503 while the server's Redis is down), closed for good or
// unsupported, the page polls as before and tries the stream again later; a stream that
// drops reconnects by itself, with the id of the last event it got.
"use strict";

(function () {
  const MAX_BACKOFF_MS = 10 * 60 * 1000;
  const STREAM_POLL_MS = 60 * 1000;
  const STREAM_RETRY_MS = 30 * 1000;

  const root = document.querySelector("[data-live]");
  if (!root) return;
  const liveUrl = root.dataset.liveUrl;
  const streamUrl = root.dataset.streamUrl;
  const announcer = root.querySelector("[data-announce]");

  let pollMs = Number(root.dataset.pollSeconds || 15) * 1000;
  let etag = null;
  let clockOffset = 0; // the server's time minus this browser's, in ms (its Date header)
  let failures = 0;
  let timer = null;
  let polling = false;
  let endPolledFor = null; // the end time we already asked about when it passed
  let shownPlay = playShown(); // what a screen reader was last told about
  let eventId = root.dataset.eventId || ""; // the last pushed answer this page has
  let source = null; // the open EventSource, if any
  let pushes = 0; // pushed answers applied so far
  let streaming = false;
  let streamRetryMs = STREAM_RETRY_MS;
  let streamTimer = null;

  function fragment(name) {
    return document.querySelector(`[data-fragment="${name}"]`);
  }

  function banner() {
    return fragment("banner")?.querySelector("[data-banner]") || null;
  }

  function playShown() {
    return banner()?.dataset.play || "";
  }

  // --- local times: the one formatting done here --------------------------------------------

  // The server renders times of day in the site's zone (for visitors without JavaScript);
  // only the browser knows the viewer's: "1:33 AM" in the US, "01:33" in the UK.
  function localize(within) {
    for (const time of within.querySelectorAll("time[data-local-time]")) {
      time.textContent = new Date(time.dateTime).toLocaleTimeString([], { timeStyle: "short" });
    }
  }

  // --- swapping fragments ---------------------------------------------------------------------

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const element = template.content.firstElementChild;
    if (element) localize(element);
    return element;
  }

  // Replaces `old` by `next`; focus inside it moves to the same link in the new one.
  function replace(old, next) {
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    old.replaceWith(next);
    const href = focused?.getAttribute("href");
    if (href) {
      const twin = [...next.querySelectorAll("[href]")].find((el) => el.getAttribute("href") === href);
      twin?.focus({ preventScroll: true });
    }
  }

  function swapBanner(next) {
    const current = fragment("banner");
    const was = current.querySelector("[data-banner]");
    const now = next.querySelector("[data-banner]");
    if (was && now && was.dataset.play === now.dataset.play) {
      // The same play: only the parts that changed, so the artwork stays and focus too.
      was.className = now.className;
      was.dataset.startedAt = now.dataset.startedAt;
      was.dataset.expiresAt = now.dataset.expiresAt;
      was.dataset.pausedAt = now.dataset.pausedAt;
      for (const part of now.querySelectorAll("[data-slot]")) {
        const old = was.querySelector(`[data-slot="${part.dataset.slot}"]`);
        if (old && !old.isEqualNode(part)) old.replaceWith(part);
      }
    } else if (!current.isEqualNode(next)) {
      replace(current, next);
    }
  }

  function apply(answer) {
    for (const [name, html] of Object.entries(answer.fragments)) {
      const current = fragment(name);
      const next = parse(html);
      if (!current || !next) continue;
      if (name === "banner") swapBanner(next);
      else if (!current.isEqualNode(next)) replace(current, next);
    }
    if (document.title !== answer.title) document.title = answer.title;
    const play = playShown();
    if (play !== shownPlay) {
      if (answer.announce) announcer.textContent = answer.announce;
      shownPlay = play;
    }
    pollMs = answer.poll_seconds * 1000;
    tick();
  }

  // --- between answers: the bar ---------------------------------------------------------------

  function tick() {
    const el = banner();
    if (!el) return;
    const started = Date.parse(el.dataset.startedAt);
    const expires = Date.parse(el.dataset.expiresAt);
    const paused = Date.parse(el.dataset.pausedAt || ""); // a paused player: the bar stands
    const now = Number.isNaN(paused) ? Date.now() + clockOffset : paused;
    const share = expires > started ? Math.min(1, Math.max(0, (now - started) / (expires - started))) : 1;
    const fill = el.querySelector(".progress-fill");
    // A CSSOM change, which a strict Content-Security-Policy allows (a style attribute it does not).
    if (fill) fill.style.width = `${(share * 100).toFixed(2)}%`;
    if (!Number.isNaN(paused)) return;
    el.classList.toggle("banner--finishing", now >= expires);
    if (now >= expires && endPolledFor !== el.dataset.expiresAt) {
      // The end time has passed: ask at once what comes next.
      endPolledFor = el.dataset.expiresAt;
      poll();
    }
  }

  // --- polling ----------------------------------------------------------------------------------

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function nextPoll() {
    return streaming ? Math.max(pollMs, STREAM_POLL_MS) : pollMs;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    clearTimeout(timer);
    root.setAttribute("aria-busy", "true");
    const pushesBefore = pushes;
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      const shown = fragment("history")?.dataset.historyKey;
      const url = shown === undefined ? liveUrl : `${liveUrl}?history=${encodeURIComponent(shown)}`;
      // no-store: the browser must not answer from, or revalidate, its own copy; we do.
      const response = await fetch(url, { headers, cache: "no-store" });
      const date = Date.parse(response.headers.get("Date") || "");
      if (!Number.isNaN(date)) clockOffset = date - Date.now();
      if (response.status !== 304) {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const answer = await response.json();
        // A push that arrived while this poll was on its way is as new or newer: an answer
        // rendered before it would take the page back (paused to playing, say).
        if (pushes === pushesBefore) {
          apply(answer);
          etag = response.headers.get("ETag");
        }
      }
      failures = 0;
    } catch (error) {
      failures += 1; // the site itself did not answer: wait longer each time
    } finally {
      polling = false;
      root.removeAttribute("aria-busy");
      if (document.visibilityState === "visible") {
        schedule(Math.min(nextPoll() * 2 ** failures, MAX_BACKOFF_MS));
      }
    }
  }

  // --- the stream ---------------------------------------------------------------------------------

  function listen() {
    clearTimeout(streamTimer);
    if (!streamUrl || !window.EventSource || source) return;
    const url = eventId ? `${streamUrl}?since=${encodeURIComponent(eventId)}` : streamUrl;
    source = new EventSource(url);
    source.addEventListener("open", () => {
      streaming = true;
      streamRetryMs = STREAM_RETRY_MS;
      schedule(nextPoll());
    });
    source.addEventListener("live", (message) => {
      eventId = message.lastEventId;
      pushes += 1;
      etag = null; // the next poll brings a whole answer, not a 304 of an older one
      apply(JSON.parse(message.data));
    });
    source.addEventListener("error", () => {
      if (streaming) {
        streaming = false;
        schedule(pollMs); // the stream had slowed the polls down: back to the usual pace
      }
      if (source.readyState !== EventSource.CLOSED) return; // reconnecting, with the last id
      // Refused or gone for good: keep polling, and try the stream again later.
      stopListening();
      streamTimer = setTimeout(listen, streamRetryMs);
      streamRetryMs = Math.min(streamRetryMs * 2, MAX_BACKOFF_MS);
    });
  }

  function stopListening() {
    clearTimeout(streamTimer);
    if (source) source.close();
    source = null;
    streaming = false;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      poll();
      listen();
    } else {
      clearTimeout(timer);
      stopListening();
    }
  });

  // An avatar that fails to load (or is blocked) gives way to the initials.
  const avatar = document.querySelector("img.avatar");
  if (avatar) {
    const fallBack = () => {
      const initials = document.createElement("span");
      initials.className = "avatar avatar--initials";
      initials.setAttribute("aria-hidden", "true");
      initials.textContent = avatar.dataset.initials;
      avatar.replaceWith(initials);
    };
    if (avatar.complete && avatar.naturalWidth === 0) fallBack();
    else avatar.addEventListener("error", fallBack);
  }

  localize(root);
  setInterval(tick, 1000);
  tick();
  schedule(pollMs);
  if (document.visibilityState === "visible") listen();
})();
