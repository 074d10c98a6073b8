// The profile page's live banner: polls /api/watching, fills the banner from the page's
// <template> (the same partial the server renders), and ticks the progress every second.
"use strict";

(function () {
  const POLL_MS = 60 * 1000;
  const MAX_BACKOFF_MS = 10 * 60 * 1000;

  const root = document.querySelector("[data-live]");
  if (!root) return;
  const slot = root.querySelector("[data-banner-slot]");
  const template = root.querySelector("[data-banner-template]");
  const lastWatched = root.querySelector("[data-last-watched]");
  const announce = root.querySelector("[data-announce]");
  const apiUrl = root.dataset.apiUrl;

  let etag = null;
  let clockOffset = 0; // server time minus browser time, in ms
  let failures = 0;
  let pollTimer = null;
  let polling = false;
  let endPolledFor = null; // the expires_at we already polled for when it passed
  let shownKey = null; // what the banner shows, to announce only real changes

  // --- formatting: the same rules as profile/formatting.py --------------------------------

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  // "45 min left", "1 h left", "1 h 20 min left" (formatting.time_left).
  function timeLeft(seconds) {
    const total = Math.ceil(Math.max(0, seconds) / 60);
    if (total < 60) return `${total} min left`;
    const hours = Math.floor(total / 60);
    const minutes = total % 60;
    return minutes ? `${hours} h ${minutes} min left` : `${hours} h left`;
  }

  // The viewer's own locale: "1:33 AM" in the US, "01:33" in the UK (not "01:33 AM").
  function timeOfDay(iso) {
    return new Date(iso).toLocaleTimeString([], { timeStyle: "short" });
  }

  // --- the banner --------------------------------------------------------------------------

  function banner() {
    return slot.querySelector("[data-banner]");
  }

  function field(el, name) {
    return el.querySelector(`[data-slot="${name}"]`);
  }

  function setText(el, name, text) {
    const node = field(el, name);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function setImage(img, src, alt) {
    img.hidden = !src;
    if (src) img.src = src;
    else img.removeAttribute("src");
    if (alt !== undefined) img.alt = alt;
  }

  function fill(el, content, demo) {
    const images = content.images || {};
    const progress = content.progress;
    el.dataset.startedAt = progress.started_at;
    el.dataset.expiresAt = progress.expires_at;

    const backdrop = field(el, "backdrop");
    if (images.backdrop) {
      backdrop.srcset = [
        `${images.backdrop_small} 300w`,
        `${images.backdrop_medium} 780w`,
        `${images.backdrop} 1280w`,
      ].join(", ");
      backdrop.sizes = "(max-width: 72rem) 100vw, 72rem";
    } else {
      backdrop.removeAttribute("srcset");
    }
    setImage(backdrop, images.backdrop);
    el.classList.toggle("banner--plain", !images.backdrop);

    const thumb = images.still || images.poster;
    const thumbAlt = images.still
      ? `Still from ${content.title} ${content.subtitle || ""}`.trim()
      : `Poster of ${content.title}`;
    const thumbEl = field(el, "thumb");
    setImage(thumbEl, thumb, thumbAlt);
    thumbEl.classList.toggle("banner-thumb--poster", Boolean(thumb && !images.still));

    setText(el, "label", content.action === "checkin" ? "Checked in" : "Now Watching");
    setText(el, "title", content.title);
    setText(el, "subtitle", content.subtitle);
    const kind = content.type === "movie" ? "Movie" : "TV";
    setText(el, "meta", content.year ? `${content.year} · ${kind}` : kind);
    setText(el, "total", clock(progress.duration_seconds));
    for (const [name, iso] of [["start", progress.started_at], ["end", progress.expires_at]]) {
      field(el, name).dateTime = iso;
    }
    for (const link of el.querySelectorAll("[data-link]")) {
      const href = (content.links || {})[link.dataset.link];
      link.hidden = !href;
      // The demo's ids are made up: a placeholder (no href), never someone else's title.
      if (href && !demo) link.href = href;
      else link.removeAttribute("href");
    }
  }

  function localizeTimes(el) {
    field(el, "start").textContent = timeOfDay(el.dataset.startedAt);
    field(el, "end").textContent = timeOfDay(el.dataset.expiresAt);
  }

  function show(content, demo) {
    const key = `${content.title}|${content.subtitle || ""}`;
    let el = banner();
    if (!el) {
      el = template.content.firstElementChild.cloneNode(true);
      fill(el, content, demo);
      slot.replaceChildren(el);
    } else {
      fill(el, content, demo);
    }
    localizeTimes(el);
    lastWatched.hidden = true;
    if (key !== shownKey) {
      announce.textContent = `Now watching ${content.title}`;
      shownKey = key;
    }
    tick();
  }

  function clear() {
    const hadBanner = Boolean(banner());
    slot.replaceChildren();
    lastWatched.hidden = !lastWatched.textContent.trim();
    if (hadBanner) announce.textContent = "Nothing playing now";
    shownKey = null;
  }

  // Between polls: bar, percentage, elapsed and time left, from the server's clock.
  function tick() {
    const el = banner();
    if (!el) return;
    const started = Date.parse(el.dataset.startedAt);
    const expires = Date.parse(el.dataset.expiresAt);
    const now = Date.now() + clockOffset;
    const duration = Math.max(0, expires - started);
    const elapsed = Math.min(duration, Math.max(0, now - started));
    const share = duration > 0 ? elapsed / duration : 1;
    const percent = Math.floor(share * 100);

    const bar = field(el, "progress");
    bar.setAttribute("aria-valuenow", String(percent));
    const fillEl = bar.firstElementChild;
    fillEl.className = "progress-fill";
    // A CSSOM change, which a strict Content-Security-Policy allows (a style attribute it does not).
    fillEl.style.width = `${(share * 100).toFixed(2)}%`;
    field(el, "percent").textContent = `${percent}%`;
    field(el, "elapsed").textContent = clock(elapsed / 1000);
    field(el, "left").textContent = timeLeft((expires - now) / 1000);

    if (now >= expires && endPolledFor !== el.dataset.expiresAt) {
      // It has ended: ask at once what comes next rather than sit at 100 %.
      endPolledFor = el.dataset.expiresAt;
      poll();
    }
  }

  // --- polling -------------------------------------------------------------------------------

  function schedule(delay) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, delay);
  }

  async function poll() {
    if (polling) return;
    polling = true;
    clearTimeout(pollTimer);
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      // no-store: the browser must not answer from, or revalidate, its own copy; we do.
      const response = await fetch(apiUrl, { headers, cache: "no-store" });
      const date = Date.parse(response.headers.get("Date") || "");
      if (!Number.isNaN(date)) clockOffset = date - Date.now();
      if (response.status === 304) {
        failures = 0;
        return;
      }
      const body = await response.json();
      if (body.content) {
        show(body.content, body.demo);
      } else if (response.ok) {
        clear();
      } else {
        // Trakt failing with nothing kept: leave what is shown, but drop a skeleton.
        slot.querySelector("[data-banner-skeleton]")?.remove();
        throw new Error(`HTTP ${response.status}`);
      }
      if (response.ok) {
        etag = response.headers.get("ETag");
        failures = 0;
      }
    } catch (error) {
      failures += 1;
      slot.querySelector("[data-banner-skeleton]")?.remove();
    } finally {
      polling = false;
      if (document.visibilityState === "visible") {
        schedule(Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS));
      }
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") poll();
    else clearTimeout(pollTimer);
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

  setInterval(tick, 1000);
  const initial = banner();
  if (initial) {
    // Already on the page: only a change from here on is worth announcing.
    shownKey = `${field(initial, "title").textContent}|${field(initial, "subtitle").textContent}`;
    localizeTimes(initial);
    tick();
  }
  if (root.dataset.pending === "true") poll();
  else schedule(POLL_MS);
})();
