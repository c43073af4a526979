/* The manager's return-visit rate chart: series from the page's JSON (json_script), drawn with Plotly. */
(function () {
  "use strict";
  var source = document.getElementById("rate-chart-data");
  if (!source || !window.Plotly) {
    return;
  }
  var data = JSON.parse(source.textContent);
  if (!data.length) {
    return;
  }
  Plotly.newPlot(
    "rate-chart",
    data.map(function (s) {
      return {type: "scatter", mode: "lines+markers", name: s.name, x: s.x, y: s.y};
    }),
    {margin: {t: 10, r: 10, b: 30, l: 40}, yaxis: {ticksuffix: " %", rangemode: "tozero"}, legend: {orientation: "h"}},
    {displayModeBar: false, responsive: true}
  );
})();
