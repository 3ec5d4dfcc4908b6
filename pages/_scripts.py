"""The dashboard's only inline scripts. They are fixed texts (no user data), so the
Content-Security-Policy (dashboard_server.py) allows exactly these by hash and no other
inline script. Imports no Streamlit: the server reads them before any page runs."""

import json

from smschat.messaging.segments import GSM7_BASIC, GSM7_EXTENDED, MAX_BODY_CHARS

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

# Live character counter, same rules as smschat.segments (GSM-7 with its extension table,
# else UCS-2). The tables are data from our code, JSON-encoded; no user text goes in here.
_tables = json.dumps({"basic": "".join(sorted(GSM7_BASIC)), "ext": "".join(sorted(GSM7_EXTENDED)),
                      "max": MAX_BODY_CHARS}).replace("<", "\\u003c")
COUNTER_JS = """
(function () {
  if (window.__smschatCounter) return;
  window.__smschatCounter = true;
  const T = %s;
  const BASIC = new Set(Array.from(T.basic)), EXT = new Set(Array.from(T.ext));
  function measure(text) {
    let septets = 0;
    for (const ch of text) {
      if (BASIC.has(ch)) septets += 1;
      else if (EXT.has(ch)) septets += 2;
      else { const units = text.length; return {units: units, limit: 70, segments: units <= 70 ? 1 : Math.ceil(units / 67)}; }
    }
    return {units: septets, limit: 160, segments: septets <= 160 ? 1 : Math.ceil(septets / 153)};
  }
  setInterval(function () {
    const box = document.querySelector('textarea[aria-label="Message"]');
    const out = document.querySelector(".smschat-counter");
    if (!box || !out) return;
    const m = measure(box.value);
    let label = m.units + " / " + m.limit + (m.segments > 1 ? " \u00b7 " + m.segments + " SMS" : "");
    if (box.value.length > T.max) label += " \u00b7 too long (max " + T.max + " characters)";
    if (out.textContent !== label) out.textContent = label;
    out.classList.toggle("over", m.units > m.limit || box.value.length > T.max);
  }, 200);
})();
""" % _tables
COUNTER_SCRIPT = f"<script>{COUNTER_JS}</script>"

# What a browser hashes: the text between the tags.
INLINE_SCRIPTS = (BLINK_JS, COUNTER_JS)
