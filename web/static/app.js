// The live parts of the page. Everything works without this file: the form
// posts, the gallery pages by links; with it, job cards and the gallery follow
// the server's events (GET /events) and the slider shows its value.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  function fragment(html) {
    var t = document.createElement('template');
    t.innerHTML = html.trim();
    return t.content;
  }

  function processed(el) {
    if (window.htmx && el) window.htmx.process(el);
    return el;
  }

  // The slider shows its value.
  document.addEventListener('input', function (e) {
    if (e.target && e.target.id === 'count') {
      var out = document.getElementById('count-value');
      if (out) out.textContent = e.target.value;
    }
  });

  // Copy a prompt; reuse a prompt and its seed in the form.
  document.addEventListener('click', function (e) {
    if (!e.target.closest) return;
    var copy = e.target.closest('[data-copy]');
    if (copy) {
      e.preventDefault();
      var label = copy.textContent;
      var done = function (text) {
        copy.textContent = text;
        setTimeout(function () { copy.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(copy.dataset.copy).then(
          function () { done('Copied'); }, function () { done('Copy failed'); });
      } else {
        // Plain http on another host: the clipboard API is not there.
        var area = document.createElement('textarea');
        area.value = copy.dataset.copy;
        area.setAttribute('readonly', '');
        area.className = 'visually-hidden';
        document.body.appendChild(area);
        area.select();
        var ok = false;
        try { ok = document.execCommand('copy'); } catch (err) { ok = false; }
        area.remove();
        copy.focus();
        done(ok ? 'Copied' : 'Copy failed');
      }
      return;
    }
    var reuse = e.target.closest('a.reuse');
    var prompt = document.getElementById('prompt');
    if (reuse && prompt) {
      e.preventDefault();
      prompt.value = reuse.dataset.prompt || '';
      var seed = document.getElementById('seed');
      if (seed) seed.value = reuse.dataset.seed || '';
      var advanced = document.querySelector('details.advanced');
      if (advanced && reuse.dataset.seed) advanced.open = true;
      prompt.scrollIntoView({ block: 'center' });
      prompt.focus();
    }
  });

  // Times: how long running jobs have run, how old gallery entries are.
  function duration(s) {
    s = Math.round(s);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  function ago(t) {
    var s = (Date.now() - t) / 1000;
    var unit = function (n, one) { return n === 1 ? '1 ' + one + ' ago' : n + ' ' + one + 's ago'; };
    if (s < 45) return 'just now';
    if (s < 90) return 'a minute ago';
    if (s < 3600) return unit(Math.round(s / 60), 'minute');
    if (s < 86400) return unit(Math.round(s / 3600), 'hour');
    if (s < 30 * 86400) return unit(Math.round(s / 86400), 'day');
    if (s < 365 * 86400) return unit(Math.floor(s / (30 * 86400)), 'month');
    return unit(Math.floor(s / (365 * 86400)), 'year');
  }
  setInterval(function () {
    document.querySelectorAll('.job-running time[data-since]').forEach(function (el) {
      var t = Date.parse(el.dataset.since);
      if (!isNaN(t)) el.textContent = duration(Math.max(0, (Date.now() - t) / 1000));
    });
  }, 1000);
  setInterval(function () {
    document.querySelectorAll('time[data-age]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('datetime'));
      if (!isNaN(t)) el.textContent = ago(t);
    });
  }, 30000);

  // Job cards. A card is only ever replaced by a newer state (data-rank):
  // events can overtake the answer that brought the card.
  var latest = {};
  function applyJob(d) {
    var known = latest[d.id];
    if (!known || d.rank >= known.rank) latest[d.id] = d;
    var card = document.getElementById('job-' + d.id);
    if (card && d.rank >= Number(card.dataset.rank)) card.replaceWith(fragment(d.html));
  }
  function reconcile() {
    document.querySelectorAll('[data-job-id]').forEach(function (card) {
      var d = latest[card.dataset.jobId];
      if (d && d.rank > Number(card.dataset.rank)) card.replaceWith(fragment(d.html));
    });
  }
  // Places in line move when any job starts: re-read this browser's cards.
  var refreshing = null;
  function refreshJobs(what) {
    if (refreshing || !document.querySelector(what)) return;
    refreshing = setTimeout(function () {
      fetch('/jobs', { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          var list = document.getElementById('jobs');
          if (html && list) {
            list.replaceWith(fragment(html));
            reconcile();
          }
        })
        .finally(function () { refreshing = null; });
    }, 300);
  }

  // The gallery: new entries first, removed ones vanish.
  function applyGallery(d) {
    var grid = document.getElementById('gallery-grid');
    if (!grid) return;
    var card = d.id ? document.getElementById('entry-' + d.id) : null;
    if (d.op === 'removed') {
      if (card) card.remove();
    } else if (d.op === 'added' || d.op === 'updated') {
      if (card) card.replaceWith(fragment(d.html));
      else if (d.op === 'added' && grid.hasAttribute('data-live')) grid.prepend(fragment(d.html));
      var empty = document.querySelector('[data-testid=gallery-empty]');
      if (empty) empty.remove();
    } else if (d.op === 'lost') {
      reloadGallery();
    }
  }
  function reloadGallery() {
    var grid = document.getElementById('gallery-grid');
    if (!grid || !grid.hasAttribute('data-live')) return;
    fetch('/gallery', { headers: { 'HX-Request': 'true' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        grid.replaceChildren(fragment(html));
        processed(grid);
      });
  }

  // The stream carries the cards of the jobs in this browser's cookie as it
  // was when the stream opened: after a submission it is opened again.
  var events = null;
  var opened = false;
  function listen() {
    if (!window.EventSource) return;
    if (events) events.close();
    events = new EventSource('/events');
    events.addEventListener('job', function (e) {
      var d = JSON.parse(e.data);
      applyJob(d);
      if (d.status !== 'queued') refreshJobs('.job-queued, .job-retrying');
    });
    // A job left the line (places moved), or the server lost changes for
    // this page: re-read the cards.
    events.addEventListener('jobs', function (e) {
      var d = JSON.parse(e.data);
      refreshJobs(d.op === 'moved' ? '.job-queued, .job-retrying' : '[data-job-id]');
    });
    events.addEventListener('gallery', function (e) { applyGallery(JSON.parse(e.data)); });
    // Events are not replayed: catch up on what happened while not listening.
    events.addEventListener('open', function () {
      refreshJobs('.job-queued, .job-retrying, .job-running');
      if (opened) reloadGallery();
      opened = true;
    });
  }
  listen();

  document.addEventListener('htmx:afterSwap', function (e) {
    reconcile();
    if (e.target && e.target.id === 'composer' && document.querySelector('[data-testid=form-notice]')) {
      listen(); // the cookie holds the new jobs now
      var prompt = document.getElementById('prompt');
      if (prompt) prompt.focus();
    }
  });
})();
