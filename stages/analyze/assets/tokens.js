/* icodegen row explorer: the decoder of the token data (packed bytes in base 64; format:
 * stages/analyze/src/study/explorer/tokens.rs), used by explorer.js as window.ICXTokens.decode.
 */
(function () {
  'use strict';

  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  /** Base 64 to bytes. */
  function unpack(text) {
    var binary = atob(text);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  /** A reader of varints and bytes over `bytes`. */
  function reader(bytes) {
    var at = 0;
    return {
      byte: function () {
        return bytes[at++];
      },
      varint: function () {
        var value = 0;
        var scale = 1;
        for (;;) {
          var b = bytes[at++];
          value += (b & 0x7f) * scale;
          if (b < 0x80 || b === undefined) return value;
          scale *= 128;
        }
      },
      done: function () {
        return at >= bytes.length;
      },
    };
  }

  /**
   * The tokens of one row, decoded: byte spans, text, log-probability, hover facts.
   * `D` is the row table (dictionaries, top_k), `data` the model's values of the row (base 64),
   * `layout` the row's layout (base 64, or [string, {i: text}]), `topk` its top-k string or
   * undefined, `vocabulary` the model's top-k texts.
   */
  function decode(D, code, data, layout, topk, vocabulary) {
    var bytes = encoder.encode(code);
    var texts = {};
    if (Array.isArray(layout)) {
      texts = layout[1];
      layout = layout[0];
    }
    var shape = reader(unpack(layout));
    var read = reader(unpack(data));
    var ranks = read.byte() === 1;
    var alternatives = topk && vocabulary ? reader(unpack(topk)) : null;
    var K = D.top_k || 0;
    var out = [];
    var end = 0;
    for (var i = 0; !shape.done(); i++) {
      var token = { topk: [] };
      var span = shape.varint();
      if (span === 0) {
        token.a = token.b = -1;
        token.text = texts[i] != null ? texts[i] : '';
      } else {
        token.a = end + span - 1;
        token.b = token.a + shape.varint();
        end = token.b;
        token.text = decoder.decode(bytes.subarray(token.a, token.b));
      }
      var p = read.byte();
      token.lp = p === 255 ? null : -Math.pow(p / 48, 2);
      var n = shape.varint();
      token.nt = n === 0 ? null : D.node_types[n - 1];
      token.cat = shape.varint() - 1;
      token.rank = null;
      token.entropy = null;
      if (ranks) {
        var rank = read.varint();
        var h = read.byte();
        token.rank = rank === 0 ? null : rank;
        token.entropy = h === 255 ? null : h / 20;
      }
      if (alternatives) {
        for (var k = 0; k < K; k++) {
          var id = alternatives.varint();
          if (id > 0) token.topk.push(vocabulary[id - 1]);
        }
      }
      out.push(token);
    }
    return { bytes: bytes, tokens: out };
  }

  window.ICXTokens = { decode: decode, unpack: unpack };
})();
