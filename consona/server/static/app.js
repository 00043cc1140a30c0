// consona chat page: plain JS, no build step, no CDN. Every text from the server (card
// fields, replies, verdicts) goes into the page as textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { characters: [], character: null, session: null, history: [], busy: false };

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setStatus(text) { $("status").textContent = text || ""; }

async function errorText(resp) {
  try {
    const body = await resp.json();
    if (body && body.error) return body.error.message;
  } catch (e) { /* not JSON */ }
  return "HTTP " + resp.status;
}

function newSessionId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function addMessage(role, text, name) {
  const box = el("div", "msg " + role);
  if (name) box.appendChild(el("span", "who", name));
  const body = el("span", "text", text || "");
  box.appendChild(body);
  $("log").appendChild(box);
  $("log").scrollTop = $("log").scrollHeight;
  return box;
}

function currentCharacter() {
  return state.characters.find((c) => c.id === state.character) || null;
}

function newSession() {
  state.session = newSessionId();
  state.history = [];
  $("log").textContent = "";
  $("why-body").textContent = "";
  $("why-body").appendChild(el("p", "muted", "Send a message: the guard's verdict on the candidates shows here."));
  const c = currentCharacter();
  $("character-info").textContent = c ? (c.name + (c.description ? " — " + c.description : "")) : "";
  if (c && c.first_mes) {
    const greeting = c.first_mes.replace(/\{\{char\}\}/gi, c.name).replace(/\{\{user\}\}/gi, "you");
    addMessage("bot", greeting, c.name);
    state.history.push({ role: "assistant", content: greeting });
  }
  setStatus("new session " + state.session);
}

async function loadCharacters(select) {
  const resp = await fetch("/v1/characters", { headers: headers() });
  if (!resp.ok) { setStatus("cannot list characters: " + (await errorText(resp))); return; }
  const body = await resp.json();
  state.characters = body.data || [];
  const sel = $("character");
  sel.textContent = "";
  for (const c of state.characters) {
    const opt = el("option", null, c.name + (c.bundled ? "" : " (uploaded)"));
    opt.value = c.id;
    sel.appendChild(opt);
  }
  const wanted = select || localStorage.getItem("consona.character");
  state.character = state.characters.some((c) => c.id === wanted) ? wanted
    : (state.characters[0] ? state.characters[0].id : null);
  sel.value = state.character || "";
  newSession();
}

function renderWhy(v) {
  const box = $("why-body");
  box.textContent = "";
  if (!v) { box.appendChild(el("p", "muted", "No verdict for this reply.")); return; }
  const badges = el("p");
  badges.appendChild(el("span", "badge " + (v.flagged ? "warn" : "ok"), v.flagged ? "flagged" : "consistent"));
  if (v.repaired) badges.appendChild(el("span", "badge warn", "repaired"));
  if (v.caught && v.caught.length) badges.appendChild(el("span", "badge caught", "caught " + v.caught.length));
  const t = v.timings || {};
  badges.appendChild(el("span", "badge", (v.latency_s || 0).toFixed(2) + " s"));
  box.appendChild(badges);
  if (v.caught && v.caught.length) {
    box.appendChild(el("div", "muted", "Candidates rejected for contradicting:"));
    const ul = el("ul", "facts caught-facts");
    for (const f of v.caught) ul.appendChild(el("li", null, f));
    box.appendChild(ul);
  }
  if (v.flagged && v.contradicted_facts && v.contradicted_facts.length) {
    box.appendChild(el("div", "muted", "Every candidate contradicted a fact; this one contradicts:"));
    const ul = el("ul", "facts");
    for (const f of v.contradicted_facts) ul.appendChild(el("li", null, f));
    box.appendChild(ul);
  }
  const table = el("table", "candidates");
  const head = el("tr");
  for (const h of ["", "candidate", "score", "contra", "verdict"]) head.appendChild(el("th", null, h));
  table.appendChild(head);
  (v.candidates || []).forEach((c, i) => {
    const tr = el("tr", (i === v.chosen ? "chosen " : "") + (c.disqualified ? "disqualified" : ""));
    tr.appendChild(el("td", null, i === v.chosen ? "→" : (c.attempt ? "r" : "")));
    tr.appendChild(el("td", null, c.text));
    tr.appendChild(el("td", null, Number(c.score).toFixed(2)));
    tr.appendChild(el("td", null, Number(c.contradiction).toFixed(2)));
    tr.appendChild(el("td", null, c.reason || "ok"));
    table.appendChild(tr);
  });
  box.appendChild(table);
  if (t.sampling_s !== undefined) {
    box.appendChild(el("p", "muted", "sampling " + t.sampling_s + " s, judging " + t.judging_s + " s, " + (t.rounds || 1) + " round(s)"));
  }
  if (v.facts && v.facts.length) {
    const d = el("details");
    d.appendChild(el("summary", "muted", "Persona facts (" + v.facts.length + ")"));
    const ul = el("ul", "facts");
    for (const f of v.facts) ul.appendChild(el("li", null, f));
    d.appendChild(ul);
    box.appendChild(d);
  }
  const mem = v.memory;
  $("memory").hidden = !mem;
  if (mem) {
    const body = $("memory-body");
    body.textContent = "";
    const sections = [["Recalled", mem.recalled], ["Written", mem.written]];
    for (const [title, part] of sections) {
      const texts = factTexts(part);
      body.appendChild(el("div", "muted", title + (texts.length ? "" : ": nothing")));
      if (texts.length) {
        const ul = el("ul", "facts");
        for (const t of texts) ul.appendChild(el("li", null, t));
        body.appendChild(ul);
      }
    }
    if (mem.error) body.appendChild(el("p", "muted", "memory error: " + mem.error));
  }
}

