"use strict";
// The study page: no build step, no dependencies. The server decides what is shown; this
// script only draws the current screen, posts the answer and draws the next one.
(() => {
  const token = location.pathname.split("/")[2] || "";
  const api = (p) => `/api/${encodeURIComponent(token)}/${p}`;
  const $ = (id) => document.getElementById(id);
  const screenEl = $("screen"), statusEl = $("status");
  const CRITERIA = [
    ["colour naturalness", "0 = unnatural, 10 = natural"],
    ["colour bleeding", "0 = colours bleed badly across edges, 10 = no bleeding"],
    ["colourfulness", "0 = colourless, 10 = very colourful"],
  ];
  let started = false, busy = false;

  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }

  function choice(name, legend, options, hint, cls = "") {
    const fs = el("fieldset", { class: cls }, el("legend", { text: legend }));
    if (hint) fs.append(el("p", { class: "hint", text: hint }));
    const opts = el("div", { class: "opts" });
    for (const [value, label] of options) {
      opts.append(el("label", { class: "opt" },
        el("input", { type: "radio", name, value }), el("span", { text: label })));
    }
    fs.append(opts);
    return fs;
  }

  function figure(src, caption, cls = "") {
    return el("figure", { class: cls },
      el("figcaption", { text: caption }), el("img", { src, alt: caption }));
  }

  function heading(text) {
    return el("h2", { tabindex: "-1", text });
  }

  function show(nodes) {
    screenEl.replaceChildren(...nodes);
    const h = screenEl.querySelector("h2");
    if (h) h.focus();
  }

  function progress(s) {
    $("progress").max = s.total;
    $("progress").value = s.done;
    $("progress-text").textContent = `${s.done} of ${s.total} answered`;
  }

  function render(s) {
    progress(s);
    if (s.finished) {
      statusEl.textContent = "";
      return show([heading("Thank you!"),
        el("p", { text: `All ${s.total} answers are saved. You can close this page.` })]);
    }
    if (s.done === 0 && !started) return intro(s);
    statusEl.textContent = "";
    return s.screen.kind === "fool" ? fool(s.screen) : rate(s.screen);
  }

  function intro(s) {
    const parts = [heading("Welcome")];
    if (s.parts.includes("fool")) {
      parts.push(el("p", { text: "Part 1: you will see pairs of images. In each pair one image is an " +
        "original colour photograph and the other was recolorized by a computer from a black-and-white " +
        "version. Say whether image A is real or recolorized, and whether you are confident. " +
        "A short practice round comes first and tells you the right answers." }));
    }
    if (s.parts.includes("rate")) {
      parts.push(el("p", { text: "Part 2: you will see a black-and-white input and several colour " +
        "versions of it. Rate each colour version from 0 to 10 for colour naturalness, colour " +
        "bleeding and colourfulness." }));
    }
    parts.push(el("p", { text: "Your answers are saved as you go: you can close the page and come " +
      "back with the same link." }));
    const b = el("button", { type: "button", text: "Start" });
    b.addEventListener("click", () => { started = true; render(s); });
    parts.push(b);
    show(parts);
  }

  function form(screen, body, collect) {
    const f = el("form", { novalidate: "" }, ...body, el("button", { type: "submit", text: "Next" }));
    f.addEventListener("submit", (ev) => { ev.preventDefault(); submit(f, screen, collect); });
    return f;
  }

  function fool(sc) {
    const body = [
      el("div", { class: "pair" }, figure(sc.images[0], "Image A"), figure(sc.images[1], "Image B")),
      choice("answer", "Is image A real or recolorized?", [["real", "Real"], ["recolorized", "Recolorized"]]),
      choice("confident", "How sure are you?", [["yes", "Confident"], ["no", "Not sure"]]),
    ];
    show([heading(sc.label),
      el("p", { text: "One image is an original photo, the other was recolorized by a computer." }),
      form(sc, body, (f) => {
        const a = f.elements.answer.value, c = f.elements.confident.value;
        return a && c ? { answer: a, confident: c === "yes" } : null;
      })]);
  }

  function rate(sc) {
    const scale = Array.from({ length: 11 }, (_, v) => [String(v), String(v)]);
    const body = [figure(sc.input, "Black-and-white input", "input-img")];
    const cands = el("div", { class: "cands" });
    sc.images.forEach((src, n) => {
      const box = el("div", { class: "cand" }, figure(src, `Image ${n + 1}`));
      CRITERIA.forEach(([name, hint], k) => {
        box.append(choice(`c${n}_${k}`, `Image ${n + 1}: ${name}`, scale, hint, "scale"));
      });
      cands.append(box);
    });
    body.push(cands);
    show([heading(sc.label), el("p", { text: "Rate every colour image on the three scales." }),
      form(sc, body, (f) => {
        const r = sc.images.map((_, n) => CRITERIA.map((_, k) => f.elements[`c${n}_${k}`].value));
        return r.flat().every((v) => v !== "") ? { ratings: r.map((x) => x.map(Number)) } : null;
      })]);
  }

  async function submit(f, sc, collect) {
    if (busy) return;
    const answer = collect(f);
    if (!answer) {
      statusEl.textContent = "Please answer every question before going on.";
      const first = [...f.querySelectorAll("fieldset")].find((fs) => !fs.querySelector("input:checked"));
      if (first) first.querySelector("input").focus();
      return;
    }
    busy = true;
    f.querySelector("button[type=submit]").disabled = true;
    statusEl.textContent = "Saving…";
    try {
      const r = await fetch(api("answer"), {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ screen: sc.index, ...answer }),
      });
      const reply = await r.json();
      if (!r.ok) {
        statusEl.textContent = `Not saved: ${reply.error || r.status}. Reloading the current question.`;
        return load();
      }
      if (reply.feedback) return feedback(reply);
      render(reply);
    } catch (e) {
      statusEl.textContent = "Could not save: check the connection and press Next again.";
      f.querySelector("button[type=submit]").disabled = false;
    } finally {
      busy = false;
    }
  }

  function feedback(reply) {
    const fb = reply.feedback;
    const text = `${fb.correct ? "Correct" : "Not quite"}: image A was ${fb.a_was}.`;
    statusEl.textContent = text;
    const b = el("button", { type: "button", text: "Continue" });
    b.addEventListener("click", () => render(reply));
    screenEl.querySelector("form").replaceWith(el("p", { class: "feedback", text }), b);
    b.focus();
  }

  async function load() {
    try {
      const r = await fetch(api("state"), { cache: "no-store" });
      if (!r.ok) {
        screenEl.replaceChildren(el("p", { text: "This link is not valid. Please check it." }));
        return;
      }
      render(await r.json());
    } catch (e) {
      statusEl.textContent = "The study server cannot be reached. Reload the page to try again.";
    }
  }

  load();
})();
