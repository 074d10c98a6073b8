// The search page: results as you type. The form works without script (a plain GET of
// /search?q=); with it, each pause in typing asks /search/live for the results part,
// rendered by the server from the page's own partial, and swaps it in. Nothing else: no
// word or rule of the results is written here.
"use strict";

(function () {
  const WAIT_MS = 150;

  const form = document.querySelector("[data-search]");
  const results = document.querySelector("[data-search-results]");
  if (!form || !results) return;
  const input = form.querySelector("input[name=q]");
  const liveUrl = form.dataset.liveUrl;
  let timer = null;
  let asking = null; // the request in flight: a newer query cancels it
  let shown = input.value.trim();

  function swap(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    results.replaceChildren(...template.content.childNodes);
  }

  async function ask() {
    const query = input.value.trim();
    if (query === shown) return;
    asking?.abort();
    asking = new AbortController();
    const url = new URL(liveUrl, window.location.href);
    url.searchParams.set("q", query);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, signal: asking.signal });
      if (!response.ok) return; // keep what is shown; the form still works
      const answer = await response.json();
      if (answer.query !== input.value.trim()) return; // typed on meanwhile
      swap(answer.html);
      shown = query;
      // The address says what is shown: it can be shared, and Back returns to it.
      const here = new URL(window.location.href);
      if (query) here.searchParams.set("q", query);
      else here.searchParams.delete("q");
      window.history.replaceState(null, "", here);
    } catch (error) {
      // Aborted by a newer query, or the site did not answer: nothing to do.
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  });
})();
