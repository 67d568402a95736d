/* The status page's script: polls the server's own metrics (./data), turns the
   cumulative figures into rates and windowed quantiles, and draws them with
   uPlot. Every request goes to the server that served the page. */
(function () {
  'use strict';
  var HISTORY = 120;
  var POLL_MS = 1000;
  var COLORS = ['#2f7ed8', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#1098ad', '#c2255c', '#5c940d'];
  var base = location.pathname.replace(/\/+$/, '');
  var previous = null;
  var times = [];
  var rate = { calls: [], errors: [] };
  var latency = {};
  var load = { inFlight: [], queueMs: [] };
  var sessions = { open: [], tasks: [] };
  var charts = {};
  var toolKey = '';

  function push(list, value) {
    list.push(value);
    if (list.length > HISTORY) list.shift();
  }
  function widthOf(name) {
    return document.querySelector('[data-chart="' + name + '"] .plot').clientWidth || 300;
  }

  /* The q-quantile of a bucketed distribution, interpolated inside its bucket (as Prometheus does). */
  function quantile(q, bounds, counts) {
    var total = 0;
    for (var i = 0; i < counts.length; i++) total += counts[i];
    if (total === 0) return null;
    var rank = q * total,
      seen = 0;
    for (var j = 0; j < counts.length; j++) {
      if (seen + counts[j] >= rank && counts[j] > 0) {
        if (j >= bounds.length) return bounds[bounds.length - 1] * 1000;
        var lower = j === 0 ? 0 : bounds[j - 1];
        return (lower + (bounds[j] - lower) * ((rank - seen) / counts[j])) * 1000;
      }
      seen += counts[j];
    }
    return bounds[bounds.length - 1] * 1000;
  }

  function makeChart(name, series, scales) {
    var host = document.querySelector('[data-chart="' + name + '"] .plot');
    if (charts[name]) charts[name].destroy();
    host.textContent = '';
    var opts = {
      width: widthOf(name),
      height: 200,
      series: [{}].concat(series),
      scales: Object.assign({ x: { time: true } }, scales || {}),
      axes: [{}, { scale: series[0].scale || 'y' }].concat(
        scales && scales.r ? [{ scale: 'r', side: 1, grid: { show: false } }] : [],
      ),
      legend: { live: false },
    };
    charts[name] = new uPlot(
      opts,
      [[]].concat(
        series.map(function () {
          return [];
        }),
      ),
      host,
    );
  }

  function line(label, i, scale, dash) {
    var s = { label: label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true };
    if (scale) s.scale = scale;
    if (dash) s.dash = [6, 4];
    return s;
  }

  function setChart(name, columns) {
    var chart = charts[name];
    chart.setData([times.slice()].concat(columns));
    var host = document.querySelector('[data-chart="' + name + '"]');
    var points = 0,
      last = null;
    columns.forEach(function (column) {
      column.forEach(function (v) {
        if (v !== null && v !== undefined) {
          points++;
          last = v;
        }
      });
    });
    host.setAttribute('data-points', String(points));
    host.setAttribute('data-last', last === null ? '' : String(Math.round(last * 1000) / 1000));
    host.setAttribute('data-updates', String(Number(host.getAttribute('data-updates') || '0') + 1));
  }

  function render(now) {
    var tools = Object.keys(now.tools).sort();
    var key = tools.join('\u0000');
    if (key !== toolKey) {
      toolKey = key;
      var series = [];
      tools.forEach(function (tool, i) {
        series.push(line(tool + ' p50', i));
        series.push(line(tool + ' p99', i, undefined, true));
        latency[tool] = latency[tool] || { p50: [], p99: [] };
        while (latency[tool].p50.length < times.length) {
          latency[tool].p50.unshift(null);
          latency[tool].p99.unshift(null);
        }
      });
      if (series.length === 0) series.push(line('no calls yet', 0));
      makeChart('latency', series);
    }
    setChart('rate', [rate.calls.slice(), rate.errors.slice()]);
    setChart(
      'latency',
      tools.length === 0
        ? [
            times.map(function () {
              return null;
            }),
          ]
        : tools.reduce(function (cols, tool) {
            return cols.concat([latency[tool].p50.slice(), latency[tool].p99.slice()]);
          }, []),
    );
    setChart('load', [load.inFlight.slice(), load.queueMs.slice()]);
    setChart('sessions', [sessions.open.slice(), sessions.tasks.slice()]);

    var body = document.querySelector('#tools tbody');
    body.textContent = '';
    tools.forEach(function (tool) {
      var f = now.tools[tool];
      var row = document.createElement('tr');
      [
        tool,
        f.calls,
        f.errors,
        fmt(quantile(0.5, now.bounds, f.buckets)),
        fmt(quantile(0.99, now.bounds, f.buckets)),
      ].forEach(function (v) {
        var cell = document.createElement('td');
        cell.textContent = String(v);
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    var outcomes = Object.keys(now.outcomes)
      .filter(function (k) {
        return k !== 'ok';
      })
      .map(function (k) {
        return k + ' ' + now.outcomes[k];
      })
      .join(', ');
    document.getElementById('summary').textContent =
      'up ' +
      now.uptimeS +
      ' s · ' +
      now.operations +
      ' operations, ' +
      now.failures +
      ' failed' +
      (outcomes ? ' (' + outcomes + ')' : '') +
      ' · ' +
      now.inFlight +
      ' in flight · ' +
      now.sessions +
      ' sessions';
  }

  function fmt(v) {
    return v === null ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0);
  }

  function sample(now) {
    if (previous) {
      var dt = Math.max((now.time - previous.time) / 1000, 0.001);
      push(times, now.time / 1000);
      var calls = 0,
        errors = 0;
      Object.keys(now.tools).forEach(function (tool) {
        var was = previous.tools[tool] || { calls: 0, errors: 0, buckets: [] };
        var f = now.tools[tool];
        calls += f.calls - was.calls;
        errors += f.errors - was.errors;
        var window = f.buckets.map(function (n, i) {
          return n - (was.buckets[i] || 0);
        });
        var series = (latency[tool] = latency[tool] || {
          p50: times.slice(1).map(function () {
            return null;
          }),
          p99: times.slice(1).map(function () {
            return null;
          }),
        });
        push(series.p50, quantile(0.5, now.bounds, window));
        push(series.p99, quantile(0.99, now.bounds, window));
      });
      push(rate.calls, calls / dt);
      push(rate.errors, errors / dt);
      var waits = now.queueWait.count - previous.queueWait.count;
      push(load.inFlight, now.inFlight);
      push(load.queueMs, waits > 0 ? ((now.queueWait.sumS - previous.queueWait.sumS) / waits) * 1000 : 0);
      push(sessions.open, now.sessions);
      push(
        sessions.tasks,
        Object.keys(now.tasks).reduce(function (n, k) {
          return n + now.tasks[k];
        }, 0),
      );
      render(now);
    }
    previous = now;
  }

  function poll() {
    fetch(base + '/data', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw new Error('status ' + r.status);
        return r.json();
      })
      .then(sample)
      .catch(function (e) {
        document.getElementById('summary').textContent = 'cannot read figures: ' + e.message;
      })
      .then(function () {
        setTimeout(poll, POLL_MS);
      });
  }

  makeChart('rate', [line('calls/s', 0), line('errors/s', 1)]);
  makeChart('latency', [line('no calls yet', 0)]);
  makeChart('load', [line('in flight', 0), line('queue wait ms', 1, 'r')], { r: { auto: true } });
  makeChart('sessions', [line('sessions', 0), line('live tasks', 1)]);
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (name) {
      charts[name].setSize({ width: widthOf(name), height: 200 });
    });
  });
  poll();
})();
