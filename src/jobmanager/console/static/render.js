// Rendered outputs (console/render): tables sorted by a click (or Enter/Space) on a column's
// header button, and sandboxed frames sized to their content. Listeners sit on the document,
// so content htmx swaps in later works too.
(function () {
  "use strict";

  var numberPattern = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

  function cellValue(row, column) {
    var cell = row.cells[column];
    return cell ? cell.textContent.trim() : "";
  }

  function compare(a, b) {
    if (numberPattern.test(a) && numberPattern.test(b)) {
      return parseFloat(a) - parseFloat(b);
    }
    if (a === "" || b === "") {
      return a === "" ? (b === "" ? 0 : 1) : -1; // empty cells last
    }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortBy(header) {
    var table = header.closest("table");
    var body = table.tBodies[0];
    var column = header.cellIndex;
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (x, y) {
      var order = compare(cellValue(x, column), cellValue(y, column));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.cells, function (other) {
      other.setAttribute("aria-sort", "none");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("table.sortable th .sort-button");
    if (button) {
      sortBy(button.closest("th"));
    }
  });

  function fitFrame(frame) {
    var page = frame.contentDocument && frame.contentDocument.body;
    if (page) { // the body's height is its content's, however tall the frame is now
      frame.style.height = page.scrollHeight + 4 + "px";
    }
  }

  // A frame's load event does not bubble: listen while it is captured.
  document.addEventListener("load", function (event) {
    if (event.target.matches && event.target.matches("iframe.rendered-frame")) {
      fitFrame(event.target);
    }
  }, true);

  window.addEventListener("resize", function () {
    document.querySelectorAll("iframe.rendered-frame").forEach(fitFrame);
  });

  document.querySelectorAll("iframe.rendered-frame").forEach(fitFrame);
})();
