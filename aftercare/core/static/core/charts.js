/* Draws every chart of the page: a <figure data-chart> holding a <canvas> and its spec as a JSON data block
   (aftercare/core/charts.py builds the spec, {% chart spec %} writes it), with the vendored Chart.js. A static file:
   the Content-Security-Policy forbids inline scripts; Chart.js sizes its canvas through the CSSOM, which it allows.
   Also draws the charts of content htmx swaps in. */
(function () {
  "use strict";

  var COLOURS = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#20c997", "#d63384", "#0dcaf0", "#6c757d", "#ffc107"];
  var TARGET_COLOUR = "#dc3545";

  function withUnit(value, unit) {
    if (value === null || value === undefined) {
      return "—";
    }
    var text = Number(value).toLocaleString(document.documentElement.lang || undefined);
    return unit ? text + (unit === "%" ? " %" : " " + unit) : text;
  }

  function dataset(series, index, type) {
    var colour = COLOURS[index % COLOURS.length];
    if (series.target) {
      // the target: a dashed line across the chart, without points, drawn over the bars (order -1) but listed last
      return {
        type: "line", label: series.label, data: series.values, unit: series.unit, borderColor: TARGET_COLOUR,
        backgroundColor: TARGET_COLOUR, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0,
        fill: false, order: -1
      };
    }
    return {
      type: type, label: series.label, data: series.values, unit: series.unit, borderColor: colour,
      backgroundColor: type === "bar" ? colour + "cc" : colour, borderWidth: 2, pointRadius: 3, spanGaps: false,
      tension: 0
    };
  }

  function byIndex(a, b) {
    return a.datasetIndex - b.datasetIndex;
  }

  function config(spec) {
    var narrow = window.matchMedia && window.matchMedia("(max-width: 576px)").matches;
    var real = spec.series.filter(function (s) { return !s.target; });
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s) { return dataset(s, real.indexOf(s), spec.type); })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: document.documentElement.lang || undefined,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {ticks: {autoSkip: true, maxRotation: 0, font: {size: narrow ? 10 : 12}}},
          y: {
            min: spec.y.min, max: spec.y.max,
            ticks: {stepSize: spec.y.step, font: {size: narrow ? 10 : 12},
              callback: function (value) { return withUnit(value, spec.y.unit); }}
          }
        },
        plugins: {
          title: {display: false, text: spec.title},
          legend: {
            position: "bottom",
            labels: {boxWidth: narrow ? 10 : 16, font: {size: narrow ? 10 : 12}, sort: byIndex}
          },
          tooltip: {
            itemSort: byIndex,
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + withUnit(item.raw, item.dataset.unit);
              }
            }
          }
        }
      }
    };
  }

  function draw(root) {
    if (!window.Chart || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll("[data-chart]").forEach(function (figure) {
      var canvas = figure.querySelector("canvas");
      var source = figure.querySelector('script[type="application/json"]');
      if (!canvas || !source || window.Chart.getChart(canvas)) {
        return;
      }
      new window.Chart(canvas, config(JSON.parse(source.textContent)));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:load", function (e) { draw(e.target); });
})();
