// Placeholder: lists the newest sessions as text (the page branch replaces this file).
"use strict";
fetch("/api/sessions?limit=20").then(function (r) { return r.json(); }).then(function (j) {
  var ul = document.getElementById("sessions");
  (j.sessions || []).forEach(function (s) {
    var li = document.createElement("li");
    li.textContent = s.id + " " + s.workflow + " " + s.status + " " + s.goal;
    ul.appendChild(li);
  });
});
