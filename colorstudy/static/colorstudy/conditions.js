// The viewing conditions as far as a browser tells them: the window (CSS pixels), the pixel ratio,
// the screen, the page zoom, the colour gamut and dynamic range of the display, the pointer.
// Fills the hidden fields of every form marked data-conditions; trial.js asks again at each vote.
(function () {
  "use strict";
  function matches(query) { return !!(window.matchMedia && window.matchMedia(query).matches); }
  function first(feature, values) {
    for (var i = 0; i < values.length; i++) {
      if (matches("(" + feature + ": " + values[i] + ")")) { return values[i]; }
    }
    return "";
  }
  // Chromium's and Firefox's zoom levels; a measured ratio within 4% of one is taken as that level.
  var LEVELS = [0.25, 0.33, 0.5, 0.67, 0.75, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5];
  function zoom() {
    // A touch screen's pinch zoom is the visual viewport's scale; a desktop browser zooming in
    // shrinks the viewport but not the window, so the window's width over the viewport's is the zoom.
    if (window.visualViewport && window.visualViewport.scale && window.visualViewport.scale !== 1) {
      return Math.round(window.visualViewport.scale * 100) / 100;
    }
    if (!(window.outerWidth > 0 && window.innerWidth > 0)) { return ""; }
    var ratio = window.outerWidth / window.innerWidth;
    for (var i = 0; i < LEVELS.length; i++) {
      if (Math.abs(ratio / LEVELS[i] - 1) < 0.04) { return LEVELS[i]; }
    }
    return Math.round(ratio * 100) / 100;
  }
  window.viewingConditions = function () {
    return {
      viewport_width: window.innerWidth, viewport_height: window.innerHeight,
      device_pixel_ratio: Math.round((window.devicePixelRatio || 1) * 1000) / 1000,
      screen_width: window.screen ? window.screen.width : "", screen_height: window.screen ? window.screen.height : "",
      zoom: zoom(), color_gamut: first("color-gamut", ["rec2020", "p3", "srgb"]),
      dynamic_range: first("dynamic-range", ["high", "standard"]), pointer: first("pointer", ["coarse", "fine", "none"])
    };
  };
  var forms = document.querySelectorAll("form[data-conditions]");
  for (var f = 0; f < forms.length; f++) {
    var values = window.viewingConditions();
    for (var name in values) {
      if (forms[f].elements[name]) { forms[f].elements[name].value = String(values[name]); }
    }
  }
})();
