"""The dashboard's only inline scripts. They are fixed texts (no user data), so the
Content-Security-Policy (dashboard_server.py) allows exactly these by hash and no other
inline script. Imports no Streamlit: the server reads them before any page runs."""

import json

from smschat.messaging.lookalikes import LOOKALIKES, SHOWN_CULPRITS
from smschat.messaging.segments import RULES

# The tab title blinks "(New Message) - <title>" while this window is in the background
# and a new incoming message arrives; it stops when the window gets focus. It reads only
# ids from data attributes, never message text.
BLINK_JS = """
(function () {
  if (window.__smschatBlink) return;
  window.__smschatBlink = true;
  const PREFIX = "(New Message) - ";
  let focused = document.hasFocus() && !document.hidden;
  let timer = null, base = null;
  const seen = {};
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (base !== null) { document.title = base; base = null; }
  }
  function start() {
    if (timer) return;
    base = document.title.startsWith(PREFIX) ? document.title.slice(PREFIX.length) : document.title;
    let on = true;
    document.title = PREFIX + base;
    timer = setInterval(function () { on = !on; document.title = on ? PREFIX + base : base; }, 1000);
  }
  window.addEventListener("focus", function () { focused = true; stop(); });
  window.addEventListener("blur", function () { focused = false; });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { focused = false; } else { focused = true; stop(); }
  });
  setInterval(function () {
    const el = document.querySelector(".smschat-history");
    if (!el) return;
    const key = el.dataset.contact, value = parseInt(el.dataset.lastIn || "0", 10);
    if (!(key in seen)) { seen[key] = value; return; }
    if (value > seen[key]) { seen[key] = value; if (!focused) start(); }
  }, 300);
})();
"""
BLINK_SCRIPT = f"<script>{BLINK_JS}</script>"

# Live character counter, hint and cost: the same rules as smschat.messaging.segments and
# .lookalikes, whose tables are JSON-encoded in here at import (data from our code, never user
# text), so the script is one constant and its CSP hash stable. `window.__smschatSegments`
# exposes the counting functions (the tests run them against the Python ones). The composer
# is `.st-key-composer textarea`; the price comes in data- attributes of `.smschat-counter`.
_tables = json.dumps({**RULES, "look": LOOKALIKES}).replace("<", "\\u003c")
COUNTER_JS = """
(function () {
  if (window.__smschatCounter) return;
  window.__smschatCounter = true;
  const T = %s;
  const BASIC = new Set(Array.from(T.basic)), EXT = new Set(Array.from(T.ext));
  const gsm = ch => BASIC.has(ch) || EXT.has(ch);
  function measure(text) {
    const chars = Array.from(text), isGsm = chars.every(gsm);
    const [single, multi] = isGsm ? T.gsm7 : T.ucs2;
    // A two-unit character (escape pair, surrogate pair) never straddles two segments.
    const costs = chars.map(ch => isGsm ? (EXT.has(ch) ? 2 : 1) : ch.length);
    const units = costs.reduce((a, b) => a + b, 0);
    let segments = 1, fill = 0;
    if (units > single) {
      for (const c of costs) { if (fill + c > multi) { segments += 1; fill = 0; } fill += c; }
    }
    return {encoding: isGsm ? "GSM-7" : "UCS-2", units: units, segments: segments, limit: single,
            length: text.length, tooLong: text.length > T.max};
  }
  function culprits(text) {
    return Array.from(new Set(Array.from(text).filter(ch => !gsm(ch))));
  }
  function lookalike(text) {
    return Array.from(text).map(ch => ch in T.look ? T.look[ch][0] : ch).join("");
  }
  function shown(ch) {
    if (ch in T.look && T.look[ch][0].trim() === "") return "[" + T.look[ch][1] + "]";
    const code = ch.codePointAt(0);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return "[U+" + code.toString(16).toUpperCase().padStart(4, "0") + "]";
    return ch;
  }
  function hint(text) {
    const bad = culprits(text);
    if (!bad.length) return "";
    const m = measure(text), fixed = measure(lookalike(text));
    const names = bad.slice(0, %d).map(shown).join(" ") + (bad.length > %d ? " \\u2026" : "");
    const why = fixed.encoding === "GSM-7" && fixed.segments !== m.segments
      ? m.segments + " SMS instead of " + fixed.segments
      : T.ucs2[0] + " characters per SMS instead of " + T.gsm7[0];
    return names + " \\u2014 " + (bad.length === 1 ? "forces" : "force") + " Unicode: " + why;
  }
  function money(units, scale) {
    const s = String(units).padStart(scale + 1, "0");
    return scale ? s.slice(0, s.length - scale) + "." + s.slice(s.length - scale) : s;
  }
  function label(text, price) {
    const m = measure(text);
    let out = m.units + " / " + m.limit + (m.segments > 1 ? " \\u00b7 " + m.segments + " SMS" : "");
    if (price && price.priceUnits) {
      const cost = money(m.segments * parseInt(price.priceUnits, 10), parseInt(price.priceScale, 10));
      out += " \\u00b7 \\u2248 " + price.pricePrefix + cost + price.priceSuffix;
    }
    if (m.tooLong) out += " \\u00b7 too long (max " + T.max + " characters)";
    return out;
  }
  window.__smschatSegments = {measure: measure, culprits: culprits, lookalike: lookalike, hint: hint, label: label};
  function replaceInBox(box) {
    // The native setter and an input event, so Streamlit takes the new text as typed.
    const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
    box.focus();
    setter.call(box, lookalike(box.value));
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }
  function findBox() {
    return document.querySelector(".st-key-composer textarea") || document.querySelector('textarea[aria-label="Message"]');
  }
  setInterval(function () {
    const box = findBox(), out = document.querySelector(".smschat-counter");
    if (!box || !out) return;
    const text = box.value, m = measure(text), line = label(text, out.dataset);
    if (out.textContent !== line) out.textContent = line;
    out.classList.toggle("over", m.units > m.limit || m.tooLong);
    const note = document.querySelector(".smschat-hint");
    if (!note) return;
    const words = hint(text), canFix = words !== "" && lookalike(text) !== text;
    let span = note.querySelector("span"), button = note.querySelector("button");
    if (!span) { span = document.createElement("span"); note.appendChild(span); }
    if (span.textContent !== words) span.textContent = words;
    if (canFix && !button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "smschat-lookalikes";
      button.textContent = "Use GSM-7 look-alikes";
      // On mousedown (default prevented) the box keeps its focus and its text is not sent half
      // changed; a keyboard user's Enter or Space arrives as a click. Replacing twice is harmless.
      button.addEventListener("mousedown", function (e) { e.preventDefault(); const b = findBox(); if (b) replaceInBox(b); });
      button.addEventListener("click", function () { const b = findBox(); if (b) replaceInBox(b); });
      note.appendChild(button);
    }
    if (button) button.hidden = !canFix;
    note.hidden = words === "";
  }, 200);
})();
""" % (_tables, SHOWN_CULPRITS, SHOWN_CULPRITS)
COUNTER_SCRIPT = f"<script>{COUNTER_JS}</script>"

