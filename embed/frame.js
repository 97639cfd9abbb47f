// The frame's side of the embed protocol (version 1), loaded by the embed page
// (app.rs, embed_shell). It tells the host page when the widget is ready, how tall
// it is, which step it shows, and hands over the result token, always and only to
// the origin the server bound to this frame's session (data-pv-origin). See
// docs/embedding.md for the messages. On a hosted page (data-pv-return) it sends the
// visitor back to the host with the token instead.
(function () {
  'use strict';
  var body = document.body;
  var wid = body.getAttribute('data-pv-wid');
  var parentOrigin = body.getAttribute('data-pv-origin');
  var session = body.getAttribute('data-pv-session');
  var returnUrl = body.getAttribute('data-pv-return');

  // Hosted mode: a page of its own. Once the token is there, back to the host with
  // it, as the server does for a form posted without JavaScript.
  if (returnUrl) {
    var leave = function () {
      var field = document.querySelector('input[name="pv-token"]');
      if (!field || !field.value) return false;
      var url = new URL(returnUrl);
      url.searchParams.append('pv_token', field.value);
      var state = body.getAttribute('data-pv-state');
      if (state) url.searchParams.append('state', state);
      location.replace(url.toString());
      return true;
    };
    var watch = function () {
      if (!leave()) {
        new MutationObserver(function (_, observer) {
          if (leave()) observer.disconnect();
        }).observe(body, { subtree: true, childList: true });
      }
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
    else watch();
    return;
  }
  if (!parentOrigin || window.parent === window) return;

  function post(type, data) {
    var message = { pv: 1, wid: wid, type: type };
    for (var key in data) message[key] = data[key];
    // The browser delivers it only if the parent really is that origin.
    window.parent.postMessage(message, parentOrigin);
  }

  var last = { step: null, token: null, height: 0 };
  var refreshTimer = null;

  function height() {
    return Math.ceil(body.getBoundingClientRect().height);
  }

  function claims(token) {
    try {
      var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part));
    } catch (e) {
      return null;
    }
  }

  function shownNumber() {
    var number = document.querySelector('.pv-success-step .pv-number');
    return number ? number.textContent : '';
  }

  // Asks the server for a fresh token while the verification is recent enough; the
  // host hears "expired" once it is not.
  function scheduleRefresh(token) {
    clearTimeout(refreshTimer);
    var c = claims(token);
    if (!c) return;
    var lifetime = Math.max(30, c.exp - c.iat - 30);
    refreshTimer = setTimeout(function () {
      fetch('/embed/s/' + session + '/api/verify/state', {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: '',
        credentials: 'omit',
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (flow) {
          var verified = flow && flow.step && flow.step.Verified;
          if (verified && verified.token) {
            handOver(verified.token);
          } else {
            last.token = null;
            post('expired', {});
          }
        })
        .catch(function () {
          last.token = null;
          post('expired', {});
        });
    }, lifetime * 1000);
  }

  function handOver(token) {
    last.token = token;
    var c = claims(token);
    post('token', { token: token, exp: c ? c.exp : 0, phone: shownNumber() });
    scheduleRefresh(token);
  }

  function report() {
    var frame = document.querySelector('.pv-frame');
    var step = frame && frame.getAttribute('data-step');
    if (step && step !== last.step) {
      last.step = step;
      post('step', { step: step });
      if (step !== 'verified' && last.token) {
        last.token = null;
        clearTimeout(refreshTimer);
        post('expired', {});
      }
    }
    var field = document.querySelector('input[name="pv-token"]');
    if (field && field.value && field.value !== last.token) handOver(field.value);
    var h = height();
    if (h !== last.height) {
      last.height = h;
      post('resize', { height: h });
    }
  }

  var scheduled = false;
  function soon() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () {
      scheduled = false;
      report();
    });
  }

  function start() {
    new MutationObserver(soon).observe(body, { subtree: true, childList: true, attributes: true });
    if (window.ResizeObserver) new ResizeObserver(soon).observe(body);
    last.height = height();
    post('ready', { height: last.height });
    report();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
