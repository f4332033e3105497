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

  // Offers that only make sense near the end, such as more time on a hold:
  //
  // <form data-reveal-at="20" data-reveal-message="Need more time? ..." hidden>
  //
  // Each one inside the countdown's live block (or page) is shown once the
  // countdown has that many seconds left. Returns the messages of those
  // shown, for the warning to read out.
  function revealOffers(countdown, seconds) {
    var scope = countdown.closest('[data-live]') || document;
    var messages = [];
    scope.querySelectorAll('[data-reveal-at]').forEach(function (offer) {
      var at = parseInt(offer.getAttribute('data-reveal-at'), 10);
      if (offer.hidden && seconds <= at) offer.hidden = false;
      var message = offer.getAttribute('data-reveal-message');
      if (!offer.hidden && message) messages.push(message);
    });
    return messages;
  }

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
      var offers = revealOffers(el, seconds);
      if (!warned && warnAt > 0 && seconds <= warnAt) {
        warned = true;
        var region = document.getElementById(el.getAttribute('data-announce') || '');
        if (region) {
          region.textContent = ['Time is almost up: ' + seconds +
            (seconds === 1 ? ' second' : ' seconds') + ' left.'].concat(offers).join(' ');
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

  // ---- Times in the reader's zone ----------------------------------------
  //
  // <time datetime="2025-06-01T12:00:00Z" data-local-time>1 Jun 2025 12:00 UTC</time>
  //
  // The server writes instants in UTC; here they are written again in the
  // reader's language and time zone, the zone named. Without script, or
  // without Intl, the UTC text stays.

  var localFormat;

  function localiseTimes(root) {
    if (!root || !root.querySelectorAll || !window.Intl) return;
    if (localFormat === undefined) {
      try {
        localFormat = new Intl.DateTimeFormat(undefined, {
          year: 'numeric', month: 'short', day: 'numeric',
          hour: '2-digit', minute: '2-digit', timeZoneName: 'short'
        });
      } catch (e) {
        localFormat = null;
      }
    }
    if (!localFormat) return;
    var els = [];
    if (root.matches && root.matches('time[data-local-time]')) els.push(root);
    root.querySelectorAll('time[data-local-time]').forEach(function (el) { els.push(el); });
    els.forEach(function (el) {
      var t = parseTime(el.getAttribute('datetime'));
      if (!isNaN(t)) el.textContent = localFormat.format(t);
    });
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

  // ---- Live updates (htmx's SSE extension) --------------------------------
  //
  // <div hx-ext="sse" sse-connect="/events/7/live" sse-swap="listings" hx-swap="innerHTML">
  //   <section id="event-listings">
  //
  // A page that any signed-out reader sees alike is replaced by what its
  // stream sends (taken by the element around it, which stays: htmx hooks
  // up a swapped-in element a moment after the swap, and a message that
  // comes meanwhile would be lost): the server renders it once for every page that shows it,
  // and sends the latest rendering whenever a stream opens (unless the
  // browser's Last-Event-ID says it has it), so such a page catches up by
  // itself after a reconnection and fetches nothing.
  //
  // <div hx-ext="sse" sse-connect="/live">
  //   <section hx-get="..." hx-trigger="sse:tickets, sse-reconnected">
  //
  // A page of its own (a search, a seller's tickets) fetches itself again
  // when its stream says something changed.
  //
  // The extension fires htmx:sseOpen on the sse-connect element whenever its
  // stream opens: the first time, and again after each reconnection (the
  // browser reopens a stream that ends; the extension reopens one that
  // failed). Events sent while the stream was down are lost, so elements
  // inside it can re-fetch themselves on "sse-open" (every opening) or
  // "sse-reconnected" (every opening but the first).

  var opened = new WeakSet();
  var sources = [];

  // Keep hold of the streams the extension opens, to close them below.
  if (window.htmx) {
    var createEventSource = htmx.createEventSource || function (url) {
      return new EventSource(url, { withCredentials: true });
    };
    htmx.createEventSource = function (url) {
      var source = createEventSource(url);
      sources = sources.filter(function (s) { return s.readyState !== EventSource.CLOSED; });
      sources.push(source);
      return source;
    };
  }

  // A page left for another stays alive in the back/forward cache, and so
  // would its streams, costing the server for nothing: close them. When the
  // page comes back, open them again, as reconnections (so what they show
  // is fetched again).
  window.addEventListener('pagehide', function () {
    sources.forEach(function (s) { s.close(); });
    sources = [];
  });
  window.addEventListener('pageshow', function (evt) {
    if (!evt.persisted || !window.htmx) return;
    document.querySelectorAll('[sse-connect]').forEach(function (el) {
      var copy = el.cloneNode(true);
      opened.add(copy);
      el.replaceWith(copy);
      htmx.process(copy);
      initCountdowns(copy);
    });
  });

  document.addEventListener('htmx:sseOpen', function (evt) {
    var source = evt.target;
    if (!source || !source.querySelectorAll) return;
    var again = opened.has(source);
    opened.add(source);
    source.querySelectorAll('[hx-trigger]').forEach(function (el) {
      el.dispatchEvent(new CustomEvent('sse-open'));
      if (again) el.dispatchEvent(new CustomEvent('sse-reconnected'));
    });
  });

  // An element that refreshes itself ([data-live]) keeps what it shows when
  // a refresh fails (the server is restarting, the database is briefly
  // down): the next event or reconnection refreshes it again. Only its own
  // requests count: a form inside it whose refusal (409, 422) replaces it
  // is answered as usual. (htmx's detail.elt is the swap's target, not the
  // element that asked.)
  document.addEventListener('htmx:beforeSwap', function (evt) {
    var config = evt.detail && evt.detail.requestConfig;
    var elt = config && config.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute('data-live') && evt.detail.xhr && evt.detail.xhr.status >= 400) {
      evt.detail.shouldSwap = false;
    }
  });

  // ---- Counts written in place --------------------------------------------
  //
  // <div sse-connect="/events/7/live" sse-swap="listings" hx-trigger="sse:counts">
  //   <section id="event-listings" data-max-holds="4">
  //     <li id="listing-7" data-quantity="20" [data-together]> ... <span class="left">
  //
  // A "counts" message says "id free sold" for each listing whose counts
  // changed, comma-separated. The count, the state, the badges and the Buy
  // form change in place, worked out as the server does (store.Listing's
  // State and Buyable). Anything else comes as a whole new list
  // ("listings").

  function applyCounts(root, entry) {
    var f = entry.trim().split(' ');
    var li = document.getElementById('listing-' + f[0]);
    if (!li || f.length !== 3 || !root.contains(li)) return;
    var free = parseInt(f[1], 10), sold = parseInt(f[2], 10);
    var quantity = parseInt(li.getAttribute('data-quantity'), 10);
    var together = li.hasAttribute('data-together');
    var state = 'for sale';
    if (sold === quantity) state = 'sold';
    else if (free === 0 || (together && free < quantity)) state = 'held';
    li.setAttribute('data-state', state);
    var left = li.querySelector('.left');
    if (left) left.textContent = free + ' of ' + quantity + ' left';
    li.querySelectorAll('[data-badge]').forEach(function (badge) {
      badge.hidden = badge.getAttribute('data-badge') !== state;
    });
    var form = li.querySelector('form.buy');
    if (!form) return;
    form.hidden = state !== 'for sale';
    if (form.hidden) return;
    var list = li.closest('[data-max-holds]');
    var limit = list ? parseInt(list.getAttribute('data-max-holds'), 10) || 0 : 0;
    var least = together ? free : 1;
    var most = together || !limit ? free : Math.min(free, limit);
    var select = form.querySelector('select[name="quantity"]');
    if (select) {
      var chosen = select.value;
      select.textContent = '';
      for (var n = least; n <= most; n++) {
        select.add(new Option(String(n), String(n), false, String(n) === chosen));
      }
      return;
    }
    var only = form.querySelector('input[name="quantity"]');
    var button = form.querySelector('button');
    if (only) only.value = String(least);
    if (button) button.textContent = least > 1 ? 'Buy all ' + least : 'Buy 1 ticket';
  }

  document.addEventListener('sse:counts', function (evt) {
    var data = evt.detail && evt.detail.data;
    if (typeof data !== 'string') return;
    data.split(',').forEach(function (entry) { applyCounts(evt.target, entry); });
  });

  // ---- Announcements ----------------------------------------------------
  //
  // <article data-status-message="Order #7 is paid." data-status-region="order-announce">
  // <p id="order-announce" class="visually-hidden" role="status">Order #7 is pending.</p>
  //
  // When swapped-in content carries a status message different from what the
  // region says, the region says it, and screen readers read it out.

  function announce(root) {
    if (!root || !root.querySelectorAll) return;
    var els = [];
    if (root.matches && root.matches('[data-status-message]')) els.push(root);
    root.querySelectorAll('[data-status-message]').forEach(function (el) { els.push(el); });
    els.forEach(function (el) {
      var region = document.getElementById(el.getAttribute('data-status-region') || '');
      var message = el.getAttribute('data-status-message');
      if (region && message && region.textContent !== message) region.textContent = message;
    });
  }

  // ---- Keep keyboard focus across live updates ----------------------------
  //
  // When a swap replaces the element that had focus, focus goes to the same
  // element in the new content: the one with the same id (htmx itself does
  // that), or for a link without one (a ticket in the listing) the link to
  // the same place. When the new content has no such element (the Pay button
  // of a hold that ended), focus goes to the swapped container, so that
  // keyboard and screen reader users go on from there instead of from the
  // top of the page.

  var refocus = null;

  function rememberFocus(target) {
    refocus = null;
    var active = document.activeElement;
    if (!active || active === document.body || !target || !target.contains(active)) return;
    refocus = { id: active.id, href: active.getAttribute('href'), container: target };
  }

  document.addEventListener('htmx:beforeSwap', function (evt) {
    rememberFocus(evt.detail && evt.detail.target);
    rememberChoices(evt.detail && evt.detail.target);
  });

  // What a stream sends to swap in (sse-swap) is swapped without
  // htmx:beforeSwap: remember the focus before it too. htmx:afterSwap
  // follows as for any swap.
  document.addEventListener('htmx:sseBeforeMessage', function (evt) {
    rememberFocus(evt.target);
    rememberChoices(evt.target);
    rememberStickies(evt.target);
  });

  function restoreFocus(swapped) {
    if (!refocus) return;
    var r = refocus;
    refocus = null;
    var active = document.activeElement;
    if (active && active !== document.body) return; // focus is somewhere already
    var container = r.container.isConnected ? r.container : swapped;
    var el = r.id ? document.getElementById(r.id) : null;
    if (!el && r.href && window.CSS && CSS.escape) {
      el = container.querySelector('a[href="' + CSS.escape(r.href) + '"]');
    }
    if (el) el.focus({ preventScroll: true });
    if (el && document.activeElement === el) return;
    if (!container || !container.setAttribute) return; // a swapped-in text node
    if (!container.hasAttribute('tabindex')) container.setAttribute('tabindex', '-1');
    container.focus({ preventScroll: true });
  }

  // ---- Keep what the reader chose across live updates ---------------------
  //
  // New content comes with its choices at their defaults: a quantity picked,
  // or an event chosen in the sell form's picker, while an update was on its
  // way would be silently undone (the buyer would hold one ticket, not the
  // two they picked). A choice the reader changed from its default is made
  // again in the new content when that still offers it. It is found again
  // by its id, or else by its name inside the nearest element with an id
  // (#listing-7).

  var choices = [];

  function changedByReader(el) {
    if (el.tagName === 'SELECT') {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.checked !== el.defaultChecked && (el.type === 'checkbox' || el.checked);
  }

  function rememberChoices(target) {
    choices = [];
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll('select, input[type="radio"], input[type="checkbox"]').forEach(function (el) {
      if (!changedByReader(el)) return;
      var scope = el.id || !el.parentElement ? null : el.parentElement.closest('[id]');
      if (!el.id && !(scope && el.name)) return;
      choices.push({ id: el.id, scope: scope && scope.id, name: el.name, value: el.value, checked: el.checked });
    });
  }

  function findChoice(c) {
    if (c.id) return document.getElementById(c.id);
    var scope = document.getElementById(c.scope);
    if (!scope || !window.CSS || !CSS.escape) return null;
    var els = scope.querySelectorAll('[name="' + CSS.escape(c.name) + '"]');
    for (var i = 0; i < els.length; i++) {
      if (els[i].type !== 'radio' || els[i].value === c.value) return els[i];
    }
    return null;
  }

  function restoreChoices() {
    var kept = choices;
    choices = [];
    kept.forEach(function (c) {
      var el = findChoice(c);
      if (!el) return;
      if (el.tagName === 'SELECT') {
        if (Array.prototype.some.call(el.options, function (o) { return o.value === c.value; })) el.value = c.value;
      } else if (el.value === c.value) {
        el.checked = c.checked;
      }
    });
  }

  // ---- Keep a refusal in view across what a stream sends ------------------
  //
  // <p id="buy-error" class="field-error" role="alert" data-sticky>
  //
  // What a stream sends replaces a box for every reader alike, without the
  // message this reader was given when they pressed Buy: it is put back in
  // the new box, as plain text (not announced again).

  var stickies = [];

  function rememberStickies(target) {
    stickies = [];
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll('[data-sticky][id]').forEach(function (el) {
      var parent = el.parentElement;
      if (parent && parent.id) stickies.push({ id: el.id, parent: parent.id, el: el });
    });
  }

  function restoreStickies() {
    var kept = stickies;
    stickies = [];
    kept.forEach(function (s) {
      var parent = document.getElementById(s.parent);
      if (!parent || document.getElementById(s.id)) return;
      var copy = s.el.cloneNode(true);
      copy.removeAttribute('role');
      parent.insertBefore(copy, parent.firstChild);
    });
  }

  // ---- Wiring -----------------------------------------------------------

  // htmx fires htmx:load for the body at start-up and for every element it
  // swaps in. The WeakSet above stops double-starting a countdown.
  document.addEventListener('htmx:load', function (evt) {
    initCountdowns(evt.target);
    localiseTimes(evt.target);
  });

  // Only look inside the swapped-in content, so that unrelated swaps (for
  // example SSE updates) do not steal focus from what the user is typing.
  document.addEventListener('htmx:afterSwap', function (evt) {
    focusFirstInvalid(evt.target);
    announce(evt.target);
    restoreChoices();
    restoreStickies();
    restoreFocus(evt.target);
  });

  // Without htmx (or before it runs). The timeout lets every other
  // DOMContentLoaded handler, including htmx's, attach its listeners first,
  // so an already-expired countdown's event is not missed.
  function onReady() {
    setTimeout(function () {
      initCountdowns(document);
      localiseTimes(document);
      focusFirstInvalid(document);
    }, 0);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', onReady);
  } else {
    onReady();
  }
})();
