// Progressive enhancement of the trial form: arrow keys, response time, one submission only,
// and the next trial shown in place (one request per vote: the server answers the vote with the
// next pair). Without JavaScript the two image buttons post the form by themselves; whenever the
// in-page path fails, the form is posted the plain way (a repeated vote is stored only once).
(function () {
  "use strict";
  var form = document.getElementById("vote-form");
  if (!form) { return; }
  var images = form.querySelectorAll(".choice img");
  var buttons = form.querySelectorAll(".choice");
  var exposure = parseInt(form.getAttribute("data-exposure-ms") || "0", 10);
  var started = null;
  var hiddenAt = null;
  var timer = null;
  var sent = false;
  var pending = null;  // the next trial, shown once both of its images have loaded
  var preloaded = [];  // the next pair's images, held so that they stay loaded until shown
  if (exposure) { form.classList.add("ready"); }
  // Viewing conditions during each trial (conditions.js): lost focus, resizes, the image's size.
  var minImage = parseInt(form.getAttribute("data-min-image-px") || "0", 10);
  var consentViewport = form.getAttribute("data-viewport") || "";
  var focusLost = false;
  var resized = false;
  var tooSmall = false;
  var warning = document.getElementById("too-small");
  window.addEventListener("blur", function () { focusLost = true; });
  document.addEventListener("visibilitychange", function () { if (document.hidden) { focusLost = true; } });
  function conditions() {  // conditions.js's reading, or the window alone where it did not load
    return window.viewingConditions ? window.viewingConditions()
      : {viewport_width: window.innerWidth, viewport_height: window.innerHeight, zoom: 1,
         device_pixel_ratio: Math.round((window.devicePixelRatio || 1) * 1000) / 1000};
  }
  function shownWidth(zoom) {
    // The picture's width on screen (object-fit: contain), in CSS pixels at 100% zoom.
    var img = images[0];
    if (!img || !img.naturalWidth) { return 0; }
    var r = img.getBoundingClientRect();
    var scale = parseFloat(zoom) > 0 ? parseFloat(zoom) : 1;
    return Math.round(Math.min(r.width, r.height * img.naturalWidth / img.naturalHeight) * scale);
  }
  function checkSize() {
    if (!minImage || !warning) { return; }
    var width = shownWidth(conditions().zoom);
    tooSmall = width > 0 && width < minImage;
    warning.hidden = !tooSmall;
    if (tooSmall) {
      warning.querySelector(".shown").textContent = String(width);
    }
    form.classList.toggle("too-small", tooSmall);
  }
  window.addEventListener("resize", function () { resized = true; checkSize(); });
  function recordConditions() {
    var c = conditions();
    var viewport = c.viewport_width + "x" + c.viewport_height + "@" + c.device_pixel_ratio;
    // One field, IMAGE_PX;FOCUS_LOST;RESIZED;VIEWPORT (the viewport only where it changed since consent).
    form.elements["conditions"].value = [String(shownWidth(c.zoom) || ""), focusLost ? "1" : "0", resized ? "1" : "0",
                                         viewport === consentViewport ? "" : viewport].join(";");
  }
  // Hover styles wait until the pointer moves after a pair appears: where the pointer was left (or
  // where a tap left the hover state) must not mark one side. Browsers also send mousemove events
  // when the page changes under a still pointer, so only a new position counts.
  var pointer = null;   // the pointer's last known position
  var onset = null;     // where it was when the pair appeared
  function freshPair() {
    form.classList.add("fresh");
    onset = pointer;
    if (document.activeElement && document.activeElement.blur) { document.activeElement.blur(); }
  }
  document.addEventListener("mousemove", function (event) {
    pointer = {x: event.clientX, y: event.clientY};
    if (onset === null) { onset = pointer; return; }
    if (pointer.x !== onset.x || pointer.y !== onset.y) { form.classList.remove("fresh"); }
  });

  function hidePair() {
    hiddenAt = performance.now();
    form.elements["displayed_ms"].value = String(Math.round(hiddenAt - started));
    for (var i = 0; i < buttons.length; i++) { buttons[i].classList.add("exposed-out"); }
  }

  function loaded() {
    for (var i = 0; i < images.length; i++) {
      if (!images[i].complete || images[i].naturalWidth === 0) { return false; }
    }
    return true;
  }

  // The response clock (and the exposure) starts when both images are on screen.
  function startClock() {
    if (pending !== null || started !== null || !loaded()) { return; }
    checkSize();
    focusLost = !document.hasFocus();
    resized = false;
    started = performance.now();
    if (exposure) { timer = setTimeout(hidePair, exposure); }
  }

  function reveal() {
    var trial = pending;
    pending = null;
    var count = document.querySelector(".progress .count");
    count.textContent = (count.getAttribute("data-format") || "__N__ of __T__")
      .replace("__N__", String(trial.number)).replace("__T__", String(trial.total));
    document.querySelector(".progress .bar").value = trial.percent;
    for (var i = 0; i < buttons.length; i++) { buttons[i].classList.remove("chosen", "exposed-out"); }
    freshPair();
    form.classList.remove("loading");
    sent = false;
    startClock();
  }

  function onLoad() {
    if (pending !== null) {
      if (loaded()) { reveal(); }
    } else {
      startClock();
    }
  }

  function show(trial) {
    clearTimeout(timer);
    started = null;
    hiddenAt = null;
    pending = trial;
    form.classList.add("loading");  // the old pair must not stay clickable under the new position
    form.elements["position"].value = String(trial.position);
    form.elements["response_ms"].value = "";
    form.elements["displayed_ms"].value = "";
    var sides = [trial.left, trial.right];
    for (var i = 0; i < images.length; i++) {
      images[i].width = sides[i].width;
      images[i].height = sides[i].height;
      images[i].src = sides[i].src;
    }
    preloaded = trial.upcoming.map(function (src) { var img = new Image(); img.src = src; return img; });
    onLoad();
  }

  function postPlainly(side) {
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "side";
    hidden.value = side;
    form.appendChild(hidden);
    form.submit();
  }

  function choose(side) {
    if (sent || pending !== null || tooSmall) { return; }
    sent = true;
    recordConditions();
    var ms = started === null ? "" : String(Math.round(performance.now() - started));
    form.elements["response_ms"].value = ms;
    if (exposure && hiddenAt === null && started !== null) {
      form.elements["displayed_ms"].value = String(Math.round(performance.now() - started));
    }
    var button = form.querySelector('[data-side="' + side + '"]');
    if (button) { button.classList.add("chosen"); }
    if (!window.fetch || !window.FormData) { postPlainly(side); return; }
    var data = new FormData(form);
    data.append("side", side);
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (answer) {
        if (answer.trial) { show(answer.trial); } else { window.location.assign(answer.location); }
      })
      .catch(function () { postPlainly(side); });  // the server's page says what went wrong
  }

  for (var i = 0; i < images.length; i++) {
    images[i].addEventListener("load", onLoad);
    images[i].addEventListener("error", function () { if (pending !== null) { window.location.reload(); } });
  }
  startClock();

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
