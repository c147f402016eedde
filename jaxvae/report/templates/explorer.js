// The latent explorer: each trained decoder runs here, in plain JavaScript, on the point under the
// pointer. The data (window.JAXVAE_EXPLORER) comes from the file beside the page, written by
// jaxvae.explorer: float32 weights and codes in base64, labels and a few training images as bytes.
(function () {
  "use strict";
  var status = document.getElementById("jx-status");
  var data = window.JAXVAE_EXPLORER;
  if (!data) {
    status.textContent = "The explorer's data file (explorer_data.js) is missing beside this page.";
    return;
  }
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  if (data.classes.length > 20) {  // as jaxvae.report.plots.class_colours: a spectrum beyond 20 classes
    COLORS = data.classes.map(function (_, c) { return "hsl(" + Math.round(330 * c / data.classes.length) + ", 70%, 45%)"; });
  } else if (data.classes.length > 10) {  // tab20's light pairs of tab10's colours
    COLORS = COLORS.concat(["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
                            "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"]);
  }
  var SIZE = 420;  // the map canvas, in CSS pixels
  var PICK = 5;  // a click this close to a carried training image's dot (CSS pixels) selects it
  var ELLIPSE = "#c0392b", SELECTED = "#e67e22";
  var PIXELS = 28;

  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function floats(b64) { return new Float32Array(bytes(b64).buffer); }
  function ints(b64) { return new Int32Array(bytes(b64).buffer); }
  function shorts(b64) { return new Uint16Array(bytes(b64).buffer); }

  var labels = bytes(data.labels);
  var shown = ints(data.shown);
  var images = bytes(data.images);
  var slotOf = {};  // training index -> its place among the carried images
  for (var n0 = 0; n0 < shown.length; n0++) slotOf[shown[n0]] = n0;
  function carried(index) {  // a carried training image as pixel means
    var pixels = new Float32Array(PIXELS * PIXELS), base = slotOf[index] * PIXELS * PIXELS;
    for (var p = 0; p < pixels.length; p++) pixels[p] = images[base + p] / 255;
    return pixels;
  }
  var stats = { decodes: 0, totalMs: 0, maxMs: 0, encodes: 0, encodeMs: 0, encodeMaxMs: 0 };

  // y = relu(x W + b) between layers, sigmoid(x W + b) after the last: an MLP decoder of jaxvae.models
  function makeMLPDecoder(spec) {
    var layers = spec.layers.map(function (l) {
      return { nIn: l["in"], nOut: l.out, w: floats(l.kernel), b: floats(l.bias), y: new Float32Array(l.out) };
    });
    var input = new Float32Array(2);
    return function decode(z0, z1, out) {
      input[0] = z0; input[1] = z1;
      var x = input;
      for (var k = 0; k < layers.length; k++) {
        var l = layers[k], y = l.y, w = l.w, n = l.nOut;
        y.set(l.b);
        for (var i = 0; i < l.nIn; i++) {
          var xi = x[i];
          if (xi === 0) continue;
          var row = i * n;
          for (var j = 0; j < n; j++) y[j] += xi * w[row + j];
        }
        if (k < layers.length - 1) {
          for (var j2 = 0; j2 < n; j2++) if (y[j2] < 0) y[j2] = 0;
        }
        x = y;
      }
      for (var p = 0; p < out.length; p++) out[p] = 1 / (1 + Math.exp(-x[p]));
    };
  }

  // a conv decoder of jaxvae.models: dense layers to 7x7 maps (ReLU after each), then two 4x4 stride-2
  // transposed convolutions, each written as the dense layer from an input pixel's 2x2 patch (rows s,
  // s + 1, columns t, t + 1) to its 2x2 block of outputs (jaxvae.conv.block_kernel_transposed)
  function makeConvDecoder(spec) {
    var layers = spec.layers.map(dense), first = layers[0], maps = layers[layers.length - 1].nOut;
    var size = 7, channels = maps / 49;
    var h = new Float32Array(first.nOut), patch = new Float32Array(4 * channels), block = new Float32Array(0);
    var convs = spec.transposed.map(function (l) {
      var c = { nIn: l["in"], nOut: l.out, w: floats(l.kernel), b: floats(l.bias), size: size };
      c.y = new Float32Array(4 * size * size * (l.out / 4));
      size *= 2;
      return c;
    });
    return function decode(z0, z1, out) {
      var n = first.nOut;
      for (var j = 0; j < n; j++) {
        var v = first.b[j] + z0 * first.w[j] + z1 * first.w[n + j];
        h[j] = v > 0 ? v : 0;
      }
      var x = h;
      for (var d = 1; d < layers.length; d++) x = matmul(x, layers[d], true);
      for (var k = 0; k < convs.length; k++) {
        var l = convs[k], s = l.size, cIn = l.nIn / 4, cOut = l.nOut / 4, wide = 2 * s, y = l.y, last = k === convs.length - 1;
        if (patch.length < l.nIn) patch = new Float32Array(l.nIn);
        if (block.length < l.nOut) block = new Float32Array(l.nOut);
        for (var r = 0; r < s; r++) {
          for (var q = 0; q < s; q++) {
            for (var i = 0; i < 2; i++) {
              for (var jj = 0; jj < 2; jj++) {
                var row = r + i, col = q + jj, inside = row < s && col < s, at = (i * 2 + jj) * cIn;
                for (var c = 0; c < cIn; c++) patch[at + c] = inside ? x[(row * s + col) * cIn + c] : 0;
              }
            }
            for (var o = 0; o < l.nOut; o++) block[o] = 0;
            for (var f = 0; f < l.nIn; f++) {
              var pf = patch[f];
              if (pf === 0) continue;
              var base = f * l.nOut;
              for (var o2 = 0; o2 < l.nOut; o2++) block[o2] += pf * l.w[base + o2];
            }
            for (var a = 0; a < 2; a++) {
              for (var b = 0; b < 2; b++) {
                for (var c2 = 0; c2 < cOut; c2++) {
                  var value = block[(a * 2 + b) * cOut + c2] + l.b[c2];
                  y[((2 * r + a) * wide + 2 * q + b) * cOut + c2] = last || value > 0 ? value : 0;
                }
              }
            }
          }
        }
        x = y;
      }
      for (var p = 0; p < out.length; p++) out[p] = 1 / (1 + Math.exp(-x[p]));
    };
  }

  function makeDecoder(spec) { return spec.arch === "conv" ? makeConvDecoder(spec) : makeMLPDecoder(spec); }

  function dense(l) { return { nIn: l["in"], nOut: l.out, w: floats(l.kernel), b: floats(l.bias) }; }
  // a k x k stride-2 convolution with ReLU, zero padding 2 before: output (r, q) reads the inputs at
  // rows 2r - 2 .. 2r + k - 3 (the judge's 5x5 and the conv encoders' 4x4); the layer is the dense
  // layer from the patch (row, column, channel) to the output channels. x: [size, size, channels]
  function conv(x, size, channels, layer, k) {
    var half = size / 2, y = new Float32Array(half * half * layer.nOut), patch = new Float32Array(layer.nIn);
    for (var r = 0; r < half; r++) {
      for (var q = 0; q < half; q++) {
        for (var i = 0; i < k; i++) {
          for (var j = 0; j < k; j++) {
            var row = 2 * r + i - 2, col = 2 * q + j - 2, inside = row >= 0 && col >= 0 && row < size && col < size;
            for (var c = 0; c < channels; c++) {
              patch[(i * k + j) * channels + c] = inside ? x[(row * size + col) * channels + c] : 0;
            }
          }
        }
        var base = (r * half + q) * layer.nOut;
        for (var o = 0; o < layer.nOut; o++) {
          var sum = layer.b[o];
          for (var f = 0; f < layer.nIn; f++) sum += patch[f] * layer.w[f * layer.nOut + o];
          y[base + o] = sum > 0 ? sum : 0;
        }
      }
    }
    return y;
  }
  function matmul(x, layer, relu) {
    var y = new Float32Array(layer.nOut);
    y.set(layer.b);
    for (var i = 0; i < layer.nIn; i++) {
      var xi = x[i];
      if (xi === 0) continue;
      for (var j = 0; j < layer.nOut; j++) y[j] += xi * layer.w[i * layer.nOut + j];
    }
    if (relu) for (var k = 0; k < y.length; k++) if (y[k] < 0) y[k] = 0;
    return y;
  }

  // an encoder of jaxvae.models (jaxvae.explorer.encoder_weights): pixels [784] in [0, 1] to the
  // posterior's mean and log-variance (null for a point code)
  function makeEncoder(spec) {
    var heads = spec.heads ? { mean: dense(spec.heads.mean), logvar: dense(spec.heads.logvar) } : null;
    var trunk;
    if (spec.arch === "conv") {
      var convs = spec.convs.map(dense), after = spec.layers.map(dense);
      trunk = function (pixels) {
        var x = pixels, size = 28, channels = 1;
        for (var k = 0; k < convs.length; k++) {
          x = conv(x, size, channels, convs[k], 4);
          size /= 2; channels = convs[k].nOut;
        }
        return dense_layers(x, after);
      };
    } else {
      var layers = spec.layers.map(dense);
      trunk = function (pixels) { return dense_layers(pixels, layers); };
    }
    // ReLU after every dense layer but the last, and after the last too when the heads follow
    function dense_layers(x, layers) {
      for (var k = 0; k < layers.length; k++) x = matmul(x, layers[k], heads !== null || k < layers.length - 1);
      return x;
    }
    return function encode(pixels) {
      var h = trunk(pixels);
      if (!heads) {
        var fixed = spec.logvar === null ? null : Array.prototype.map.call(h, function () { return spec.logvar; });
        return { mean: Array.prototype.slice.call(h), logvar: fixed };
      }
      return { mean: Array.prototype.slice.call(matmul(h, heads.mean, false)),
               logvar: Array.prototype.slice.call(matmul(h, heads.logvar, false)) };
    };
  }

  // the judge (jaxvae.classifier.Classifier): two 5x5 stride-2 convolutions written as patches times
  // a dense layer, a 256-unit hidden layer, a logit per class and one more; p(digit) = 1 - p("not a digit")
  function makeJudge(spec) {
    var conv1 = dense(spec.conv1), conv2 = dense(spec.conv2), hidden = dense(spec.hidden), out = dense(spec.out);
    var realism = spec.realism ? makeRealism(spec.realism) : null;
    return function judge(pixels) {
      var features = matmul(conv(conv(pixels, 28, 1, conv1, 5), 14, 16, conv2, 5), hidden, true);
      var logits = matmul(features, out, false);
      var top = -Infinity, best = 0, total = 0, p = new Float64Array(logits.length);
      for (var k = 0; k < logits.length; k++) top = Math.max(top, logits[k]);
      for (var k2 = 0; k2 < logits.length; k2++) { p[k2] = Math.exp(logits[k2] - top); total += p[k2]; }
      var reject = logits.length - 1;  // the last logit: "not a digit"
      for (var d = 0; d < reject; d++) if (p[d] > p[best]) best = d;
      var digit = 1 - p[reject] / total;
      return { digit: digit, accepted: digit >= spec.threshold, label: best,
               realism: realism ? realism(features, best) : null };
    };
  }
  // the realism score (jaxvae.study.generative.realism): max over the balls of the real digits of the
  // judged class, no wider than that class's median, of (radius / distance) in the judge's feature
  // space; at least 1 inside some ball
  function makeRealism(spec) {
    var f = floats(spec.features), r = floats(spec.radii), cls = bytes(spec.classes), n = r.length, d = f.length / n;
    return function (x, label) {
      var best = 0;
      for (var j = 0; j < n; j++) {
        if (cls[j] !== label) continue;
        var s = 0, base = j * d;
        for (var i = 0; i < d; i++) { var t = x[i] - f[base + i]; s += t * t; }
        best = Math.max(best, r[j] / Math.max(Math.sqrt(s), 1e-6));
      }
      return best;
    };
  }
  var judge = data.judge ? makeJudge(data.judge) : null;

  function el(tag, attrs, parent) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function nearest(codes, z0, z1, indices) {
    var best = -1, bestD = Infinity, count = indices ? indices.length : codes.length / 2;
    for (var n = 0; n < count; n++) {
      var i = indices ? indices[n] : n;
      var dx = codes[2 * i] - z0, dy = codes[2 * i + 1] - z1, d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = i; }
    }
    return { index: best, distance: Math.sqrt(bestD) };
  }

  function drawImage(canvas, pixels) {  // pixel means in [0, 1], drawn dark on white
    var ctx = canvas.getContext("2d"), image = ctx.createImageData(PIXELS, PIXELS);
    for (var p = 0; p < PIXELS * PIXELS; p++) {
      var v = 255 - Math.round(255 * pixels[p]);
      image.data[4 * p] = v; image.data[4 * p + 1] = v; image.data[4 * p + 2] = v; image.data[4 * p + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  function Panel(name, spec, parent) {
    var self = this;
    this.name = name;
    this.decode = makeDecoder(spec.decoder);
    this.encode = spec.encoder ? makeEncoder(spec.encoder) : null;
    this.title = spec.title;
    this.codes = floats(spec.codes);
    this.spacing = spec.spacing;
    this.far = spec.far;
    this.box = spec.box;  // [[x0, x1], [y0, y1]]
    this.film = spec.film ? { epochs: spec.film.epochs, indices: ints(spec.film.indices), lo: spec.film.lo,
                              hi: spec.film.hi, frames: shorts(spec.film.frames) } : null;
    this.frame = null;  // the film's frame the dots show; null: the final codes of every training image
    this.pixels = new Float32Array(PIXELS * PIXELS);
    this.z = [(spec.box[0][0] + spec.box[0][1]) / 2, (spec.box[1][0] + spec.box[1][1]) / 2];
    this.pinned = false;
    this.marks = { drawing: null, selected: null };  // the drawing's posterior; a selected training image
    this.ellipses = [];  // the drawing's 1- and 2-sigma ellipses as last drawn, in CSS pixels
    var panel = el("div", { "class": "jx-panel", "data-model": name }, parent);
    var left = el("div", {}, panel);
    el("h3", {}, left).textContent = spec.title;
    var ratio = window.devicePixelRatio || 1;
    this.map = el("canvas", { "class": "jx-map", width: SIZE * ratio, height: SIZE * ratio, tabindex: "0",
                              "aria-label": spec.title + " latent map" }, left);
    this.map.style.width = SIZE + "px";  // CSS may shrink it on a narrow screen; local() rescales
    this.ratio = ratio;
    this.dots = document.createElement("canvas");
    this.dots.width = this.map.width; this.dots.height = this.map.height;
    var side = el("div", { "class": "jx-side" }, panel);
    el("div", {}, side).textContent = "decoded";
    this.view = el("canvas", { width: PIXELS, height: PIXELS, "class": "jx-decoded" }, side);
    this.view.style.width = "168px"; this.view.style.height = "168px";
    this.info = el("div", { "class": "jx-info" }, side);
    el("div", {}, side).textContent = "nearest training image carried here";
    this.near = el("canvas", { width: PIXELS, height: PIXELS, "class": "jx-nearest" }, side);
    this.near.style.width = "84px"; this.near.style.height = "84px";
    this.nearInfo = el("div", {}, side);
    var buttons = el("div", {}, side);
    el("button", { type: "button" }, buttons).textContent = "reset view";
    el("button", { type: "button" }, buttons).textContent = "zoom out";
    buttons.children[0].onclick = function () { self.resetView(); };
    buttons.children[1].onclick = function () { self.zoom(4, SIZE / 2, SIZE / 2); };
    this.resetView();
    this.listen();
  }

  Panel.prototype.resetView = function () {
    var b = this.box, w = b[0][1] - b[0][0], h = b[1][1] - b[1][0];
    this.scale = 1.1 * Math.max(w, h) / SIZE;  // latent units per CSS pixel
    this.cx = (b[0][0] + b[0][1]) / 2; this.cy = (b[1][0] + b[1][1]) / 2;
    this.redrawDots(); this.render();
  };
  Panel.prototype.toLatent = function (px, py) {
    return [this.cx + (px - SIZE / 2) * this.scale, this.cy - (py - SIZE / 2) * this.scale];
  };
  Panel.prototype.toPixel = function (z0, z1) {
    return [SIZE / 2 + (z0 - this.cx) / this.scale, SIZE / 2 - (z1 - this.cy) / this.scale];
  };
  Panel.prototype.zoom = function (factor, px, py) {
    var anchor = this.toLatent(px, py);
    this.scale *= factor;
    this.cx = anchor[0] - (px - SIZE / 2) * this.scale; this.cy = anchor[1] + (py - SIZE / 2) * this.scale;
    this.redrawDots(); this.render();
  };
  Panel.prototype.dotsToDraw = function () {  // [codes, label index of each code] the dots show now
    if (this.frame === null || !this.film) return [this.codes, null];
    var f = this.film, n = f.indices.length, codes = new Float32Array(2 * n), base = this.frame * 2 * n;
    for (var i = 0; i < 2 * n; i++) {
      var axis = i % 2;
      codes[i] = f.lo[axis] + (f.hi[axis] - f.lo[axis]) * f.frames[base + i] / 65535;
    }
    return [codes, f.indices];
  };
  Panel.prototype.redrawDots = function () {
    var drawn = this.dotsToDraw(), codes = drawn[0], index = drawn[1];
    var ctx = this.dots.getContext("2d"), r = this.ratio, n = codes.length / 2;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, this.dots.width, this.dots.height);
    ctx.globalAlpha = 0.5;
    for (var c = 0; c < data.classes.length; c++) {
      ctx.fillStyle = COLORS[c];
      for (var i = 0; i < n; i++) {
        if (labels[index ? index[i] : i] !== c) continue;
        var p = this.toPixel(codes[2 * i], codes[2 * i + 1]);
        if (p[0] < 0 || p[1] < 0 || p[0] > SIZE || p[1] > SIZE) continue;
        ctx.fillRect(p[0] * r - r, p[1] * r - r, 1.6 * r, 1.6 * r);
      }
    }
    ctx.globalAlpha = 1;
  };
  Panel.prototype.render = function () {
    var ctx = this.map.getContext("2d"), r = this.ratio;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.dots, 0, 0);
    var p = this.toPixel(this.z[0], this.z[1]);
    ctx.strokeStyle = this.pinned ? "#c0392b" : "#000"; ctx.lineWidth = 2 * r;
    ctx.beginPath();
    ctx.moveTo((p[0] - 8) * r, p[1] * r); ctx.lineTo((p[0] + 8) * r, p[1] * r);
    ctx.moveTo(p[0] * r, (p[1] - 8) * r); ctx.lineTo(p[0] * r, (p[1] + 8) * r);
    ctx.stroke();
    this.drawMarks(ctx, r);
    ctx.fillStyle = "#333"; ctx.font = 11 * r + "px sans-serif";
    var lo = this.toLatent(0, SIZE), hi = this.toLatent(SIZE, 0);
    ctx.fillText("z[0] " + lo[0].toFixed(1) + " .. " + hi[0].toFixed(1) + ",  z[1] " + lo[1].toFixed(1) +
                 " .. " + hi[1].toFixed(1), 4 * r, (SIZE - 5) * r);
  };
  // the drawing's code (a diamond) with its posterior's 1- and 2-sigma ellipses (a VAE's: its
  // covariance is diagonal, so their axes are the latent axes), and a selected training image's code (a ring)
  Panel.prototype.drawMarks = function (ctx, r) {
    this.ellipses = [];
    var d = this.marks.drawing;
    if (d) {
      var p = this.toPixel(d.mean[0], d.mean[1]);
      ctx.fillStyle = "#fff"; ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5 * r;
      ctx.beginPath();
      ctx.moveTo(p[0] * r, (p[1] - 5) * r); ctx.lineTo((p[0] + 5) * r, p[1] * r);
      ctx.lineTo(p[0] * r, (p[1] + 5) * r); ctx.lineTo((p[0] - 5) * r, p[1] * r); ctx.closePath();
      ctx.fill(); ctx.stroke();
      if (d.logvar) {  // drawn over the diamond: a confident posterior's ellipses are smaller than it
        for (var k = 1; k <= 2; k++) {
          var rx = k * Math.exp(d.logvar[0] / 2) / this.scale, ry = k * Math.exp(d.logvar[1] / 2) / this.scale;
          ctx.strokeStyle = ELLIPSE; ctx.lineWidth = 2 * r;
          ctx.setLineDash(k === 2 ? [5 * r, 4 * r] : []);
          ctx.beginPath(); ctx.ellipse(p[0] * r, p[1] * r, rx * r, ry * r, 0, 0, 2 * Math.PI); ctx.stroke();
          this.ellipses.push({ sigmas: k, x: p[0], y: p[1], rx: rx, ry: ry });
        }
        ctx.setLineDash([]);
      }
    }
    if (this.marks.selected !== null) {
      var i = this.marks.selected, q = this.toPixel(this.codes[2 * i], this.codes[2 * i + 1]);
      ctx.strokeStyle = SELECTED; ctx.lineWidth = 2.5 * r;
      ctx.beginPath(); ctx.arc(q[0] * r, q[1] * r, 7 * r, 0, 2 * Math.PI); ctx.stroke();
    }
  };
  // the carried training image whose dot lies within PICK CSS pixels of (px, py), or -1 (the final
  // codes only: while the film shows an earlier epoch, a click pins as usual)
  Panel.prototype.pick = function (px, py) {
    if (this.frame !== null) return -1;
    var best = -1, bestD = PICK * PICK;
    for (var n = 0; n < shown.length; n++) {
      var i = shown[n], p = this.toPixel(this.codes[2 * i], this.codes[2 * i + 1]);
      var d = (p[0] - px) * (p[0] - px) + (p[1] - py) * (p[1] - py);
      if (d <= bestD) { bestD = d; best = i; }
    }
    return best;
  };
  Panel.prototype.moveTo = function (z0, z1) {
    this.z = [z0, z1];
    var began = performance.now();
    this.decode(z0, z1, this.pixels);
    var ms = performance.now() - began;
    stats.decodes += 1; stats.totalMs += ms; stats.maxMs = Math.max(stats.maxMs, ms);
    drawImage(this.view, this.pixels);
    var all = nearest(this.codes, z0, z1, null), spacings = all.distance / this.spacing;
    var far = spacings > this.far;
    this.info.innerHTML = "z = (" + z0.toFixed(3) + ", " + z1.toFixed(3) + ")" + (this.pinned ? " (pinned)" : "") +
      "<br>nearest training code: " + spacings.toFixed(1) + " spacings" +
      (far ? ' <span class="jx-far">far from the data</span>' : "") +
      "<br>its label: " + data.classes[labels[all.index]];
    if (judge) {
      var v = this.verdict = judge(this.pixels);
      this.info.innerHTML += "<br>judge: " + (v.accepted ? "accepted" : '<span class="jx-far">rejected</span>') +
        " (p = " + v.digit.toFixed(3) + ", most like " + data.classes[v.label] + ")";
      if (v.realism !== null) {
        this.info.innerHTML += "<br>realism: " + v.realism.toFixed(2) + (v.realism >= 1 ? " (realistic)" :
          " (below 1: less typical than real images of class " + data.classes[v.label] +
          ", as most reconstructions are)");
      }
      var b = this.box, cx = (b[0][0] + b[0][1]) / 2, cy = (b[1][0] + b[1][1]) / 2;
      var times = Math.hypot((z0 - cx) / ((b[0][1] - b[0][0]) / 2), (z1 - cy) / ((b[1][1] - b[1][0]) / 2));
      this.outside = data.judge.outside !== undefined && times >= data.judge.outside;
      if (this.outside) {
        this.info.innerHTML += '<br><span class="jx-far">' + times.toFixed(1) + "x its code box: far from anything " +
          "the decoder was trained on</span>";
      }
    }
    var seen = nearest(this.codes, z0, z1, shown);
    drawImage(this.near, carried(seen.index));
    this.nearInfo.textContent = data.classes[labels[seen.index]] + ", " + (seen.distance / this.spacing).toFixed(1) +
      " spacings away";
    this.render();
    status.textContent = "Decoded " + stats.decodes + " points in this page, " +
      (stats.totalMs / stats.decodes).toFixed(2) + " ms per point on average (" + stats.maxMs.toFixed(2) + " ms at most).";
  };
  Panel.prototype.listen = function () {
    var self = this, drag = null;
    function local(e) {
      var rect = self.map.getBoundingClientRect(), k = SIZE / rect.width;
      return [(e.clientX - rect.left) * k, (e.clientY - rect.top) * k];
    }
    this.map.addEventListener("pointerdown", function (e) {
      var p = local(e);
      drag = { x: p[0], y: p[1], cx: self.cx, cy: self.cy, moved: false };
      self.map.setPointerCapture(e.pointerId);
      self.map.focus();
    });
    this.map.addEventListener("pointermove", function (e) {
      var p = local(e);
      if (drag && (drag.moved || Math.abs(p[0] - drag.x) + Math.abs(p[1] - drag.y) > 4)) {
        drag.moved = true;
        self.cx = drag.cx - (p[0] - drag.x) * self.scale; self.cy = drag.cy + (p[1] - drag.y) * self.scale;
        self.redrawDots(); self.render();
        return;
      }
      if (!self.pinned) { var z = self.toLatent(p[0], p[1]); self.moveTo(z[0], z[1]); }
    });
    this.map.addEventListener("pointerup", function (e) {
      var p = local(e);
      if (drag && !drag.moved) {
        var picked = self.pick(p[0], p[1]);
        if (picked >= 0) {
          selectImage(picked);
        } else {
          self.pinned = !self.pinned;
          var z = self.toLatent(p[0], p[1]);
          self.moveTo(z[0], z[1]);
        }
      }
      drag = null;
    });
    this.map.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = local(e);
      self.zoom(e.deltaY > 0 ? 1.25 : 0.8, p[0], p[1]);
    }, { passive: false });
    this.map.addEventListener("keydown", function (e) {
      var step = 10 * self.scale, moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step],
                                             ArrowDown: [0, -step] };
      if (!(e.key in moves)) return;
      e.preventDefault();
      self.pinned = true;
      self.moveTo(self.z[0] + moves[e.key][0], self.z[1] + moves[e.key][1]);
    });
  };

  var parent = document.getElementById("jx-panels"), panels = {};
  Object.keys(data.models).forEach(function (name) {
    panels[name] = new Panel(name, data.models[name], parent);
    panels[name].moveTo(panels[name].z[0], panels[name].z[1]);
  });

  // Click a dot: that training image, its code pinned on every map (so each panel's decode is its
  // reconstruction by that model) and ringed there, so the maps can be compared point by point.
  var selectedBox = document.getElementById("jx-selected");
  function selectImage(index) {
    Object.keys(panels).forEach(function (name) {
      var panel = panels[name];
      panel.marks.selected = index; panel.pinned = true;
      panel.moveTo(panel.codes[2 * index], panel.codes[2 * index + 1]);
    });
    selectedBox.textContent = "";
    selectedBox.hidden = false;
    var figure = el("div", {}, selectedBox);
    el("div", {}, figure).textContent = "training image " + index + " (" + data.classes[labels[index]] + ")";
    drawImage(el("canvas", { width: PIXELS, height: PIXELS, "class": "jx-selected-image" }, figure), carried(index));
    Object.keys(panels).forEach(function (name) {
      var box = el("div", {}, selectedBox);
      el("div", {}, box).textContent = "its reconstruction by the " + panels[name].title;
      drawImage(el("canvas", { width: PIXELS, height: PIXELS, "class": "jx-reconstruction", "data-model": name }, box),
                panels[name].pixels);
    });
    window.jaxvaeExplorer.selected = index;
  }

  // Draw a digit: strokes on a pad, preprocessed as MNIST's digits were (the ink's bounding box
  // scaled to fit 20x20, by area averaging, then placed in 28x28 with its centre of mass at the
  // centre), encoded by each model, marked on its map, reconstructed, judged, and its nearest
  // carried training codes shown.
  var PAD = 224, BRUSH = 18, NEAREST = 5;
  var pad = document.getElementById("jx-pad");
  var drawing = { strokes: [], input: null, verdict: null, models: {} };
  function paint(ctx, color) {
    ctx.clearRect(0, 0, PAD, PAD);
    ctx.strokeStyle = color; ctx.fillStyle = color;
    ctx.lineWidth = BRUSH; ctx.lineCap = "round"; ctx.lineJoin = "round";
    drawing.strokes.forEach(function (stroke) {
      ctx.beginPath();
      if (stroke.length === 1) {
        ctx.arc(stroke[0][0], stroke[0][1], BRUSH / 2, 0, 2 * Math.PI); ctx.fill();
        return;
      }
      ctx.moveTo(stroke[0][0], stroke[0][1]);
      for (var i = 1; i < stroke.length; i++) ctx.lineTo(stroke[i][0], stroke[i][1]);
      ctx.stroke();
    });
  }
  // the weights that resample n source pixels from `start` into m target pixels by area: weights[t]
  // lists [source index, weight] with weights summing to 1
  function areaWeights(start, n, m) {
    var out = [], ratio = n / m;
    for (var t = 0; t < m; t++) {
      var a = t * ratio, b = (t + 1) * ratio, row = [];
      for (var i = Math.floor(a); i < Math.ceil(b); i++) {
        var overlap = Math.min(b, i + 1) - Math.max(a, i);
        if (overlap > 0) row.push([start + i, overlap / ratio]);
      }
      out.push(row);
    }
    return out;
  }
  function preprocess() {  // the strokes as a 28x28 MNIST-style input (ink in [0, 1]), or null if none
    var ink = document.createElement("canvas");
    ink.width = PAD; ink.height = PAD;
    var ctx = ink.getContext("2d");
    paint(ctx, "#000");
    var alpha = ctx.getImageData(0, 0, PAD, PAD).data, x0 = PAD, x1 = -1, y0 = PAD, y1 = -1;
    for (var y = 0; y < PAD; y++) {
      for (var x = 0; x < PAD; x++) {
        if (alpha[4 * (y * PAD + x) + 3] === 0) continue;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    if (x1 < 0) return null;
    var w = x1 - x0 + 1, h = y1 - y0 + 1, s = 20 / Math.max(w, h);
    var tw = Math.max(1, Math.round(w * s)), th = Math.max(1, Math.round(h * s));
    var rows = areaWeights(y0, h, th), cols = areaWeights(x0, w, tw), small = new Float64Array(tw * th);
    var mass = 0, my = 0, mx = 0;
    for (var ty = 0; ty < th; ty++) {
      for (var tx = 0; tx < tw; tx++) {
        var v = 0;
        rows[ty].forEach(function (ry) {
          cols[tx].forEach(function (cx) { v += ry[1] * cx[1] * alpha[4 * (ry[0] * PAD + cx[0]) + 3] / 255; });
        });
        small[ty * tw + tx] = v; mass += v; my += ty * v; mx += tx * v;
      }
    }
    var oy = Math.round(14 - my / mass), ox = Math.round(14 - mx / mass), input = new Float32Array(PIXELS * PIXELS);
    for (var ty2 = 0; ty2 < th; ty2++) {
      for (var tx2 = 0; tx2 < tw; tx2++) {
        var row = ty2 + oy, col = tx2 + ox;
        if (row >= 0 && col >= 0 && row < PIXELS && col < PIXELS) input[row * PIXELS + col] = Math.min(1, small[ty2 * tw + tx2]);
      }
    }
    return input;
  }
  function nearestFive(panel, z) {  // the NEAREST carried training images' indices to z, nearest first
    var order = Array.prototype.slice.call(shown).map(function (i) {
      var dx = panel.codes[2 * i] - z[0], dy = panel.codes[2 * i + 1] - z[1];
      return [dx * dx + dy * dy, i];
    });
    order.sort(function (a, b) { return a[0] - b[0]; });
    return order.slice(0, NEAREST).map(function (pair) { return pair[1]; });
  }
  var drawInfo = document.getElementById("jx-draw-info"), drawModels = document.getElementById("jx-draw-models");
  function update() {
    paint(pad.getContext("2d"), "#111");
    drawing.input = preprocess();
    drawModels.textContent = "";
    drawing.models = {};
    drawImage(document.getElementById("jx-input"), drawing.input || new Float32Array(PIXELS * PIXELS));
    if (!drawing.input) {
      drawInfo.textContent = "Draw a digit on the pad.";
      Object.keys(panels).forEach(function (name) { panels[name].marks.drawing = null; panels[name].render(); });
      return;
    }
    var verdict = drawing.verdict = judge ? judge(drawing.input) : null;
    drawInfo.innerHTML = verdict ? "judge: " + (verdict.accepted ? "accepted" : '<span class="jx-far">rejected</span>') +
      " (p = " + verdict.digit.toFixed(3) + ", most like " + data.classes[verdict.label] + ")" +
      (verdict.realism !== null ? ", realism " + verdict.realism.toFixed(2) : "") : "";
    Object.keys(panels).forEach(function (name) {
      var panel = panels[name];
      if (!panel.encode) return;
      var began = performance.now(), posterior = panel.encode(drawing.input), ms = performance.now() - began;
      stats.encodes += 1; stats.encodeMs += ms; stats.encodeMaxMs = Math.max(stats.encodeMaxMs, ms);
      var reconstruction = new Float32Array(PIXELS * PIXELS);
      panel.decode(posterior.mean[0], posterior.mean[1], reconstruction);
      var near = nearestFive(panel, posterior.mean);
      drawing.models[name] = { mean: posterior.mean, logvar: posterior.logvar,
                               reconstruction: Array.prototype.slice.call(reconstruction), nearest: near };
      panel.marks.drawing = posterior;
      panel.render();
      var row = el("div", { "class": "jx-draw-model", "data-model": name }, drawModels);
      var text = el("div", {}, row);
      text.textContent = panel.title + ": code (" + posterior.mean[0].toFixed(2) + ", " + posterior.mean[1].toFixed(2) + ")" +
        (posterior.logvar ? ", sigma (" + Math.exp(posterior.logvar[0] / 2).toFixed(2) + ", " +
         Math.exp(posterior.logvar[1] / 2).toFixed(2) + "): the ellipses on its map are 1 and 2 sigma" : "");
      var pics = el("div", { "class": "jx-strip" }, row);
      var recon = el("figure", {}, pics);
      drawImage(el("canvas", { width: PIXELS, height: PIXELS, "class": "jx-draw-reconstruction" }, recon), reconstruction);
      el("figcaption", {}, recon).textContent = "reconstruction";
      near.forEach(function (index) {
        var f = el("figure", {}, pics);
        drawImage(el("canvas", { width: PIXELS, height: PIXELS, "class": "jx-draw-nearest" }, f), carried(index));
        el("figcaption", {}, f).textContent = "near: " + data.classes[labels[index]];
      });
    });
    status.textContent = "Encoded the drawing " + stats.encodes + " times, " + (stats.encodeMs / stats.encodes).toFixed(2) +
      " ms per encode on average (" + stats.encodeMaxMs.toFixed(2) + " ms at most).";
  }
  var stroke = null, pending = false;
  function padPoint(e) {
    var rect = pad.getBoundingClientRect();
    return [(e.clientX - rect.left) * PAD / rect.width, (e.clientY - rect.top) * PAD / rect.height];
  }
  function later() {  // one update a frame while a stroke is drawn
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; update(); });
  }
  pad.addEventListener("pointerdown", function (e) {
    e.preventDefault();
    try { pad.setPointerCapture(e.pointerId); } catch (err) { /* a pointer the browser does not track */ }
    stroke = [padPoint(e)];
    drawing.strokes.push(stroke);
    later();
  });
  pad.addEventListener("pointermove", function (e) {
    if (!stroke) return;
    stroke.push(padPoint(e));
    later();
  });
  function endStroke() { if (stroke) { stroke = null; update(); } }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  document.getElementById("jx-clear").onclick = function () { drawing.strokes = []; update(); };
  document.getElementById("jx-undo").onclick = function () { drawing.strokes.pop(); update(); };
  update();
  var filmed = Object.keys(panels).filter(function (name) { return panels[name].film; });
  if (filmed.length) {  // one slider for every filmed panel: frames 0 .. F-1, then F = the final map
    var epochs = panels[filmed[0]].film.epochs, slider = document.getElementById("jx-epoch");
    var label = document.getElementById("jx-epoch-label");
    slider.max = String(epochs.length);
    slider.value = slider.max;
    var showFrame = function () {
      var f = Number(slider.value), last = f >= epochs.length;
      label.textContent = last ? "final: all " + data.count.toLocaleString("en") + " training codes"
        : "epoch " + epochs[f] + " of " + epochs[epochs.length - 1] + " (" +
          panels[filmed[0]].film.indices.length.toLocaleString("en") + " filmed codes)";
      filmed.forEach(function (name) {
        panels[name].frame = last ? null : f;
        panels[name].redrawDots(); panels[name].render();
      });
    };
    slider.addEventListener("input", showFrame);
    document.getElementById("jx-film").hidden = false;
    showFrame();
  }
  var legend = document.getElementById("jx-legend");
  data.classes.forEach(function (c, i) {
    var s = el("span", {}, legend);
    el("i", { style: "background:" + COLORS[i] }, s);
    s.appendChild(document.createTextNode(c));
  });
  // for tests and the curious: where each panel's point is, and how to reach a latent point on screen
  window.jaxvaeExplorer = {
    stats: stats,
    panels: panels,
    clientPoint: function (name, z0, z1) {
      var panel = panels[name], rect = panel.map.getBoundingClientRect(), p = panel.toPixel(z0, z1);
      var k = rect.width / SIZE;
      return { x: rect.left + p[0] * k, y: rect.top + p[1] * k,
               inside: p[0] >= 0 && p[1] >= 0 && p[0] <= SIZE && p[1] <= SIZE };
    },
    decoded: function (name) { return Array.prototype.slice.call(panels[name].pixels); },
    decodeAt: function (name, z0, z1) {  // the panel's decoder at (z0, z1), pixel means, not drawn
      var pixels = new Float32Array(PIXELS * PIXELS);
      panels[name].decode(z0, z1, pixels);
      return Array.prototype.slice.call(pixels);
    },
    dots: function (name) { return Array.prototype.slice.call(panels[name].dotsToDraw()[0]); },
    encodeAt: function (name, pixels) { return panels[name].encode(new Float32Array(pixels)); },
    drawing: function () {  // the drawing's 28x28 input and what each model made of it (null: nothing drawn)
      if (!drawing.input) return null;
      return { input: Array.prototype.slice.call(drawing.input), verdict: drawing.verdict, models: drawing.models };
    },
    select: selectImage,
    selected: null,
    judge: judge ? function (pixels) { return judge(new Float32Array(pixels)); } : null,
  };
})();
