// Runs in <head>, before the page is drawn: the colour theme a person chose
// (stored by app.js's toggle) applies without a flash of the other one, and
// the "js" class shows the parts that need JavaScript.
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.add('js');
  try {
    var theme = window.localStorage.getItem('sd-theme');
    if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  } catch (e) {
    // Storage off (a private window's policy): follow the system.
  }
})();
