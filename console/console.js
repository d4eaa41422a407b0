// toolcage operator console: expiry countdowns and live inbox updates. Served from
// /console/static under a CSP that forbids inline script; the pages work without it.
/* global document, fetch, location, setInterval */
'use strict';

function countdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll('time.countdown')) {
    const left = Math.round((Date.parse(el.getAttribute('datetime')) - now) / 1000);
    if (Number.isNaN(left)) continue;
    if (left <= 0) {
      el.textContent = 'expired';
      continue;
    }
    const m = Math.floor(left / 60);
    const s = left % 60;
    el.textContent = `in ${m}m ${String(s).padStart(2, '0')}s`;
    el.classList.toggle('soon', left < 120);
  }
}

/** Polls for a change in the pending set; reloads unless the operator is typing a reason. */
function watchInbox() {
  const inbox = document.getElementById('inbox');
  if (!inbox) return;
  const version = inbox.dataset.version;
  const poll = async () => {
    try {
      const r = await fetch('/console/api/inbox-version', { credentials: 'same-origin' });
      if (!r.ok) return;
      const body = await r.json();
      if (body.version === version) return;
      const typing = [...document.querySelectorAll('input[name="reason"]')].some(
        (i) => i.value !== '' || i === document.activeElement,
      );
      if (typing) document.getElementById('new-requests').hidden = false;
      else location.reload();
    } catch {
      // The broker may be restarting; the next poll tries again.
    }
  };
  setInterval(poll, 2000);
}

document.addEventListener('DOMContentLoaded', () => {
  countdowns();
  setInterval(countdowns, 1000);
  watchInbox();
});