// fact texts anywhere in a memory report (lists of strings or of {text: ...})
function factTexts(part) {
  const out = [];
  const walk = (x) => {
    if (!x) return;
    if (typeof x === "string") { out.push(x); return; }
    if (Array.isArray(x)) { x.forEach(walk); return; }
    if (typeof x === "object") {
      if (typeof x.text === "string") { out.push((x.role ? x.role + ": " : "") + x.text); return; }
      Object.values(x).forEach(walk);
    }
  };
  walk(part);
  return out.slice(0, 30);
}

async function send(text) {
  const c = currentCharacter();
  if (!c || state.busy || !text.trim()) return;
  state.busy = true;
  $("send").disabled = true;
  addMessage("user", text, "you");
  const messages = state.history.concat([{ role: "user", content: text }]);
  const bot = addMessage("bot", "", c.name);
  const out = bot.querySelector(".text");
  setStatus(c.name + " is thinking…");
  let reply = "";
  let verdict = null;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        model: c.model, messages, stream: true, stream_options: { include_usage: true },
        consona: { character: c.id, session: state.session, user: "web" },
      }),
    });
    if (!resp.ok) throw new Error(await errorText(resp));
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let finished = false;
    while (!finished) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") { finished = true; break; }
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.consona) verdict = chunk.consona;
          for (const ch of chunk.choices || []) {
            if (ch.index === 0 && ch.delta && ch.delta.content) {
              reply += ch.delta.content;
              out.textContent = reply;
              $("log").scrollTop = $("log").scrollHeight;
            }
          }
        }
      }
    }
    state.history = messages.concat([{ role: "assistant", content: reply }]);
    if (verdict && verdict.flagged) bot.classList.add("flagged");
    bot.classList.add("done");
    renderWhy(verdict);
    setStatus("");
  } catch (err) {
    bot.remove();
    addMessage("error", "Error: " + err.message);
    setStatus("message not sent; try again");
  } finally {
    state.busy = false;
    $("send").disabled = false;
  }
}

async function upload(file) {
  setStatus("uploading " + file.name + "…");
  const resp = await fetch("/v1/characters?replace=true", {
    method: "POST",
    headers: headers({ "Content-Type": file.type || "application/octet-stream" }),
    body: file,
  });
  if (!resp.ok) { setStatus("upload failed: " + (await errorText(resp))); return; }
  const c = await resp.json();
  localStorage.setItem("consona.character", c.id);
  await loadCharacters(c.id);
  setStatus("added " + c.name);
}

function init() {
  $("api-key").value = localStorage.getItem("consona.key") || "";
  $("api-key").addEventListener("change", () => {
    localStorage.setItem("consona.key", $("api-key").value.trim());
    loadCharacters(state.character);
  });
  $("character").addEventListener("change", () => {
    state.character = $("character").value;
    localStorage.setItem("consona.character", state.character);
    newSession();
  });
  $("new-session").addEventListener("click", newSession);
  $("upload").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (f) upload(f);
    e.target.value = "";
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("input").value;
    $("input").value = "";
    send(text);
  });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  loadCharacters();
}

init();
