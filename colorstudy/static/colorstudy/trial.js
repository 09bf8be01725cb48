// Progressive enhancement of the trial form: arrow keys, response time, one submission only.
// Without JavaScript the two image buttons post the form by themselves.
(function () {
  "use strict";
  var form = document.getElementById("vote-form");
  if (!form) { return; }
  var started = null;
  var sent = false;
  var images = form.querySelectorAll(".choice img");

  var exposure = parseInt(form.getAttribute("data-exposure-ms") || "0", 10);
  var hiddenAt = null;
  if (exposure) { form.classList.add("ready"); }

  function hidePair() {
    hiddenAt = performance.now();
    form.elements["displayed_ms"].value = String(Math.round(hiddenAt - started));
    var buttons = form.querySelectorAll(".choice");
    for (var i = 0; i < buttons.length; i++) { buttons[i].classList.add("exposed-out"); }
  }

  function startClock() {
    for (var i = 0; i < images.length; i++) {
      if (!images[i].complete) { return; }
    }
    if (started === null) {
      started = performance.now();
      if (exposure) { setTimeout(hidePair, exposure); }
    }
  }
  for (var i = 0; i < images.length; i++) { images[i].addEventListener("load", startClock); }
  startClock();

  function choose(side) {
    if (sent) { return; }
    sent = true;
    var ms = started === null ? "" : String(Math.round(performance.now() - started));
    form.elements["response_ms"].value = ms;
    if (exposure && hiddenAt === null && started !== null) {
      form.elements["displayed_ms"].value = String(Math.round(performance.now() - started));
    }
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "side";
    hidden.value = side;
    form.appendChild(hidden);
    var button = form.querySelector('[data-side="' + side + '"]');
    if (button) { button.classList.add("chosen"); }
    form.submit();
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-side]");
    if (!button) { return; }
    event.preventDefault();
    choose(button.getAttribute("data-side"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { event.preventDefault(); choose("left"); }
    if (event.key === "ArrowRight") { event.preventDefault(); choose("right"); }
  });
})();
