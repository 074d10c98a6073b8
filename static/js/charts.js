// Charts that link into the diary. Each part of a chart (a day's square, an hour's or a
// weekday's bar, a month) is a link the server drew, named by its figures (its SVG <title>),
// so it works without this script. This adds what a link alone cannot: the figures shown
// beside the part on focus, hover and tap (phones never show a tooltip; a first tap shows
// them, a second follows the link), and arrow keys to move within a chart, which is one
// stop of the Tab key (a heatmap's weeks are columns: up and down are days, left and right
// weeks). It formats nothing: the words are the server's.
"use strict";

(function () {
  const charts = [...document.querySelectorAll("svg.chart-svg")].filter((svg) =>
    svg.querySelector("a.chart-part"),
  );
  if (!charts.length) return;

  const tip = document.createElement("p");
  tip.className = "chart-tip";
  tip.setAttribute("aria-hidden", "true"); // the link's own name says it to a screen reader
  tip.hidden = true;
  document.body.append(tip);
  let armed = null; // the part a first tap showed: a second tap on it follows the link
  let touch = false; // whether the last pointer to press was a finger

  function figures(part) {
    return part.querySelector("title")?.textContent || "";
  }

  function show(part) {
    tip.textContent = figures(part);
    tip.hidden = false;
    const box = part.getBoundingClientRect();
    const page = document.documentElement.clientWidth;
    const left = box.left + box.width / 2 - tip.offsetWidth / 2;
    // A CSSOM change, which a strict Content-Security-Policy allows.
    tip.style.left = `${window.scrollX + Math.max(4, Math.min(left, page - tip.offsetWidth - 4))}px`;
    tip.style.top = `${window.scrollY + box.top - tip.offsetHeight - 6}px`;
  }

  function hide() {
    tip.hidden = true;
    armed = null;
  }

  document.addEventListener("pointerdown", (event) => {
    touch = event.pointerType === "touch";
  });
  document.addEventListener("keydown", () => {
    touch = false;
  });

  for (const svg of charts) {
    const parts = [...svg.querySelectorAll("a.chart-part")];
    const across = svg.classList.contains("chart-svg--heatmap") ? 7 : 1;
    let current = parts.length - 1; // the newest day, the last bar
    parts.forEach((part, i) => part.setAttribute("tabindex", i === current ? "0" : "-1"));

    function move(to) {
      const next = Math.max(0, Math.min(parts.length - 1, to));
      parts[current].setAttribute("tabindex", "-1");
      parts[next].setAttribute("tabindex", "0");
      current = next;
      parts[next].focus();
    }

    svg.addEventListener("keydown", (event) => {
      const at = parts.indexOf(event.target.closest("a.chart-part"));
      if (at < 0) return;
      const steps = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -across, ArrowRight: across };
      if (event.key in steps) move(at + steps[event.key]);
      else if (event.key === "Home") move(0);
      else if (event.key === "End") move(parts.length - 1);
      else if (event.key === "Escape") hide();
      else return;
      event.preventDefault();
    });
    svg.addEventListener("focusin", (event) => {
      const part = event.target.closest("a.chart-part");
      if (part) show(part);
    });
    svg.addEventListener("focusout", hide);
    svg.addEventListener("mouseover", (event) => {
      const part = event.target.closest("a.chart-part");
      if (part) show(part);
    });
    svg.addEventListener("mouseleave", hide);
    svg.addEventListener("click", (event) => {
      const part = event.target.closest("a.chart-part");
      if (!part || !touch || armed === part) return;
      event.preventDefault(); // a first tap shows the figures
      show(part);
      armed = part;
    });
  }
})();
