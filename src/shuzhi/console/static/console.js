// Errors from htmx requests (4xx with a message fragment) are shown in the flash area
// instead of replacing the part of the page the request was aimed at, unless the server
// named the place for them (HX-Retarget), as the employee editor does for its problems.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  var flash = document.getElementById("flash");
  if (xhr.status >= 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    if (!xhr.getResponseHeader("HX-Retarget")) { event.detail.target = flash; }
  } else if (flash) {
    flash.innerHTML = "";
  }
});

// The employee editor: line numbers beside the YAML, and "line N" links that select the line.
function szGutter(text, gutter) {
  var count = text.value.split("\n").length;
  var numbers = [];
  for (var i = 1; i <= count; i++) { numbers.push(i); }
  gutter.textContent = numbers.join("\n");
  gutter.scrollTop = text.scrollTop;
}

function szGotoLine(text, line) {
  var lines = text.value.split("\n");
  var start = 0;
  for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
  var end = start + (lines[line - 1] || "").length;
  text.focus();
  text.setSelectionRange(start, end);
  var height = text.scrollHeight / Math.max(lines.length, 1);
  text.scrollTop = Math.max(0, (line - 5) * height);
}

document.addEventListener("DOMContentLoaded", function () {
  var text = document.getElementById("definition-text");
  var gutter = document.getElementById("definition-gutter");
  if (!text || !gutter) { return; }
  var update = function () { szGutter(text, gutter); };
  text.addEventListener("input", update);
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  update();
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".goto-line");
    if (link) { event.preventDefault(); szGotoLine(text, parseInt(link.dataset.line, 10)); }
  });
});
