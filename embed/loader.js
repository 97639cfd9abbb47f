// phone-verify's loader: include it once (or many times) on any page, then put
// <phone-verify sitekey="…"></phone-verify> where the widget goes, inside a <form>.
// It defines that element, which shows the widget in a frame of this server and,
// once a number is verified, puts the result token into the form (field
// "phone-verify-token" unless the element has a name) and fires "pv-verified".
// Plain JavaScript on purpose: no build step, nothing else to load. The protocol
// with the frame is described in docs/embedding.md.
(function () {
  'use strict';
  if (!window.customElements || !window.postMessage) return;
  if (customElements.get('phone-verify')) return; // loaded twice: the first one serves

  var script = document.currentScript;
  var ORIGIN = new URL(script && script.src ? script.src : '/', location.href).origin;
  var TITLES = { en: 'Phone number verification', de: 'Telefonnummer bestätigen', ar: 'التحقق من رقم الهاتف' };
  var MISSING = { en: 'Verify your phone number first.', de: 'Bestätige zuerst deine Telefonnummer.', ar: 'تحقّق من رقم هاتفك أولًا.' };
  var PARAMS = ['action', 'cdata', 'nonce', 'session', 'channel'];
  var THEME_PROPERTIES = ['font', 'fg', 'bg', 'muted', 'border', 'accent', 'accent-fg', 'error', 'success', 'radius', 'gap', 'box', 'popup-shadow'];
  var READY_TIMEOUT_MS = 15000;
  var count = 0;

  function language(el) {
    var lang = (el.getAttribute('lang') || document.documentElement.lang || 'en').slice(0, 2).toLowerCase();
    return TITLES[lang] ? lang : 'en';
  }

  class PhoneVerify extends HTMLElement {
    static get formAssociated() { return true; }
    static get observedAttributes() { return ['sitekey', 'lang', 'theme', 'action', 'cdata', 'nonce', 'session', 'channel']; }

    constructor() {
      super();
      this._internals = typeof this.attachInternals === 'function' ? this.attachInternals() : null;
      this._onMessage = this._onMessage.bind(this);
      this._token = '';
      this._frame = null;
      this._fallback = null;
      this._leaving = false;
      this._started = false;
      this._resetting = false;
    }

    connectedCallback() {
      // A framework that moves or remounts the element (React StrictMode) takes it
      // out and puts it back at once: keep the frame that is already there.
      this._leaving = false;
      if (!this.hasAttribute('name')) this.setAttribute('name', 'phone-verify-token');
      if (!this._frame) this._render();
      this._started = true;
    }

    disconnectedCallback() {
      this._leaving = true;
      var self = this;
      Promise.resolve().then(function () {
        if (self._leaving && !self.isConnected) self._teardown();
      });
    }

    attributeChangedCallback(name, before, after) {
      // Once the element is in the page, a changed attribute means a new frame (a
      // framework may even set the sitekey only after inserting it). Several
      // changes in one go make one new frame, not one each.
      if (before === after || !this._started || this._resetting) return;
      // A page with a Content-Security-Policy hides every nonce attribute once the
      // element is in the document (the value stays in the nonce property): that
      // is not a change.
      if (name === 'nonce' && after === '' && this.nonce === before) return;
      this._resetting = true;
      var self = this;
      Promise.resolve().then(function () {
        self._resetting = false;
        self.reset();
      });
    }

    // A new verification: a fresh frame and session, and no token in the form.
    reset() {
      this._teardown();
      if (this.isConnected) this._render();
    }

    getResponse() { return this._token; }

    formResetCallback() { this.reset(); }

    _render() {
      var sitekey = this.getAttribute('sitekey');
      if (!sitekey) {
        this._emit('pv-error', { code: 'missing_sitekey' });
        return;
      }
      var wid = 'w' + (++count);
      var query = new URLSearchParams({ sitekey: sitekey, wid: wid, origin: location.origin, lang: language(this) });
      for (var i = 0; i < PARAMS.length; i++) {
        var value = this.getAttribute(PARAMS[i]);
        if (PARAMS[i] === 'nonce' && !value) value = this.nonce;
        if (value) query.set(PARAMS[i], value);
      }

      var theme = this.getAttribute('theme');
      if (theme === 'light' || theme === 'dark') query.set('theme', theme);
      var vars = this._themeVars();
      if (vars) query.set('vars', vars);

      var frame = document.createElement('iframe');
      frame.src = ORIGIN + '/embed?' + query.toString();
      frame.title = TITLES[language(this)];
      frame.setAttribute('allow', 'otp-credentials');
      frame.setAttribute('loading', 'eager');
      frame.style.cssText = 'display:block;width:100%;border:0;height:0;visibility:hidden;color-scheme:normal';
      this._wid = wid;
      this._frame = frame;
      if (!this._internals) {
        this._fallback = document.createElement('input');
        this._fallback.type = 'hidden';
        this._fallback.name = this.getAttribute('name');
        this.appendChild(this._fallback);
      }
      window.addEventListener('message', this._onMessage);
      this.appendChild(frame);
      this._setToken('');
      var self = this;
      this._timer = setTimeout(function () {
        if (self._frame === frame && frame.style.visibility === 'hidden') {
          self._show(160);
          self._emit('pv-error', { code: 'frame_timeout' });
        }
      }, READY_TIMEOUT_MS);
    }

    _teardown() {
      window.removeEventListener('message', this._onMessage);
      clearTimeout(this._timer);
      if (this._frame) this._frame.remove();
      if (this._fallback) this._fallback.remove();
      this._frame = this._fallback = null;
      this._setToken('');
    }

    // The host's --pv-* values as computed on this element, so var() and media
    // queries are resolved on the host side; the server checks every value.
    _themeVars() {
      var style = getComputedStyle(this);
      var out = {};
      var any = false;
      for (var i = 0; i < THEME_PROPERTIES.length; i++) {
        var value = style.getPropertyValue('--pv-' + THEME_PROPERTIES[i]).trim();
        if (value) {
          out[THEME_PROPERTIES[i]] = value;
          any = true;
        }
      }
      if (!any) return '';
      var json = unescape(encodeURIComponent(JSON.stringify(out)));
      return btoa(json).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    }

    _show(height) {
      this._frame.style.visibility = '';
      this._frame.style.height = Math.max(80, Math.min(2000, height | 0)) + 'px';
    }

    _setToken(token) {
      this._token = token || '';
      if (this._internals) {
        this._internals.setFormValue(this._token || null);
        if (this.hasAttribute('required') && !this._token) {
          // The anchor the browser points its message at must be inside the element.
          var anchor = this._frame && this._frame.isConnected ? this._frame : undefined;
          this._internals.setValidity({ valueMissing: true }, MISSING[language(this)], anchor);
        } else {
          this._internals.setValidity({});
        }
      }
      if (this._fallback) this._fallback.value = this._token;
    }

    _emit(type, detail) {
      this.dispatchEvent(new CustomEvent(type, { detail: detail, bubbles: true, composed: true }));
    }

    _onMessage(event) {
      var frame = this._frame;
      if (!frame || event.source !== frame.contentWindow || event.origin !== ORIGIN) return;
      var m = event.data;
      if (!m || m.pv !== 1 || m.wid !== this._wid) return;
      switch (m.type) {
        case 'ready':
          clearTimeout(this._timer);
          this._show(m.height);
          this._emit('pv-ready', {});
          break;
        case 'resize':
          if (frame.style.visibility !== 'hidden') this._show(m.height);
          break;
        case 'step':
          this._emit('pv-step', { step: String(m.step) });
          break;
        case 'token':
          this._setToken(String(m.token));
          this._emit('pv-verified', { token: this._token, phone: String(m.phone || '') });
          break;
        case 'expired':
          this._setToken('');
          this._emit('pv-expired', {});
          break;
        case 'error':
          clearTimeout(this._timer);
          this._show(m.height || 120);
          this._emit('pv-error', { code: String(m.code) });
          break;
      }
    }
  }

  customElements.define('phone-verify', PhoneVerify);
})();
