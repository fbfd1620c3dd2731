// The live parts of the page. Everything works without this file: the form
// posts, the cards' buttons post, the gallery pages by links, images open
// alone; with it, job cards and the gallery follow the server's events
// (GET /events), images open in a lightbox, and the form has shortcuts.
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

  // ---- The form ----

  // The slider shows its value.
  function showCount() {
    var count = document.getElementById('count');
    var out = document.getElementById('count-value');
    if (count && out) out.textContent = count.value;
  }
  document.addEventListener('input', function (e) {
    if (e.target && e.target.id === 'count') showCount();
  });

  // The advanced part is sent open or closed, and comes back so.
  document.addEventListener('toggle', function (e) {
    if (!e.target.matches || !e.target.matches('details.advanced')) return;
    var state = e.target.closest('form').querySelector('input[name=advanced]');
    if (state) state.value = e.target.open ? 'open' : 'closed';
  }, true);

  // Ctrl+Enter (Cmd+Enter on a Mac) in the form generates.
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey) || !e.target.closest) return;
    var form = e.target.closest('form#generate');
    if (!form) return;
    e.preventDefault();
    if (form.requestSubmit) form.requestSubmit();
    else form.querySelector('[type=submit]').click();
  });

  // "Reuse" fills every field of the form from the link's query (the same
  // query GET / reads without JavaScript), without leaving the page.
  function reuse(link) {
    var form = document.getElementById('generate');
    if (!form) return false;
    var q = new URL(link.href, location.href).searchParams;
    var set = function (name, value) {
      var field = form.elements[name];
      if (!field) return;
      if (field.type === 'checkbox') field.checked = value === 'on';
      else field.value = value;
    };
    set('prompt', q.get('prompt') || '');
    set('count', q.get('count') || '1');
    set('parallel', q.get('parallel') === 'off' ? 'off' : 'on');
    var advanced = false;
    ['negative_prompt', 'seed', 'width', 'height', 'steps', 'guidance_scale'].forEach(function (name) {
      var v = q.get(name) || '';
      if (v) advanced = true;
      set(name, v);
    });
    showCount();
    var details = form.querySelector('details.advanced');
    if (details && advanced) details.open = true;
    var prompt = form.elements.prompt;
    prompt.scrollIntoView({ block: 'center' });
    prompt.focus();
    return true;
  }

  // Copy a prompt.
  function copy(button) {
    var label = button.textContent;
    var done = function (text) {
      button.textContent = text;
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(button.dataset.copy).then(
        function () { done('Copied'); }, function () { done('Copy failed'); });
      return;
    }
    // Plain http on another host: the clipboard API is not there.
    var area = document.createElement('textarea');
    area.value = button.dataset.copy;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (err) { ok = false; }
    area.remove();
    button.focus();
    done(ok ? 'Copied' : 'Copy failed');
  }

  document.addEventListener('click', function (e) {
    if (!e.target.closest || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var el;
    if ((el = e.target.closest('[data-copy]'))) {
      e.preventDefault();
      copy(el);
    } else if ((el = e.target.closest('a.reuse'))) {
      if (reuse(el)) e.preventDefault();
    } else if ((el = e.target.closest('a.shot'))) {
      e.preventDefault();
      lightbox.open(el);
    } else if ((el = e.target.closest('.theme-toggle'))) {
      theme.next();
    }
  });

  // ---- The colour theme: follows the system until a person picks one ----

  var theme = {
    order: ['auto', 'light', 'dark'],
    current: function () { return document.documentElement.dataset.theme || 'auto'; },
    show: function () {
      var t = theme.current();
      document.querySelectorAll('.theme-toggle').forEach(function (b) {
        b.textContent = 'Theme: ' + (t === 'auto' ? 'system' : t);
      });
    },
    next: function () {
      var t = theme.order[(theme.order.indexOf(theme.current()) + 1) % theme.order.length];
      var root = document.documentElement;
      try {
        if (t === 'auto') { delete root.dataset.theme; localStorage.removeItem('sd-theme'); }
        else { root.dataset.theme = t; localStorage.setItem('sd-theme', t); }
      } catch (err) {
        if (t !== 'auto') root.dataset.theme = t;
      }
      theme.show();
    }
  };
  theme.show();

  // ---- The lightbox: arrows, Esc, swipe; download; the full metadata ----

  var lightbox = (function () {
    var dialog = document.getElementById('lightbox');
    var links = [];
    var at = 0;
    var opener = null;
    if (!dialog || !dialog.showModal) return { open: function (link) { location.href = link.href; } };
    var img = dialog.querySelector('.lightbox-img');
    var title = dialog.querySelector('.lightbox-title');
    var meta = dialog.querySelector('.lightbox-meta');
    var download = dialog.querySelector('.lightbox-download');

    function show(i) {
      if (!links.length) return;
      at = (i + links.length) % links.length;
      var link = links[at];
      var thumb = link.querySelector('img');
      img.src = link.href;
      img.alt = thumb ? thumb.alt : '';
      var caption = link.dataset.caption || '';
      title.textContent = (links.length > 1 ? (at + 1) + ' of ' + links.length + (caption ? ' · ' : '') : '') + caption;
      download.href = link.href;
      download.setAttribute('download', link.dataset.download || '');
      meta.replaceChildren();
      var holder = link.closest('[data-meta]');
      var tpl = holder && holder.querySelector(':scope > template.meta');
      var shown = link.closest('article') && link.closest('article').querySelector('.entry-details .details');
      if (tpl) meta.appendChild(tpl.content.cloneNode(true));
      else if (shown) meta.appendChild(shown.cloneNode(true));
      dialog.classList.toggle('single', links.length < 2);
      // The neighbours load while this one is looked at.
      [at - 1, at + 1].forEach(function (j) {
        var n = links[(j + links.length) % links.length];
        if (n) new Image().src = n.href;
      });
    }

    function open(link) {
      var scope = link.closest('#jobs, #gallery-grid') || document;
      links = Array.prototype.slice.call(scope.querySelectorAll('a.shot'));
      opener = link;
      show(links.indexOf(link));
      if (!dialog.open) dialog.showModal();
      dialog.querySelector('.lightbox-close').focus();
    }

    dialog.addEventListener('close', function () {
      img.src = 'data:,';
      if (opener && document.contains(opener)) opener.focus();
    });
    dialog.querySelector('.lightbox-close').addEventListener('click', function () { dialog.close(); });
    dialog.querySelector('.lightbox-prev').addEventListener('click', function () { show(at - 1); });
    dialog.querySelector('.lightbox-next').addEventListener('click', function () { show(at + 1); });
    dialog.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowLeft') { e.preventDefault(); show(at - 1); }
      if (e.key === 'ArrowRight') { e.preventDefault(); show(at + 1); }
    });
    // A click on the backdrop (the dialog itself, outside its content) closes.
    dialog.addEventListener('click', function (e) { if (e.target === dialog) dialog.close(); });
    // Swipe on touch screens: left for the next image, right for the previous.
    var startX = null, startY = null;
    var stage = dialog.querySelector('.lightbox-stage');
    stage.addEventListener('pointerdown', function (e) { startX = e.clientX; startY = e.clientY; });
    stage.addEventListener('pointerup', function (e) {
      if (startX === null) return;
      var dx = e.clientX - startX, dy = e.clientY - startY;
      startX = null;
      if (Math.abs(dx) > 40 && Math.abs(dx) > Math.abs(dy)) show(dx < 0 ? at + 1 : at - 1);
    });
    stage.addEventListener('pointercancel', function () { startX = null; });
    return { open: open };
  })();

  // ---- Times: how long running jobs have run, how old gallery entries are ----

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
  // An estimate counts down to when the job should be done (running) or
  // start (waiting); the words match the server's (estimateText).
  function estimate(el) {
    var t = Date.parse(el.dataset.until);
    if (isNaN(t)) return;
    var left = (t - Date.now()) / 1000;
    var running = el.hasAttribute('data-running');
    if (left <= 1) el.textContent = running ? 'done any moment' : 'starts any moment';
    else el.textContent = running ? 'about ' + duration(left) + ' left' : 'starts in about ' + duration(left);
  }
  setInterval(function () {
    document.querySelectorAll('.job-running time[data-since]').forEach(function (el) {
      var t = Date.parse(el.dataset.since);
      if (!isNaN(t)) el.textContent = duration(Math.max(0, (Date.now() - t) / 1000));
    });
    document.querySelectorAll('[data-until]').forEach(estimate);
  }, 1000);
  setInterval(function () {
    document.querySelectorAll('time[data-age]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('datetime'));
      if (!isNaN(t)) el.textContent = ago(t);
    });
  }, 30000);

  // ---- Job cards ----

  // A card is only ever replaced by a newer state (data-rank): events can
  // overtake the answer that brought the card.
  var latest = {};
  function replaceCard(card, html) {
    var next = fragment(html).firstElementChild;
    if (!next) return;
    var focused = card.contains(document.activeElement);
    card.replaceWith(next);
    processed(next);
    if (focused) {
      var target = next.querySelector('button, a') || document.getElementById('prompt');
      if (target) target.focus();
    }
  }
  function applyJob(d) {
    var known = latest[d.id];
    if (!known || d.rank >= known.rank) latest[d.id] = d;
    var card = document.getElementById('job-' + d.id);
    if (card && d.rank >= Number(card.dataset.rank)) replaceCard(card, d.html);
  }
  function reconcile() {
    document.querySelectorAll('[data-job-id]').forEach(function (card) {
      var d = latest[card.dataset.jobId];
      if (d && d.rank > Number(card.dataset.rank)) replaceCard(card, d.html);
    });
  }
  // Places in line move when any job starts or leaves the line: re-read
  // this browser's cards (a 300 ms pause gathers a burst of events). A
  // card's button (htmx) also answers the cards: a re-read that started
  // before it would bring back the cards as they were, so each button press
  // makes the re-reads sent before its answer stale (jobsGen: they are
  // asked again), and its answer is followed by one more re-read.
  var refreshing = null;
  var jobsGen = 0;
  function refreshJobs(what) {
    if (refreshing || (what && !document.querySelector(what))) return;
    refreshing = setTimeout(function () {
      var gen = jobsGen;
      fetch('/jobs', { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          var list = document.getElementById('jobs');
          if (gen !== jobsGen) {
            stale = true;
            return;
          }
          if (html && list) {
            var focusedID = document.activeElement && document.activeElement.closest &&
              document.activeElement.closest('#jobs') ? document.activeElement.closest('[data-job-id]') : null;
            var next = fragment(html).firstElementChild;
            list.replaceWith(next);
            processed(next);
            reconcile();
            if (focusedID) {
              var again = document.getElementById(focusedID.id);
              var target = again && again.querySelector('button, a');
              if (target) target.focus();
            }
          }
        })
        .finally(function () {
          refreshing = null;
          if (stale) {
            stale = false;
            refreshJobs(null);
          }
        });
    }, 300);
  }
  var stale = false;
  function cardsTarget(e) {
    var t = e.detail && e.detail.target;
    return t && (t.id === 'jobs' || t.id === 'composer') ? t : null;
  }
  document.addEventListener('htmx:beforeRequest', function (e) {
    if (!cardsTarget(e)) return;
    jobsGen++;
    // The button may be gone by the answer (its cards re-read meanwhile):
    // events of a detached element do not reach the document, the
    // request's own do. After it, re-read the cards once more.
    var xhr = e.detail.xhr;
    if (xhr) {
      xhr.addEventListener('loadend', function () {
        jobsGen++;
        setTimeout(function () { refreshJobs(null); }, 0);
      });
    }
  });

  // ---- The gallery: new entries first, removed ones vanish, the entries
  // of one submission in one card ----

  function seedOf(set) {
    var n = parseInt(set.dataset.seed, 10);
    return isNaN(n) ? Infinity : n;
  }
  // groupCard brings a group's card up to date after sets came or went:
  // the sets in seed order, the seeds, and "Reuse" as the whole submission.
  function groupCard(card) {
    var shots = card.querySelector('.shots');
    var sets = Array.prototype.slice.call(shots.querySelectorAll('.shot-set'));
    sets.sort(function (a, b) { return seedOf(a) - seedOf(b); });
    sets.forEach(function (s) { shots.appendChild(s); });
    var seeds = sets.map(function (s) { return s.dataset.seed; }).filter(Boolean);
    var seedText = card.querySelector('.entry-seeds');
    if (seedText && seeds.length) seedText.textContent = seeds.join(', ');
    var link = card.querySelector('a.reuse');
    if (link && sets.length > 1) {
      var url = new URL(link.href, location.href);
      url.searchParams.set('count', String(sets.length));
      url.searchParams.set('parallel', 'on');
      if (seeds.length) url.searchParams.set('seed', seeds[0]);
      link.setAttribute('href', url.pathname + url.search + url.hash);
    }
  }
  // carryMeta readies a set to leave its card for another: a card's first
  // set has its metadata in the card ("All settings"), so it takes a copy
  // along, which the lightbox reads.
  function carryMeta(set, card) {
    var details = card.querySelector('.entry-details .details');
    if (details && !set.querySelector(':scope > template.meta')) {
      var t = document.createElement('template');
      t.className = 'meta';
      t.content.appendChild(details.cloneNode(true));
      set.appendChild(t);
    }
    return set;
  }
  // addCard puts a card into the grid: into its group's card when the grid
  // has one (the set replaces an older copy of itself), else first.
  function addCard(grid, card, first) {
    var group = card.dataset.group;
    var home = group ? grid.querySelector('article.entry[data-group="' + CSS.escape(group) + '"]') : null;
    if (home && home !== card) {
      card.querySelectorAll('.shot-set').forEach(function (set) {
        carryMeta(set, card);
        var old = document.getElementById(set.id);
        if (old) old.remove();
        home.querySelector('.shots').appendChild(set);
      });
      card.remove();
      groupCard(home);
      return home;
    }
    if (first) grid.prepend(card);
    return card;
  }
  // mergeGroups joins the cards of one group that came apart (pages loaded
  // one after the other).
  function mergeGroups(grid) {
    grid.querySelectorAll('article.entry[data-group]').forEach(function (card) {
      if (card.dataset.group && document.contains(card)) addCard(grid, card, false);
    });
  }
  function removeSet(id) {
    var set = document.getElementById('entry-' + id);
    if (!set) return;
    var card = set.closest('article.entry');
    set.remove();
    if (card && !card.querySelector('.shot-set')) card.remove();
    else if (card) groupCard(card);
  }
  function applyGallery(d) {
    var grid = document.getElementById('gallery-grid');
    if (!grid) return;
    if (d.op === 'removed') {
      removeSet(d.id);
    } else if (d.op === 'added' || d.op === 'updated') {
      var card = fragment(d.html).firstElementChild;
      if (!card) return;
      var set = document.getElementById('entry-' + d.id);
      if (set) {
        // Known already: the new copy takes its place.
        var home = set.closest('article.entry');
        if (home.querySelectorAll('.shot-set').length === 1) {
          home.replaceWith(card);
        } else {
          set.replaceWith(carryMeta(card.querySelector('.shot-set'), card));
          groupCard(home);
        }
      } else if (d.op === 'added' && grid.hasAttribute('data-live')) {
        addCard(grid, card, true);
      }
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
    // The workers and the queue changed: the strip, and what waiting cards
    // say they wait for.
    events.addEventListener('fleet', function (e) {
      var d = JSON.parse(e.data);
      var strip = document.getElementById('fleet');
      var next = d.html && fragment(d.html).firstElementChild;
      if (strip && next) strip.replaceWith(next);
      refreshJobs('.job-queued, .job-retrying');
    });
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
    showCount();
    var grid = document.getElementById('gallery-grid');
    if (grid && e.target && grid.contains(e.target)) mergeGroups(grid);
    var cfg = e.detail && e.detail.requestConfig;
    if (e.target && e.target.id === 'jobs' && cfg && /\/retry$/.test(cfg.path)) {
      listen(); // the retry is a new job in the cookie
    }
    if (e.target && e.target.id === 'composer' && document.querySelector('[data-testid=form-notice]')) {
      listen(); // the cookie holds the new jobs now
      var prompt = document.getElementById('prompt');
      if (prompt) prompt.focus();
    }
  });
  // "Load more" replaces its own link: its target is gone after the swap.
  document.addEventListener('htmx:afterSettle', function () {
    var grid = document.getElementById('gallery-grid');
    if (grid) mergeGroups(grid);
  });
})();