# The chat window (pages/chat.py): the history pane sized to the viewport so the composer
# stays in view, a "New messages" marker while the user reads older lines, Enter to send
# (Shift+Enter: new line; not while an IME composes), focus back in the box after sending,
# and the draft kept in localStorage per user, project and contact (restored into an empty
# box after a reload or a server restart). It reads ids from data attributes, never text of
# the page; the only text it stores is what the user typed into the box.
CHAT_WINDOW_JS = """
(function () {
  if (window.__smschatWindow) return;
  window.__smschatWindow = true;
  const MIN_PANE = 160, GAP = 12;
  let lastId = null, lastKey = null, refocusUntil = 0, draftKey = null, draftSeen = null, draftPage = null;
  let restoreText = null, restoreUntil = 0;
  let sentText = null, sentAt = 0, wasAtBottom = true, lastHeight = 0, lastTop = 0;
  const marker = document.createElement("button");
  marker.type = "button";
  marker.className = "smschat-newmsg";
  marker.textContent = "New messages \u2193";
  marker.hidden = true;
  Object.assign(marker.style, {position: "fixed", zIndex: 1000, padding: "4px 12px", border: "none",
    borderRadius: "14px", background: "#1a73e8", color: "#fff", cursor: "pointer",
    boxShadow: "0 1px 4px rgba(0,0,0,.3)", transform: "translateX(-50%)"});
  document.body.appendChild(marker);
  // (Only helpers name the history: the tests' probe wraps the timer that does, the blink's.)
  function historyEl() { return document.querySelector(".smschat-history"); }
  function pane() {
    const h = historyEl();
    for (let el = h && h.parentElement; el && el !== document.body; el = el.parentElement) {
      const o = getComputedStyle(el).overflowY;
      if (o === "auto" || o === "scroll") return el;
    }
    return null;
  }
  function atBottom(p) { return p.scrollHeight - p.scrollTop - p.clientHeight < 4; }
  function composer() { return document.querySelector(".st-key-composer"); }
  function box() { const c = composer(); return c && c.querySelector("textarea"); }
  function windowInfo() { const c = composer(); return c && c.querySelector(".smschat-counter[data-window]"); }
  function sendButton() {
    const info = windowInfo();
    return info && document.querySelector(".st-key-" + info.dataset.send + " button");
  }
  marker.addEventListener("click", function () {
    const p = pane();
    if (p) p.scrollTop = p.scrollHeight;
    marker.hidden = true;
  });
  function fit(p) {
    // The pane takes what the viewport leaves above it and below it (the composer).
    const c = composer();
    if (!c) return;
    const rect = p.getBoundingClientRect(), below = c.getBoundingClientRect().bottom - rect.bottom;
    const want = Math.max(MIN_PANE, Math.floor(window.innerHeight - (rect.top + window.scrollY) - below - GAP));
    // Streamlit gives the fixed height to the pane's wrapper (flex-basis); the pane fills it.
    const wrap = p.parentElement;
    if (Math.abs(rect.height - want) > 2) {
      const stick = atBottom(p);
      wrap.style.flex = "0 0 " + want + "px";
      wrap.style.height = want + "px";
      if (stick) p.scrollTop = p.scrollHeight;
    }
  }
  function setValue(el, value) {
    Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set.call(el, value);
    el.dispatchEvent(new Event("input", {bubbles: true}));
  }
  function keepDraft() {
    // A window opens when its box appears on a page (load, reload, navigation to it): then an
    // empty box gets the saved draft. Afterwards the box is mirrored into the draft. A box that
    // is gone for a moment while a run redraws the page is the same window when it is back:
    // treating it as a new one put a message just sent back into the box from its draft.
    const page = location.pathname + location.search;
    if (page !== draftPage) { draftPage = page; draftKey = null; }
    const el = box(), info = windowInfo();
    if (!el || !info) return;
    const key = "smschat-draft:" + info.dataset.window;
    if (key !== draftKey) {
      draftKey = key;
      const saved = localStorage.getItem(key);
      if (saved && !el.value) {
        setValue(el, saved);
        // A run still drawing the page may replace the box with an empty one: until the user
        // does anything, the draft goes back in (it is never removed for that).
        restoreText = saved;
        restoreUntil = Date.now() + 10000;
      }
      draftSeen = el.value;
      return;
    }
    if (restoreText !== null && Date.now() < restoreUntil && !el.value) {
      setValue(el, restoreText);
      draftSeen = el.value;
      return;
    }
    if (el.value !== draftSeen) {
      draftSeen = el.value;
      if (el.value) localStorage.setItem(key, el.value); else localStorage.removeItem(key);
    }
  }
  // Whatever the user does ends the restoring: from then on an empty box is one they emptied.
  function userActs(e) { if (e.isTrusted) restoreText = null; }
  ["keydown", "mousedown", "input"].forEach(function (t) { document.addEventListener(t, userActs, true); });
  function tick() {
    keepDraft();
    const h = historyEl(), p = pane();
    if (!h || !p) { marker.hidden = true; return; }
    fit(p);
    const key = h.dataset.contact, id = parseInt(h.dataset.lastId || "0", 10);
    // A window opens at its newest line.
    if (key !== lastKey) { lastKey = key; lastId = id; p.scrollTop = p.scrollHeight; wasAtBottom = true; }
    // The pane grew under a user who was at the bottom and did not scroll: follow it. A user
    // who scrolled up is left where they read, and told when new lines arrive.
    const grew = p.scrollHeight !== lastHeight && p.scrollTop === lastTop;
    if (wasAtBottom && grew) p.scrollTop = p.scrollHeight;
    else if (id > lastId && !atBottom(p)) marker.hidden = false;
    if (atBottom(p)) marker.hidden = true;
    wasAtBottom = atBottom(p);
    lastId = id;
    lastHeight = p.scrollHeight;
    lastTop = p.scrollTop;
    if (!marker.hidden) {
      const r = p.getBoundingClientRect();
      marker.style.left = (r.left + r.width / 2) + "px";
      marker.style.top = (r.bottom - 44) + "px";
    }
    const el = box();
    if (el && Date.now() < refocusUntil && document.activeElement !== el &&
        (!document.activeElement || document.activeElement === document.body || document.activeElement.tagName === "BUTTON")) {
      el.focus();
    }
  }
  setInterval(tick, 150);
  window.addEventListener("resize", tick);
  document.addEventListener("input", function (e) {
    if (e.target === box()) keepDraft();
  }, true);
  document.addEventListener("click", function (e) {
    const send = sendButton();
    if (send && send.contains(e.target)) refocusUntil = Date.now() + 3000;
  }, true);
  document.addEventListener("keydown", function (e) {
    const el = box();
    if (e.target !== el || e.key !== "Enter" || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    const send = sendButton();
    if (!send || !el.value.trim()) return;
    // A second Enter before the first send has come back is not a second message.
    if (el.value === sentText && Date.now() - sentAt < 3000) return;
    sentText = el.value;
    sentAt = Date.now();
    // Blur first: Streamlit hands the box's value to the server on blur, before the click.
    el.blur();
    refocusUntil = Date.now() + 3000;
    send.click();
    el.focus();
  }, true);
})();
"""
CHAT_WINDOW_SCRIPT = f"<script>{CHAT_WINDOW_JS}</script>"

# What a browser hashes: the text between the tags.
INLINE_SCRIPTS = (BLINK_JS, COUNTER_JS, CHAT_WINDOW_JS)
