/* icodegen row explorer: one renderer for the row table, the token view and the paired view.
 *
 * Data comes as <script> files (the page is opened from disk, where fetch is refused) that call
 * the registration functions below: explorer/index.js calls ICX.index(table), c_K.js calls
 * ICX.c(K, codes), t_M_K.js calls ICX.t(M, K, tokens), k_M_K.js ICX.k(M, K, top-k) and v_M.js
 * ICX.v(M, vocabulary) (formats: stages/analyze/src/study/explorer; token data is packed bytes in
 * base 64).
 *
 * The URL fragment holds the view: filters (model, iv, lang, concept, lossmin, lossmax, q, sort,
 * desc, page), and row=<row_id> or pair=<intervention>:<pair_id> with m=<model> to open one.
 * #icx-status holds a JSON line (load time, rows shown, tokens drawn, errors) for tests.
 */
(function () {
  'use strict';

  var ICX = (window.ICX = {});
  var errors = [];
  var status = { ready: false, errors: errors };
  var D = null; // the index
  var codes = {}; // block -> [code]
  var tokens = {}; // "M_K" -> {row: base 64 string or [string, {i: text}]}
  var topks = {}; // "M_K" -> {row: base 64 string}
  var layouts = {}; // row -> [layout] (shared by the models)
  var vocabularies = {}; // model -> [token text]
  var scripts = {}; // name -> promise
  var filtered = new Int32Array(0);
  var state = {};
  var PAGE = 50;
  var FILTERS = ['model', 'iv', 'lang', 'concept', 'lossmin', 'lossmax', 'q', 'sort', 'desc', 'page'];
  var DEFAULT_COLUMNS = ['n_bytes', 'loc', 'cyclomatic'];
  var shownCovariates = DEFAULT_COLUMNS.slice();
  var colourMode = 'probability';
  var testing = /(^|[#&])test=1(&|$)/.test(location.hash); // #...&test=1: status gets the CSV's line count
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  window.addEventListener('error', function (event) {
    errors.push(String(event.message || event.type) + (event.filename ? ' (' + event.filename + ':' + event.lineno + ')' : ''));
    report();
  });
  window.addEventListener('unhandledrejection', function (event) {
    var reason = event.reason;
    errors.push('unhandled rejection: ' + (reason && reason.message ? reason.message : String(reason)));
    report();
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, String).join(' '));
    report();
    return consoleError.apply(console, arguments);
  };

  function report() {
    var element = document.getElementById('icx-status');
    if (element) element.textContent = JSON.stringify(status);
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    if (attributes) {
      for (var key in attributes) {
        if (key === 'text') node.textContent = attributes[key];
        else if (key === 'className') node.className = attributes[key];
        else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), attributes[key]);
        else node.setAttribute(key, attributes[key]);
      }
    }
    (children || []).forEach(function (child) {
      if (child != null) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function load(name) {
    if (!scripts[name]) {
      scripts[name] = new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = 'explorer/' + name + '.js';
        script.onload = resolve;
        script.onerror = function () {
          reject(new Error('cannot load explorer/' + name + '.js'));
        };
        document.head.appendChild(script);
      });
    }
    return scripts[name];
  }

  // ---- registration ----------------------------------------------------------------------
  ICX.c = function (block, list) {
    codes[block] = list;
  };
  ICX.t = function (model, block, data) {
    var rows = tokens[model + '_' + block] || (tokens[model + '_' + block] = {});
    for (var row in data) rows[row] = data[row];
  };
  ICX.l = function (block, data) {
    for (var row in data) layouts[row] = data[row];
  };
  ICX.k = function (model, block, data) {
    var rows = topks[model + '_' + block] || (topks[model + '_' + block] = {});
    for (var row in data) rows[row] = data[row];
  };
  ICX.v = function (model, list) {
    vocabularies[model] = list;
  };
  ICX.index = function (data) {
    D = data;
    D.nRows = D.rows.id.length;
    D.nEntries = D.entries.row.length;
    D.rowIndex = {};
    D.rows.id.forEach(function (id, row) {
      D.rowIndex[id] = row;
    });
    D.pairs = {}; // "iv:pair" -> [control entry, treated entry]
    for (var e = 0; e < D.nEntries; e++) {
      var iv = D.interventions[D.entries.iv[e]];
      if (iv === 'none') continue;
      var key = iv + ':' + D.entries.pair[e];
      var pair = D.pairs[key] || (D.pairs[key] = [-1, -1]);
      pair[D.entries.tr[e] ? 1 : 0] = e;
    }
    D.modelIndex = {};
    D.models.forEach(function (model, m) {
      D.modelIndex[model.id] = m;
      model.blockSet = {};
      (model.blocks || []).forEach(function (block) {
        model.blockSet[block] = true;
      });
    });
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
    else start();
  };
  ICX.csv = csv;

  // ---- the fragment ----------------------------------------------------------------------
  function parseHash() {
    var out = {};
    location.hash
      .replace(/^#/, '')
      .split('&')
      .forEach(function (part) {
        if (!part) return;
        var at = part.indexOf('=');
        var key = decodeURIComponent(at < 0 ? part : part.slice(0, at));
        out[key] = at < 0 ? '1' : decodeURIComponent(part.slice(at + 1));
      });
    return out;
  }

  function hashOf(values) {
    return (
      '#' +
      Object.keys(values)
        .filter(function (key) {
          return values[key] !== '' && values[key] != null;
        })
        .map(function (key) {
          return encodeURIComponent(key) + '=' + encodeURIComponent(values[key]);
        })
        .join('&')
    );
  }

  function filterState() {
    var out = {};
    FILTERS.forEach(function (key) {
      if (state[key] !== undefined && state[key] !== '') out[key] = state[key];
    });
    return out;
  }

  function setHash(extra) {
    var values = filterState();
    for (var key in extra || {}) values[key] = extra[key];
    var hash = hashOf(values);
    if (hash !== location.hash && !(hash === '#' && !location.hash)) {
      history.replaceState(null, '', hash === '#' ? location.pathname : hash);
    }
  }

  // ---- values ----------------------------------------------------------------------------
  function entryOf(index) {
    return index % D.nEntries;
  }
  function modelOf(index) {
    return (index / D.nEntries) | 0;
  }
  var COLUMNS = {
    model: { label: 'model', get: function (m) { return D.models[m].id; } },
    row: { label: 'row', get: function (m, e, r) { return D.rows.id[r]; } },
    lang: { label: 'language', get: function (m, e, r) { return D.languages[D.rows.lang[r]]; } },
    iv: { label: 'intervention', get: function (m, e) { return D.interventions[D.entries.iv[e]]; } },
    tr: { label: 'arm', get: function (m, e) { return D.interventions[D.entries.iv[e]] === 'none' ? '' : D.entries.tr[e] ? 'treated' : 'control'; } },
    mut: { label: 'mutation', get: function (m, e) { var k = D.entries.mut[e]; return k < 0 ? '' : D.mutations[k]; } },
    pair: { label: 'pair', get: function (m, e) { return D.entries.pair[e]; } },
    loss: { label: 'loss (nats)', num: 1, get: function (m, e, r) { return D.loss[m][r]; } },
    acc: { label: 'accuracy', num: 1, get: function (m, e, r) { return D.acc[m][r]; } },
    ntok: { label: 'tokens', num: 1, get: function (m, e, r) { return D.ntok[m][r]; } },
  };
  function value(column, index) {
    var e = entryOf(index);
    var m = modelOf(index);
    var r = D.entries.row[e];
    if (COLUMNS[column]) return COLUMNS[column].get(m, e, r);
    var c = D.covariates.indexOf(column);
    return c < 0 ? null : D.rows.cov[c][r];
  }
  function fmt(v, digits) {
    if (v == null) return '';
    if (typeof v === 'number' && digits != null) return v.toFixed(digits);
    return String(v);
  }

  // ---- filtering and sorting -------------------------------------------------------------
  function codeLoaded() {
    var blocks = Math.ceil(D.nRows / D.chunk);
    for (var k = 0; k < blocks; k++) if (!codes[k]) return false;
    return true;
  }
  function loadAllCode() {
    var blocks = Math.ceil(D.nRows / D.chunk);
    var all = [];
    for (var k = 0; k < blocks; k++) all.push(load('c_' + k));
    return Promise.all(all);
  }
  function codeOf(row) {
    var block = codes[(row / D.chunk) | 0];
    return block ? block[row % D.chunk] : null;
  }

  function applyFilters() {
    var model = state.model ? D.modelIndex[state.model] : undefined;
    var iv = state.iv ? D.interventions.indexOf(state.iv) : -1;
    var lang = state.lang ? D.languages.indexOf(state.lang) : -1;
    var concept = state.concept ? D.concepts.indexOf(state.concept) : -1;
    var lossMin = state.lossmin === '' || state.lossmin == null ? null : Number(state.lossmin);
    var lossMax = state.lossmax === '' || state.lossmax == null ? null : Number(state.lossmax);
    var query = (state.q || '').trim();
    var lower = query.toLowerCase();
    var rowMatch = null;
    if (query) {
      rowMatch = new Uint8Array(D.nRows);
      var hex = lower.length >= 6 && /^[0-9a-f]+$/.test(lower); // row ids: 6 hex digits at least
      for (var r = 0; r < D.nRows; r++) {
        if (hex && D.rows.id[r].indexOf(lower) >= 0) rowMatch[r] = 1;
        else {
          var code = codeOf(r);
          if (code != null && code.indexOf(query) >= 0) rowMatch[r] = 1;
        }
      }
    }
    var out = [];
    for (var m = 0; m < D.models.length; m++) {
      if (model !== undefined && model !== m) continue;
      var losses = D.loss[m];
      for (var e = 0; e < D.nEntries; e++) {
        var row = D.entries.row[e];
        if (iv >= 0 && D.entries.iv[e] !== iv) continue;
        if (lang >= 0 && D.rows.lang[row] !== lang) continue;
        if (concept >= 0 && D.rows.con[row].indexOf(concept) < 0) continue;
        if (lossMin != null || lossMax != null) {
          var loss = losses[row];
          if (loss == null) continue;
          if (lossMin != null && loss < lossMin) continue;
          if (lossMax != null && loss > lossMax) continue;
        }
        if (rowMatch && !rowMatch[row]) continue;
        out.push(m * D.nEntries + e);
      }
    }
    if (state.sort) {
      var key = state.sort;
      var sign = state.desc === '1' ? -1 : 1;
      var keys = out.map(function (index) {
        return value(key, index);
      });
      var order = out.map(function (_, i) {
        return i;
      });
      order.sort(function (a, b) {
        var x = keys[a];
        var y = keys[b];
        if (x == null && y == null) return a - b;
        if (x == null) return 1;
        if (y == null) return -1;
        if (x < y) return -sign;
        if (x > y) return sign;
        return a - b;
      });
      out = order.map(function (i) {
        return out[i];
      });
    }
    filtered = Int32Array.from(out);
  }

  function csvField(v) {
    var s = v == null ? '' : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csv() {
    var head = ['model', 'row_id', 'language', 'intervention', 'pair_id', 'treatment', 'mutation', 'cross_entropy', 'accuracy', 'n_tokens'].concat(D.covariates);
    var lines = [head.join(',')];
    for (var i = 0; i < filtered.length; i++) {
      var index = filtered[i];
      var e = entryOf(index);
      var fields = [
        value('model', index),
        value('row', index),
        value('lang', index),
        value('iv', index),
        value('pair', index),
        D.entries.tr[e],
        value('mut', index),
        value('loss', index),
        value('acc', index),
        value('ntok', index),
      ];
      D.covariates.forEach(function (name) {
        fields.push(value(name, index));
      });
      lines.push(fields.map(csvField).join(','));
    }
    return lines.join('\n') + '\n';
  }

  // ---- the page --------------------------------------------------------------------------
  var ui = {};

  function select(name, label, options) {
    var node = el('select', { name: name }, [el('option', { value: '', text: 'all' })].concat(
      options.map(function (option) {
        return el('option', { value: option, text: option });
      })
    ));
    node.value = state[name] || '';
    node.addEventListener('change', function () {
      state[name] = node.value;
      state.page = '';
      refresh();
    });
    ui[name] = node;
    return el('label', null, [label, node]);
  }

  function input(name, label, type, placeholder) {
    var node = el('input', { name: name, type: type, placeholder: placeholder || '' });
    if (type === 'number') node.step = 'any';
    node.value = state[name] || '';
    var timer = null;
    node.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        state[name] = node.value;
        state.page = '';
        refresh();
      }, 200);
    });
    ui[name] = node;
    return el('label', null, [label, node]);
  }

  function build() {
    var app = document.getElementById('icx-app');
    app.textContent = '';
    ui.detail = el('section', { id: 'icx-detail', className: 'icx-detail', hidden: '' });
    var filters = el('div', { className: 'icx-filters' }, [
      select('model', 'model', D.models.map(function (m) { return m.id; })),
      select('iv', 'intervention', D.interventions),
      select('lang', 'language', D.languages),
      select('concept', D.concept_kind + ' present', D.concepts),
      input('lossmin', 'loss ≥', 'number'),
      input('lossmax', 'loss ≤', 'number'),
      input('q', 'search code or row id', 'search', 'text or hex id'),
    ]);
    ui.count = el('span', { className: 'icx-count', id: 'icx-count' });
    ui.pager = el('span', { className: 'icx-pager' });
    var exportButton = el('button', {
      text: 'Export CSV (filtered rows)',
      onclick: function () {
        var blob = new Blob([csv()], { type: 'text/csv' });
        var link = el('a', { href: URL.createObjectURL(blob), download: 'icodegen-rows.csv' });
        document.body.appendChild(link);
        link.click();
        link.remove();
      },
    });
    var columnChoices = el('details', { className: 'icx-columns' }, [el('summary', { text: 'covariate columns' })].concat(
      D.covariates.map(function (name) {
        var box = el('input', { type: 'checkbox' });
        box.checked = shownCovariates.indexOf(name) >= 0;
        box.addEventListener('change', function () {
          shownCovariates = D.covariates.filter(function (other) {
            return other === name ? box.checked : shownCovariates.indexOf(other) >= 0;
          });
          renderTable();
        });
        return el('label', null, [box, ' ' + name]);
      })
    ));
    ui.table = el('table', { className: 'icx-table', id: 'icx-table' });
    var warnings = (D.warnings || []).map(function (warning) {
      return el('p', { className: 'icx-warn', text: warning });
    });
    app.appendChild(el('div', null, warnings));
    app.appendChild(ui.detail);
    app.appendChild(filters);
    app.appendChild(el('div', { className: 'icx-bar' }, [ui.count, ui.pager, exportButton, columnChoices]));
    app.appendChild(el('div', { className: 'icx-tablewrap' }, [ui.table]));
  }

  function columns() {
    return ['model', 'row', 'lang', 'iv', 'tr', 'mut', 'pair', 'loss', 'acc', 'ntok'].concat(shownCovariates);
  }

  function renderTable() {
    var page = Math.max(0, Number(state.page || 0));
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    if (page >= pages) page = pages - 1;
    ui.count.textContent = filtered.length.toLocaleString('en-US') + ' rows';
    ui.count.setAttribute('data-count', String(filtered.length));
    ui.pager.textContent = '';
    var go = function (to) {
      return function () {
        state.page = to ? String(to) : '';
        setHash(currentOpen());
        renderTable();
      };
    };
    ui.pager.appendChild(el('button', { text: '‹', onclick: go(Math.max(0, page - 1)) }));
    ui.pager.appendChild(document.createTextNode(' page ' + (page + 1) + ' of ' + pages + ' '));
    ui.pager.appendChild(el('button', { text: '›', onclick: go(Math.min(pages - 1, page + 1)) }));
    var cols = columns();
    var head = el('tr', null, cols.map(function (column) {
      var label = COLUMNS[column] ? COLUMNS[column].label : column;
      var th = el('th', { text: label, title: 'sort by ' + label, 'data-column': column });
      if (state.sort === column) th.className = 'sorted' + (state.desc === '1' ? '' : ' asc');
      th.addEventListener('click', function () {
        if (state.sort === column) state.desc = state.desc === '1' ? '' : '1';
        else {
          state.sort = column;
          state.desc = '';
        }
        state.page = '';
        refresh();
      });
      return th;
    }));
    var body = document.createDocumentFragment();
    var open = currentOpen();
    for (var i = page * PAGE; i < Math.min(filtered.length, (page + 1) * PAGE); i++) {
      var index = filtered[i];
      var m = modelOf(index);
      var e = entryOf(index);
      var r = D.entries.row[e];
      var iv = D.interventions[D.entries.iv[e]];
      var cells = cols.map(function (column) {
        var v = value(column, index);
        if (column === 'row') {
          return el('td', { className: 'icx-mono' }, [el('a', { href: linkTo({ row: v, m: D.models[m].id }), text: v.slice(0, 12), title: v })]);
        }
        if (column === 'pair') {
          if (iv === 'none') return el('td', { className: 'icx-mono', text: '' });
          return el('td', { className: 'icx-mono' }, [el('a', { href: linkTo({ pair: iv + ':' + v, m: D.models[m].id }), text: v.slice(0, 12), title: 'paired view of ' + v })]);
        }
        var numeric = COLUMNS[column] ? COLUMNS[column].num : 1;
        var digits = column === 'loss' || column === 'acc' ? 3 : null;
        return el('td', { className: numeric ? 'num' : '', text: fmt(v, digits) });
      });
      var tr = el('tr', null, cells);
      if (open.row === D.rows.id[r] && open.m === D.models[m].id) tr.className = 'open';
      body.appendChild(tr);
    }
    ui.table.textContent = '';
    ui.table.appendChild(el('thead', null, [head]));
    var tbody = el('tbody');
    tbody.appendChild(body);
    ui.table.appendChild(tbody);
  }

  function linkTo(open) {
    var values = filterState();
    for (var key in open) values[key] = open[key];
    return hashOf(values);
  }

  function currentOpen() {
    var hash = parseHash();
    var out = {};
    if (hash.row) out.row = hash.row;
    if (hash.pair) out.pair = hash.pair;
    if ((hash.row || hash.pair) && hash.m) out.m = hash.m;
    return out;
  }

  function refresh() {
    applyFilters();
    setHash(currentOpen());
    renderTable();
    status.count = filtered.length;
    if (testing) status.csvLines = csv().split('\n').length - 2;
    report();
    if ((state.q || '').trim() && !codeLoaded()) {
      status.searching = true;
      loadAllCode().then(function () {
        status.searching = false;
        refresh();
      });
    }
  }

  // ---- tokens ----------------------------------------------------------------------------
  var SEQUENTIAL = ['#993404', '#d95f0e', '#fe9929', '#fed98e', '#ffffd4']; // YlOrBr: low p is dark
  var DIVERGING = ['#b35806', '#f1a340', '#fee0b6', '#f7f7f7', '#d8daeb', '#998ec3', '#542788']; // PuOr
  var CATEGORICAL = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#999999']; // Okabe-Ito

  function hex(colour) {
    return [1, 3, 5].map(function (i) {
      return parseInt(colour.slice(i, i + 2), 16);
    });
  }
  function ramp(stops, t) {
    t = Math.max(0, Math.min(1, t));
    var x = t * (stops.length - 1);
    var i = Math.min(stops.length - 2, Math.floor(x));
    var a = hex(stops[i]);
    var b = hex(stops[i + 1]);
    var f = x - i;
    return 'rgb(' + [0, 1, 2].map(function (k) {
      return Math.round(a[k] + (b[k] - a[k]) * f);
    }).join(',') + ')';
  }
  function categoryColour(id) {
    return id < 0 ? 'transparent' : CATEGORICAL[id % CATEGORICAL.length];
  }

  /** The tokens of one row, decoded (assets/tokens.js). */
  function decode(code, data, layout, topk, vocabulary) {
    return window.ICXTokens.decode(D, code, data, layout, topk, vocabulary);
  }

  /**
   * Draws `row` (from decode) into a <pre>: the code text with every scored token a span.
   * colour(token, i) gives its background; classes(i) extra classes.
   */
  function draw(row, colour, extra) {
    var pre = el('pre', { className: 'icx-code' });
    var fragment = document.createDocumentFragment();
    var at = 0;
    var bytes = row.bytes;
    row.tokens.forEach(function (token, i) {
      if (token.a < 0) return;
      if (token.a > at) fragment.appendChild(document.createTextNode(decoder.decode(bytes.subarray(at, token.a))));
      if (token.a < at) return; // overlapping span: its bytes are drawn already
      var span = el('span', { className: 't' + (extra ? extra(i) : ''), 'data-i': String(i) });
      span.textContent = token.text;
      var background = colour(token, i);
      span.style.background = background.bg;
      if (background.fg) span.style.color = background.fg;
      span.style.borderBottomColor = categoryColour(token.cat);
      fragment.appendChild(span);
      at = token.b;
    });
    if (at < bytes.length) fragment.appendChild(document.createTextNode(decoder.decode(bytes.subarray(at))));
    pre.appendChild(fragment);
    return pre;
  }

  function probabilityColour(token) {
    if (token.lp == null) return { bg: 'transparent' };
    var p = Math.exp(token.lp);
    if (colourMode === 'category') return { bg: token.cat < 0 ? 'transparent' : categoryColour(token.cat) + '66' };
    return { bg: ramp(SEQUENTIAL, p), fg: p < 0.3 ? '#fff' : null };
  }

  function tipText(token, more) {
    var lines = [JSON.stringify(token.text)];
    if (token.lp != null) lines.push('p = ' + Math.exp(token.lp).toFixed(3) + '   ln p = ' + token.lp.toFixed(2));
    if (token.rank != null) lines.push('rank ' + token.rank + '   entropy ' + (token.entropy == null ? '–' : token.entropy.toFixed(2)) + ' nats');
    if (token.topk.length) lines.push('top-' + token.topk.length + ': ' + token.topk.map(function (t) { return JSON.stringify(t); }).join('  '));
    lines.push('node type: ' + (token.nt || '–'));
    lines.push('category: ' + (token.cat < 0 ? '–' : D.categories[token.cat]));
    if (more) lines.push(more);
    return lines.join('\n');
  }

  function hover(pre, row, more, onEnter) {
    var tip = document.getElementById('icx-tip');
    pre.addEventListener('mouseover', function (event) {
      var span = event.target.closest ? event.target.closest('.t') : null;
      if (!span) return;
      var i = Number(span.getAttribute('data-i'));
      tip.textContent = tipText(row.tokens[i], more ? more(i) : null);
      tip.hidden = false;
      if (onEnter) onEnter(i, true);
    });
    pre.addEventListener('mousemove', function (event) {
      tip.style.left = Math.min(window.innerWidth - 300, event.clientX + 12) + 'px';
      tip.style.top = event.clientY + 14 + 'px';
    });
    pre.addEventListener('mouseout', function (event) {
      var span = event.target.closest ? event.target.closest('.t') : null;
      tip.hidden = true;
      if (span && onEnter) onEnter(Number(span.getAttribute('data-i')), false);
    });
  }

  /** Tests: the tooltip of the first token of `pre`, as a reader hovering it sees it. */
  function hoverFirst(pre) {
    var first = pre.querySelector('.t');
    if (!first) return null;
    first.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    var text = document.getElementById('icx-tip').textContent;
    first.dispatchEvent(new MouseEvent('mouseout', { bubbles: true }));
    return text;
  }

  function legend(kind) {
    var items = [];
    if (kind === 'diverging') {
      items.push(el('span', { text: 'Δ ln p (treated − control):' }));
      [-2, -1, 0, 1, 2].forEach(function (v) {
        var sw = el('span', { className: 'sw' });
        sw.style.background = ramp(DIVERGING, (v + 2) / 4);
        items.push(el('span', null, [sw, (v > 0 ? '+' : '') + v]));
      });
      var only = el('span', { className: 'sw' });
      only.style.background = 'repeating-linear-gradient(45deg,#eee,#eee 3px,#fff 3px,#fff 6px)';
      items.push(el('span', null, [only, 'only on this side']));
    } else if (colourMode === 'category') {
      D.categories.forEach(function (name, id) {
        var sw = el('span', { className: 'sw' });
        sw.style.background = categoryColour(id) + '66';
        items.push(el('span', null, [sw, name]));
      });
    } else {
      items.push(el('span', { text: 'p(token):' }));
      [0, 0.25, 0.5, 0.75, 1].forEach(function (p) {
        var sw = el('span', { className: 'sw' });
        sw.style.background = ramp(SEQUENTIAL, p);
        items.push(el('span', null, [sw, String(p)]));
      });
      items.push(el('span', { text: 'underline: category' }));
    }
    return el('div', { className: 'icx-legend' }, items);
  }

  /** Why a model has no tokens for a row. */
  function missing(model) {
    if (!model.tokens) return 'no tags.parquet';
    if (D.bound && D.bound.sampled != null) {
      return 'the report keeps the token views of ' + Math.round(100 * D.bound.sampled) + '% of snippets to stay within its size bound of ' + D.bound.max_mb + ' MB (report_max_mb)';
    }
    return 'not in tags.parquet';
  }

  /** Loads code and the model's tokens for `row`; resolves to decode()'s result or null. */
  function rowTokens(m, row) {
    var block = (row / D.chunk) | 0;
    var model = D.models[m];
    var wait = [load('c_' + block)];
    if (model.blockSet[block]) {
      wait.push(load('t_' + m + '_' + block), load('l_' + block));
      if (model.topk) wait.push(load('k_' + m + '_' + block), load('v_' + m));
    }
    return Promise.all(wait).then(function () {
      var code = codeOf(row);
      var data = (tokens[m + '_' + block] || {})[row];
      var topk = (topks[m + '_' + block] || {})[row];
      var layout = data && layouts[row] ? layouts[row][data[0]] : null;
      return { code: code, decoded: layout ? decode(code, data[1], layout, topk, vocabularies[m]) : null };
    });
  }

  function modelButtons(current, open) {
    return el('div', { className: 'icx-models' }, ['model: '].concat(D.models.map(function (model, m) {
      var values = {};
      for (var key in open) values[key] = open[key];
      values.m = model.id;
      return el('button', {
        text: model.id,
        className: m === current ? 'on' : '',
        title: model.tokens ? '' : 'no tags.parquet: no tokens',
        onclick: function () {
          location.hash = linkTo(values);
        },
      });
    })));
  }

  function modeButtons(redraw) {
    return el('div', { className: 'icx-modes' }, ['colour: '].concat(['probability', 'category'].map(function (mode) {
      return el('button', {
        text: mode,
        className: mode === colourMode ? 'on' : '',
        onclick: function () {
          colourMode = mode;
          redraw();
        },
      });
    })));
  }

  function pickModel(open, wantTokens) {
    var m = open.m != null ? D.modelIndex[open.m] : undefined;
    if (m === undefined) {
      m = 0;
      if (wantTokens) {
        for (var i = 0; i < D.models.length; i++) {
          if (D.models[i].tokens) {
            m = i;
            break;
          }
        }
      }
    }
    return m;
  }

  function entriesOf(row) {
    var out = [];
    for (var e = 0; e < D.nEntries; e++) if (D.entries.row[e] === row) out.push(e);
    return out;
  }

  function showRow(open) {
    var row = D.rowIndex[open.row];
    if (row === undefined) throw new Error('no row ' + open.row);
    var m = pickModel(open, true);
    var detail = ui.detail;
    detail.hidden = false;
    detail.textContent = '';
    detail.setAttribute('data-view', 'row');
    var model = D.models[m];
    var places = entriesOf(row).map(function (e) {
      var iv = D.interventions[D.entries.iv[e]];
      if (iv === 'none') return el('span', { text: 'original ' });
      var mut = D.entries.mut[e] < 0 ? '' : ' (' + D.mutations[D.entries.mut[e]] + ')';
      return el('span', null, [
        el('a', { href: linkTo({ pair: iv + ':' + D.entries.pair[e], m: model.id }), text: iv + ' ' + (D.entries.tr[e] ? 'treated' : 'control') + mut }),
        ' ',
      ]);
    });
    detail.appendChild(el('h2', null, ['Row ', el('span', { className: 'icx-mono', text: open.row.slice(0, 16) }), ' · ', model.id]));
    detail.appendChild(el('div', { className: 'icx-facts' }, [
      D.languages[D.rows.lang[row]] +
        ' · cross-entropy ' + fmt(D.loss[m][row], 3) + ' nats · accuracy ' + fmt(D.acc[m][row], 3) +
        ' · ' + fmt(D.ntok[m][row]) + ' tokens · in: ',
    ].concat(places)));
    detail.appendChild(modelButtons(m, open));
    var holder = el('div', { text: 'Loading tokens…' });
    detail.appendChild(holder);
    return rowTokens(m, row).then(function (loaded) {
      var redraw = function () {
        holder.textContent = '';
        holder.appendChild(modeButtons(redraw));
        if (!loaded.decoded) {
          holder.appendChild(el('p', { className: 'icx-warn', text: 'model ' + model.id + ' has no token data for this row (' + missing(model) + '); the code:' }));
          holder.appendChild(el('pre', { className: 'icx-code', text: loaded.code }));
          status.rowTokens = 0;
          status.missing = missing(model);
          return;
        }
        holder.appendChild(legend('sequential'));
        var pre = draw(loaded.decoded, probabilityColour);
        pre.id = 'icx-row-code';
        hover(pre, loaded.decoded);
        holder.appendChild(pre);
        if (!model.rank) holder.appendChild(el('p', { className: 'icx-note', text: 'rank, entropy and top-k need the model folder\u2019s tokens.parquet, which this model lacks' }));
        else if (!model.topk) holder.appendChild(el('p', { className: 'icx-note', text: 'top-k alternatives are left out of this report to keep it within its size bound (report_max_mb)' }));
        status.rowTokens = pre.querySelectorAll('.t').length;
        if (testing) status.tip = hoverFirst(pre);
      };
      redraw();
      status.view = 'row';
      status.openRow = open.row;
      status.openModel = model.id;
      report();
    });
  }

  /** Longest common subsequence of two string lists: pairs [i, j] of equal items. */
  function align(a, b) {
    var start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    var endA = a.length;
    var endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
      endA--;
      endB--;
    }
    var pairs = [];
    for (var i = 0; i < start; i++) pairs.push([i, i]);
    var n = endA - start;
    var m = endB - start;
    if (n > 0 && m > 0 && n * m <= 4e6) {
      var w = m + 1;
      var table = new Uint32Array((n + 1) * w);
      for (var x = n - 1; x >= 0; x--) {
        for (var y = m - 1; y >= 0; y--) {
          table[x * w + y] = a[start + x] === b[start + y] ? table[(x + 1) * w + y + 1] + 1 : Math.max(table[(x + 1) * w + y], table[x * w + y + 1]);
        }
      }
      x = 0;
      y = 0;
      while (x < n && y < m) {
        if (a[start + x] === b[start + y]) {
          pairs.push([start + x, start + y]);
          x++;
          y++;
        } else if (table[(x + 1) * w + y] >= table[x * w + y + 1]) x++;
        else y++;
      }
    }
    for (var k = 0; k < a.length - endA; k++) pairs.push([endA + k, endB + k]);
    return pairs;
  }

  function showPair(open) {
    var at = open.pair.indexOf(':');
    var iv = open.pair.slice(0, at);
    var pair = D.pairs[open.pair];
    if (!pair || pair[0] < 0 || pair[1] < 0) throw new Error('no complete pair ' + open.pair);
    var m = pickModel(open, true);
    var model = D.models[m];
    var control = D.entries.row[pair[0]];
    var treated = D.entries.row[pair[1]];
    var detail = ui.detail;
    detail.hidden = false;
    detail.textContent = '';
    detail.setAttribute('data-view', 'pair');
    detail.appendChild(el('h2', null, ['Pair ', el('span', { className: 'icx-mono', text: open.pair.slice(at + 1, at + 17) }), ' · ' + iv + ' · ' + model.id]));
    // The pair's contribution: its paired loss difference, against the mean over the pairs.
    var sum = 0;
    var n = 0;
    for (var key in D.pairs) {
      if (key.slice(0, key.indexOf(':')) !== iv) continue;
      var p = D.pairs[key];
      if (p[0] < 0 || p[1] < 0) continue;
      var lc = D.loss[m][D.entries.row[p[0]]];
      var lt = D.loss[m][D.entries.row[p[1]]];
      if (lc == null || lt == null) continue;
      sum += lt - lc;
      n++;
    }
    var own = D.loss[m][treated] != null && D.loss[m][control] != null ? D.loss[m][treated] - D.loss[m][control] : null;
    var signed = function (v, d) {
      return (v > 0 ? '+' : '') + v.toFixed(d);
    };
    var sentence = own == null
      ? 'This pair has no paired loss difference for ' + model.id + ' (a row was not scored).'
      : 'Treated − control cross-entropy for this pair: ' + signed(own, 3) + ' nats; over the ' + n + ' ' + iv +
        ' pairs the mean difference is ' + signed(sum / n, 3) + ' nats, to which this pair contributes ' + signed(own / n, 5) + ' nats.';
    detail.appendChild(el('p', { className: 'icx-sentence', id: 'icx-pair-effect', text: sentence }));
    detail.appendChild(modelButtons(m, open));
    var holder = el('div', { text: 'Loading tokens…' });
    detail.appendChild(holder);
    return Promise.all([rowTokens(m, control), rowTokens(m, treated)]).then(function (both) {
      holder.textContent = '';
      if (!both[0].decoded || !both[1].decoded) {
        holder.appendChild(el('p', { className: 'icx-warn', text: 'model ' + model.id + ' has no token data for this pair (' + missing(model) + ')' }));
        status.pairTokens = 0;
        status.view = 'pair';
        report();
        return;
      }
      var left = both[0].decoded;
      var right = both[1].decoded;
      var texts = function (row) {
        return row.tokens.map(function (t) {
          return t.text;
        });
      };
      var pairs = align(texts(left), texts(right));
      var partnerOfLeft = {};
      var partnerOfRight = {};
      pairs.forEach(function (pair) {
        partnerOfLeft[pair[0]] = pair[1];
        partnerOfRight[pair[1]] = pair[0];
      });
      var delta = function (i) {
        var j = partnerOfLeft[i];
        var a = left.tokens[i].lp;
        var b = j === undefined ? null : right.tokens[j].lp;
        return a == null || b == null ? null : b - a;
      };
      var deltaRight = function (j) {
        var i = partnerOfRight[j];
        return i === undefined ? null : delta(i);
      };
      var colourBy = function (get) {
        return function (token, i) {
          var d = get(i);
          if (d == null) return { bg: '' };
          return { bg: ramp(DIVERGING, (d + 2) / 4), fg: Math.abs(d) > 1.4 ? '#fff' : null };
        };
      };
      var only = function (partners) {
        return function (i) {
          return partners[i] === undefined ? ' only' : ' shared';
        };
      };
      var leftPre = draw(left, colourBy(delta), only(partnerOfLeft));
      var rightPre = draw(right, colourBy(deltaRight), only(partnerOfRight));
      leftPre.id = 'icx-pair-control';
      rightPre.id = 'icx-pair-treated';
      var link = function (fromPre, toPre, partners) {
        return function (i, on) {
          var j = partners[i];
          var a = fromPre.querySelector('[data-i="' + i + '"]');
          var b = j === undefined ? null : toPre.querySelector('[data-i="' + j + '"]');
          [a, b].forEach(function (span) {
            if (span) span.classList.toggle('linked', on);
          });
        };
      };
      var note = function (get) {
        return function (i) {
          var d = get(i);
          return d == null ? 'not shared with the other side' : 'Δ ln p (treated − control) = ' + signed(d, 2);
        };
      };
      hover(leftPre, left, note(delta), link(leftPre, rightPre, partnerOfLeft));
      hover(rightPre, right, note(deltaRight), link(rightPre, leftPre, partnerOfRight));
      holder.appendChild(legend('diverging'));
      holder.appendChild(el('div', { className: 'icx-side' }, [
        el('div', null, [el('h3', null, ['control ', el('a', { href: linkTo({ row: D.rows.id[control], m: model.id }), text: 'open row' }), ' · loss ' + fmt(D.loss[m][control], 3)]), leftPre]),
        el('div', null, [el('h3', null, ['treated ', el('a', { href: linkTo({ row: D.rows.id[treated], m: model.id }), text: 'open row' }), ' · loss ' + fmt(D.loss[m][treated], 3)]), rightPre]),
      ]));
      status.pairTokens = leftPre.querySelectorAll('.shared').length;
      if (testing) status.tip = hoverFirst(leftPre);
      status.pairAligned = pairs.length;
      status.view = 'pair';
      status.openModel = model.id;
      report();
    });
  }

  function route(scroll) {
    var hash = parseHash();
    var changed = false;
    FILTERS.forEach(function (key) {
      var v = hash[key] || '';
      if ((state[key] || '') !== v) {
        state[key] = v;
        changed = true;
      }
      if (ui[key] && ui[key].value !== v) ui[key].value = v;
    });
    if (changed || !status.ready) refresh();
    else renderTable();
    var open = currentOpen();
    var shown;
    if (open.row) shown = showRow(open);
    else if (open.pair) shown = showPair(open);
    else {
      ui.detail.hidden = true;
      status.view = 'table';
    }
    if (shown) {
      shown.then(null, function (error) {
        errors.push(String(error && error.message ? error.message : error));
        report();
      });
      if (scroll) ui.detail.scrollIntoView();
    }
  }

  function start() {
    try {
      build();
      route();
      status.ready = true;
      status.loadMs = Math.round(performance.now());
      status.rows = D.nRows;
      status.models = D.models.length;
      report();
      window.addEventListener('hashchange', function () {
        try {
          route(true);
        } catch (error) {
          errors.push(String(error && error.message ? error.message : error));
          report();
        }
      });
    } catch (error) {
      errors.push(String(error && error.stack ? error.stack : error));
      report();
    }
  }
})();
