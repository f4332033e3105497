// EventHive client behaviour. Plain JavaScript, no inline scripts (CSP-safe).
// Load with <script src="..." defer>; works with or without htmx.
(function () {
  'use strict';

  // ---- Countdowns -------------------------------------------------------
  //
  // <span data-expires-at="2025-06-01T12:00:00Z"
  //       data-server-now="2025-06-01T11:50:00Z"
  //       data-warn-at="20" data-announce="hold-status">10:00</span>
  // <p id="hold-status" class="visually-hidden" aria-live="polite"></p>
  //
  // Shows mm:ss until expiry, then "expired" and dispatches a bubbling
  // "countdown-expired" event (usable as hx-trigger="countdown-expired").

  var started = new WeakSet();

  // Parses an RFC 3339 time. Fractional seconds are cut to milliseconds,
  // because Date.parse only promises to understand up to three digits.
  function parseTime(s) {
    if (!s) return NaN;
    s = s.trim().toUpperCase().replace(/(\.\d{3})\d+/, '$1');
    return Date.parse(s);
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return (m < 10 ? '0' : '') + m + ':' + (s < 10 ? '0' : '') + s;
  }

  function startCountdown(el) {
    if (started.has(el)) return;
    var expiresAt = parseTime(el.getAttribute('data-expires-at'));
    if (isNaN(expiresAt)) return;
    started.add(el);

    // Clock skew: server time minus client time. It is stored on the element
    // so that a copy restored from htmx's history cache keeps the offset
    // measured when the HTML was fresh instead of using a stale server time.
    var offset = Number(el.getAttribute('data-clock-offset'));
    if (!el.hasAttribute('data-clock-offset') || isNaN(offset)) {
      var serverNow = parseTime(el.getAttribute('data-server-now'));
      offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
      el.setAttribute('data-clock-offset', String(Math.round(offset)));
    }

    var warnAt = parseInt(el.getAttribute('data-warn-at'), 10);
    var warned = false;

    function tick() {
      if (!el.isConnected) return; // swapped out: stop quietly
      var left = expiresAt - (Date.now() + offset);
      if (left <= 0) {
        el.textContent = 'expired';
        el.dispatchEvent(new CustomEvent('countdown-expired', { bubbles: true }));
        return;
      }
      var seconds = Math.ceil(left / 1000);
      el.textContent = format(seconds);
      if (!warned && warnAt > 0 && seconds <= warnAt) {
        warned = true;
        var region = document.getElementById(el.getAttribute('data-announce') || '');
        if (region) {
          region.textContent = 'Time is almost up: ' + seconds +
            (seconds === 1 ? ' second' : ' seconds') + ' left.';
        }
      }
      // Wake just after the next whole second boundary of the remaining time.
      setTimeout(tick, (left % 1000 || 1000) + 20);
    }
    tick();
  }

  function initCountdowns(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches('[data-expires-at]')) startCountdown(root);
    root.querySelectorAll('[data-expires-at]').forEach(startCountdown);
  }

  // ---- Focus the first invalid field -------------------------------------

  function focusFirstInvalid(root) {
    if (!root || !root.querySelector) return;
    var el = root.matches && root.matches('[aria-invalid="true"]') ?
      root : root.querySelector('[aria-invalid="true"]');
    if (el && el.isConnected && document.activeElement !== el) {
      el.focus();
    }
  }

  // ---- Wiring -----------------------------------------------------------

  // htmx fires htmx:load for the body at start-up and for every element it
  // swaps in. The WeakSet above stops double-starting a countdown.
  document.addEventListener('htmx:load', function (evt) {
    initCountdowns(evt.target);
  });

  // Only look inside the swapped-in content, so that unrelated swaps (for
  // example SSE updates) do not steal focus from what the user is typing.
  document.addEventListener('htmx:afterSwap', function (evt) {
    focusFirstInvalid(evt.target);
  });

  // Without htmx (or before it runs). The timeout lets every other
  // DOMContentLoaded handler, including htmx's, attach its listeners first,
  // so an already-expired countdown's event is not missed.
  function onReady() {
    setTimeout(function () {
      initCountdowns(document);
      focusFirstInvalid(document);
    }, 0);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', onReady);
  } else {
    onReady();
  }
})();
