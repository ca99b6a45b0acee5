// Errors from htmx requests (4xx with a message fragment) are shown in the flash area
// instead of replacing the part of the page the request was aimed at.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status >= 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    event.detail.target = document.getElementById("flash");
  } else {
    var flash = document.getElementById("flash");
    if (flash) { flash.innerHTML = ""; }
  }
});
