// Sortable tables: click a header to sort by that column (numbers by their raw data-sort value).
// Inline, dependency-free; marks <html data-report-ready="1"> when set up (the browser test checks it).
(function () {
  "use strict";
  function sortValue(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null || raw === "") { return { empty: true, num: NaN, text: "" }; }
    var num = Number(raw);
    return { empty: false, num: num, text: raw.toLowerCase() };
  }
  function compareValues(a, b) {
    if (!isNaN(a.num) && !isNaN(b.num)) { return a.num - b.num; }
    return a.text < b.text ? -1 : (a.text > b.text ? 1 : 0);
  }
  // Blanks (no figure, "not resolved above idle") go last in both directions: the direction flips the
  // order of the values only, so a descending sort still starts with the largest figure.
  function compare(a, b, ascending) {
    if (a.empty !== b.empty) { return a.empty ? 1 : -1; }
    var order = compareValues(a, b);
    return ascending ? order : -order;
  }
  function sortBy(table, column, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) { headers[i].setAttribute("aria-sort", "none"); }
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      return compare(sortValue(r1.cells[column]), sortValue(r2.cells[column]), ascending);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var wrapper = document.createElement("div");
    wrapper.className = "table-scroll";
    table.parentNode.insertBefore(wrapper, table);
    wrapper.appendChild(table);
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, column) {
      header.addEventListener("click", function () { sortBy(table, column, header); });
    });
  });
  document.documentElement.setAttribute("data-report-ready", String(tables.length));
})();
