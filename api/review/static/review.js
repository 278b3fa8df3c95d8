// Keyboard for plain cases: 1-9 choose a candidate, n/r/e other actions, Enter submits,
// j/k next/previous case. Keys typed into the note are left alone.
(function () {
  "use strict";
  var form = document.getElementById("decision");
  if (form) {
    form.addEventListener("submit", function () {
      var choice = form.querySelector("input[name=choice]:checked");
      var value = choice ? choice.value : "";
      var parts = value.split(":");
      form.elements.action.value = parts[0];
      form.elements.candidate.value = parts.length > 1 ? parts[1] : "";
    });
  }
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "TEXTAREA" || tag === "INPUT" && ev.target.type !== "radio" || tag === "SELECT") { return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (ev.key === "j" || ev.key === "k") {
      var link = document.getElementById(ev.key === "j" ? "next-link" : "prev-link");
      if (link) { ev.preventDefault(); window.location.href = link.href; }
      return;
    }
    if (!form) { return; }
    var radio = form.querySelector("input[name=choice][data-key='" + ev.key + "']");
    if (radio) {
      ev.preventDefault();
      radio.checked = true;
      if (ev.key === "n" || ev.key === "r" || ev.key === "e") { form.elements.note.focus(); }
      return;
    }
    if (ev.key === "Enter" && tag !== "BUTTON" && tag !== "A") {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
})();
