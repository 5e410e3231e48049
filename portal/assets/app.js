// hookd portal: the one script, loaded from this server (CSP script-src
// 'self'). Every page works without it; it only adds the filter's live
// validation, and opens a portal link at once inside a frame.
(function () {
  "use strict";
  // A portal link's page spends the link when its button is pressed, so a
  // link preview spends nothing. A product that frames the portal wants it
  // open without a click: in a frame, press the button now.
  var enter = document.getElementById("enter");
  if (enter && window.self !== window.top) {
    enter.submit();
    return;
  }
  var area = document.querySelector("textarea[data-check]");
  if (!area) return;
  var msg = document.getElementById("filter-msg");
  var timer = null;
  function check() {
    var body = new URLSearchParams();
    body.set("csrf", area.getAttribute("data-csrf"));
    body.set("filter", area.value);
    fetch(area.getAttribute("data-check"), { method: "POST", body: body, credentials: "omit" })
      .then(function (r) { return r.text(); })
      .then(function (t) {
        msg.textContent = t;
        msg.className = /valid\.$|No filter/.test(t) ? "sub ok" : "sub bad";
      })
      .catch(function () { msg.textContent = ""; });
  }
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  check();
})();
