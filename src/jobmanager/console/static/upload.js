// Uploads from the console to the API's upload routes (multipart: a `metadata` part and
// the `file`), with a progress bar. A form.upload-form holds a drop zone (a labelled file
// input: choosing files and dropping them on the zone both work) and says:
//   data-upload-url  the API route;   data-xsrf  the XSRF token the API checks;
//   data-metadata    fixed metadata (JSON); inputs named meta.<field> add theirs;
//   data-file-name   "full": metadata.name is the file's name; "stem": the name without
//                    its extension, when no name was typed;
//   data-auto        upload as soon as files are chosen (else on submit);
//   data-then        "reload" the page, or "model": open the model's page (the answer's id);
//   data-offer-url   first ask this page what to offer for the file's model name: when
//                    it answers buttons (a new version of a model of that name, or a new
//                    model), they are shown and the upload goes where the chosen one says.
(function () {
  "use strict";

  function metadataFor(form, file) {
    var metadata = JSON.parse(form.dataset.metadata || "{}");
    form.querySelectorAll("[name^='meta.']").forEach(function (input) {
      if (input.value.trim()) {
        metadata[input.name.slice(5)] = input.value.trim();
      }
    });
    if (form.dataset.fileName === "full") {
      metadata.name = file.name;
    } else if (form.dataset.fileName === "stem" && !metadata.name) {
      metadata.name = file.name.replace(/\.[^.]+$/, "") || file.name;
    }
    return metadata;
  }

  function errorOf(xhr) {
    try {
      return JSON.parse(xhr.responseText).errors[0].message;
    } catch (ignored) {
      return xhr.status ? "the service answered " + xhr.status : "the connection was lost";
    }
  }

  function send(form, file, url, bare) {
    var bar = form.querySelector("progress");
    form.querySelector(".upload-name").textContent = file.name;
    bar.value = 0;
    return new Promise(function (resolve, reject) {
      var body = new FormData();
      body.append("metadata", JSON.stringify(bare ? {} : metadataFor(form, file)));
      body.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-XSRF-TOKEN", form.dataset.xsrf);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          bar.value = Math.round((100 * event.loaded) / event.total);
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          resolve(JSON.parse(xhr.responseText));
        } else {
          reject(new Error(file.name + ": " + errorOf(xhr)));
        }
      });
      xhr.addEventListener("error", function () { reject(new Error(file.name + ": " + errorOf(xhr))); });
      xhr.send(body);
    });
  }

  function say(form, text, failed) {
    var status = form.querySelector(".upload-status");
    status.textContent = text;
    status.className = "upload-status" + (failed ? " error" : "");
    status.setAttribute("role", failed ? "alert" : "status");
  }

  function uploadAll(form, files, url, bare) {
    if (!files.length) {
      say(form, "Choose a file first.", true);
      return;
    }
    var progress = form.querySelector(".upload-progress");
    var buttons = form.querySelectorAll("button, input[type=file]");
    buttons.forEach(function (b) { b.disabled = true; });
    progress.hidden = false;
    var done = [];
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () {
        return send(form, file, url, bare).then(function (answer) { done.push(answer); });
      });
    });
    chain.then(function () {
      say(form, "Uploaded " + done.length + (done.length === 1 ? " file." : " files."), false);
      if (form.dataset.then === "model") {
        window.location.assign("/models/" + encodeURIComponent(done[0].id));
      } else {
        window.location.reload();
      }
    }).catch(function (error) {
      say(form, "Upload failed: " + error.message, true);
      progress.hidden = true;
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  // The offer stands in for the form's own Upload button while it is shown.
  function showOffer(form, shown) {
    form.querySelector(".upload-offer").hidden = !shown;
    form.querySelector("button[type=submit]").hidden = shown;
  }

  // Whether the page offered a choice for the file's name (then the upload waits for it).
  function offered(form, files) {
    var offer = form.querySelector(".upload-offer");
    if (!form.dataset.offerUrl || !offer || files.length !== 1) {
      return Promise.resolve(false);
    }
    var name = metadataFor(form, files[0]).name || "";
    var url = form.dataset.offerUrl + "?name=" + encodeURIComponent(name);
    return fetch(url, { headers: { "HX-Request": "true" } })
      .then(function (answer) { return answer.status === 200 ? answer.text() : ""; })
      .catch(function () { return ""; })
      .then(function (html) {
        if (!html.trim()) {
          return false;
        }
        offer.innerHTML = html;
        showOffer(form, true);
        offer.querySelector("button").focus();
        return true;
      });
  }

  function wire(form) {
    var zone = form.querySelector(".drop-zone");
    var input = zone.querySelector("input[type=file]");
    var offer = form.querySelector(".upload-offer");
    if (offer) {
      offer.addEventListener("click", function (event) {
        var chosen = event.target.closest("[data-upload-to]");
        if (chosen) {
          showOffer(form, false);
          // A version takes none of the model's fields (its name, its description).
          uploadAll(form, input.files, chosen.dataset.uploadTo, chosen.hasAttribute("data-version"));
        }
      });
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer.files;
      if (form.dataset.auto !== undefined) {
        uploadAll(form, files, form.dataset.uploadUrl);
      } else {
        input.files = files;
        say(form, "Chosen: " + Array.prototype.map.call(files, function (f) { return f.name; }).join(", "), false);
      }
    });
    input.addEventListener("change", function () {
      if (offer) {
        showOffer(form, false);
      }
      if (form.dataset.auto !== undefined) {
        uploadAll(form, input.files, form.dataset.uploadUrl);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var files = input.files;
      offered(form, files).then(function (waiting) {
        if (!waiting) {
          uploadAll(form, files, form.dataset.uploadUrl);
        }
      });
    });
  }

  document.querySelectorAll("form.upload-form").forEach(wire);
})();
