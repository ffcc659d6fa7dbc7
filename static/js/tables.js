// Sortable tables: the buttons in a table.sortable's column headings reorder its rows.
// Cells may carry the raw value to sort on in data-sort (numbers formatted for reading
// would sort badly); empty values always go last. aria-sort on the heading says how
// the table is sorted, and a polite live region announces each change.
(function () {
  "use strict";

  var status = document.createElement("p");
  status.className = "sr-only";
  status.setAttribute("aria-live", "polite");
  document.body.appendChild(status);

  function valueOf(row, index, type) {
    var cell = row.cells[index];
    if (!cell) return null;
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    raw = raw.trim();
    if (raw === "" || raw === "None") return null;
    if (type === "number") {
      var number = parseFloat(raw);
      return isNaN(number) ? null : number;
    }
    return raw.toLocaleLowerCase();
  }

  function sortBy(table, heading, direction) {
    var index = Array.prototype.indexOf.call(heading.parentNode.children, heading);
    var type = heading.getAttribute("data-sort-type") || "text";
    var sign = direction === "ascending" ? 1 : -1;
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.map
        .call(body.rows, function (row, position) {
          return { row: row, value: valueOf(row, index, type), position: position };
        })
        .sort(function (a, b) {
          if (a.value === null || b.value === null) {
            if (a.value === b.value) return a.position - b.position;
            return a.value === null ? 1 : -1;
          }
          if (a.value < b.value) return -sign;
          if (a.value > b.value) return sign;
          return a.position - b.position;
        })
        .forEach(function (entry) {
          body.appendChild(entry.row);
        });
    });
    Array.prototype.forEach.call(heading.parentNode.children, function (other) {
      if (other !== heading) other.removeAttribute("aria-sort");
    });
    heading.setAttribute("aria-sort", direction);
    status.textContent = "Sorted by " + heading.textContent.trim() + ", " + direction + ".";
  }

  // A wide table scrolls in its own box; say so above it while columns are hidden. The
  // shadow drawn by site.css is the cue without JavaScript.
  var hintUpdates = [];
  function showScrollHint(wrap) {
    var hint = document.createElement("p");
    hint.className = "scroll-hint";
    hint.setAttribute("aria-hidden", "true");
    hint.textContent = "Scroll sideways for more columns →";
    wrap.parentNode.insertBefore(hint, wrap);
    function update() {
      hint.hidden = wrap.scrollWidth <= wrap.clientWidth + 1;
    }
    update();
    hintUpdates.push(update);
  }
  Array.prototype.forEach.call(document.querySelectorAll(".table-wrap"), showScrollHint);
  function updateHints() {
    hintUpdates.forEach(function (update) {
      update();
    });
  }
  window.addEventListener("resize", updateHints);
  document.addEventListener("toggle", updateHints, true); // tables inside <details>

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(
      table.querySelectorAll("thead th[data-sort-type] button.sort"),
      function (button) {
        button.addEventListener("click", function () {
          var heading = button.parentNode;
          var current = heading.getAttribute("aria-sort");
          var direction = current
            ? current === "ascending" ? "descending" : "ascending"
            : heading.getAttribute("data-sort-default") === "asc" ? "ascending" : "descending";
          sortBy(table, heading, direction);
        });
      }
    );
  });
})();
