// Renkei pages: progressive enhancement only. Every page works without
// this script; with it, the pay page follows its code to the result, the
// shop's QR page notices the payment without reloading, the scan page
// can use the camera where the browser has a barcode detector, and the
// completion screen's proposal cards answer a tap without a reload.
"use strict";
(function () {
  // A second tap on a form that is already on its way does nothing. The
  // server would replay the first result anyway (the hidden idempotency
  // key); this only spares the round trip.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.sent) { e.preventDefault(); return; }
    if (e.defaultPrevented) return; // a confirmation said no
    f.dataset.sent = "1";
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (f) { delete f.dataset.sent; });
  });

  // Copy buttons next to secrets shown once (a webhook secret, an API
  // key): the clipboard where the browser allows it, else select the text
  // and use the older copy command; the status line says which worked.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var field = document.getElementById(b.dataset.copy);
    var status = document.getElementById(b.dataset.copy + "-copied");
    if (!field) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      var done = function () { if (status) status.textContent = b.dataset.copied; };
      var legacy = function () {
        field.focus();
        field.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        if (ok) done(); else if (status) status.textContent = b.dataset.copyfail;
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, legacy);
      } else {
        legacy();
      }
    });
  });

  // Forms that destroy something ask first (data-confirm); without
  // scripts the button's note beside it says what will happen.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.confirm && !f.dataset.sent && !window.confirm(f.dataset.confirm)) e.preventDefault();
  }, true);

  function poll(url, every, until, onData) {
    var stopped = false;
    function tick() {
      if (stopped || (until && Date.now() > until)) return;
      fetch(typeof url === "function" ? url() : url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d && onData(d)) stopped = true; })
        .catch(function () {})
        .then(function () { if (!stopped) setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }

  // The pay page: count down to the code's expiry, then grey it out; ask
  // the server every two seconds whether a shop has charged it.
  var code = document.getElementById("paycode");
  if (code) {
    var expires = Date.parse(code.dataset.expires);
    var cd = code.querySelector("[data-countdown]");
    var timer;
    var countdown = function () {
      var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      if (cd) cd.textContent = "(" + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + ")";
      if (left === 0) {
        clearInterval(timer);
        code.classList.add("is-expired");
        code.querySelector("[data-expired]").hidden = false;
      }
    };
    timer = setInterval(countdown, 1000);
    countdown();
    // A decline leaves the code valid: say why, offer the top-up, and
    // keep asking for a payment after the declined one.
    var since = code.dataset.since;
    var declined = document.getElementById("declined");
    poll(function () { return "/app/pay/poll?since=" + encodeURIComponent(since); }, 2000, expires + 5000, function (d) {
      if (d.status === "failed" && declined) {
        since = String(d.created + 1);
        declined.querySelector("[data-reason]").textContent = d.failure || "";
        declined.hidden = false;
        return false;
      }
      if (d.url) { location.assign(d.url); return true; }
      return false;
    });
    var topup = declined && declined.querySelector("[data-topup]");
    if (topup) {
      topup.addEventListener("submit", function (e) {
        if (topup.dataset.plain) return;
        e.preventDefault();
        var said = declined.querySelector("[data-topped]");
        fetch(topup.getAttribute("action"), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Accept": "application/json" },
          body: new URLSearchParams(new FormData(topup))
        }).then(function (r) {
          if ((r.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
            topup.dataset.plain = "1";
            delete topup.dataset.sent;
            topup.requestSubmit();
            return null;
          }
          return r.json().then(function (d) { return { ok: r.ok, d: d }; });
        }).then(function (res) {
          delete topup.dataset.sent;
          if (!res) return;
          var d = res.d;
          said.textContent = "";
          var p = document.createElement("p");
          p.className = res.ok ? "notice" : "error";
          p.textContent = res.ok ? d.message : d.error;
          said.appendChild(p);
          if (res.ok) {
            topup.querySelector('[name="idempotency_key"]').value = d.key;
            var bal = document.querySelector("[data-balance]");
            if (bal && d.balance) bal.textContent = bal.dataset.template.replace("%s", d.balance);
          }
        }).catch(function () { delete topup.dataset.sent; });
      });
    }
  }

  // The shop's QR page: reload once the payment is no longer pending.
  var qr = document.getElementById("qr-status");
  if (qr && qr.dataset.poll) {
    poll(qr.dataset.poll, 2000, 0, function (d) {
      if (d.status && d.status !== "pending") { location.reload(); return true; }
      return false;
    });
  }

  // The scan page: a camera button, only where BarcodeDetector exists.
  var cam = document.querySelector("[data-camera]");
  if (cam && "BarcodeDetector" in window && navigator.mediaDevices) {
    cam.hidden = false;
    var start = cam.querySelector("[data-camera-start]");
    var stop = cam.querySelector("[data-camera-stop]");
    var video = cam.querySelector("[data-camera-video]");
    var fail = cam.querySelector("[data-camera-fail]");
    var stream = null;
    var halt = function () {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.hidden = true; stop.hidden = true; start.hidden = false;
    };
    stop.addEventListener("click", halt);
    start.addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false; stop.hidden = false; start.hidden = true; fail.hidden = true;
        return video.play().then(function () {
          var look = function () {
            if (!stream) return;
            detector.detect(video).then(function (codes) {
              if (codes.length) {
                document.getElementById("qr").value = codes[0].rawValue;
                halt();
                document.getElementById("scan-form").requestSubmit();
              } else {
                setTimeout(look, 250);
              }
            }).catch(function () { setTimeout(look, 500); });
          };
          look();
        });
      }).catch(function () { halt(); fail.hidden = false; });
    });
  }

  // The completion screen's proposal cards. A memo field gets a character
  // counter; a tap sends the card's form in the background (the same POST,
  // asking for JSON) and puts the outcome where the form was, then moves
  // focus there. Without this script the form posts and the page comes
  // back with the same outcome.
  var proposals = document.getElementById("proposals");
  if (proposals) {
    proposals.querySelectorAll("[data-memo]").forEach(function (memo) {
      var counter = memo.form.querySelector("[data-counter]");
      var max = parseInt(memo.getAttribute("maxlength"), 10);
      if (!counter || !max) return;
      var count = function () {
        var n = Array.from(memo.value).length; // characters, as the server counts them
        counter.textContent = n + "/" + max;
        counter.classList.toggle("over", n > max);
      };
      counter.hidden = false;
      memo.addEventListener("input", count);
      count();
    });

    var say = function (region, cls, text, focus) {
      region.textContent = "";
      if (!text) return null;
      var p = document.createElement("p");
      p.className = cls;
      p.textContent = text;
      region.appendChild(p);
      if (focus) {
        p.tabIndex = -1;
        p.focus();
      }
      return p;
    };

    // After a tap the card follows its message: the server says where it
    // stands (queued, retrying, recorded, failed) until that is final.
    // The sentence changes in place, so focus stays where the tap put it
    // and the live region reads the new state.
    var watching = false;
    var watch = function () {
      if (watching || !proposals.dataset.poll) return;
      watching = true;
      var every = 400;
      var tick = function () {
        fetch(proposals.dataset.poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (d) {
            ((d && d.cards) || []).forEach(function (c) {
              var card = document.getElementById("card-" + c.service_id);
              if (!card || !card.hasAttribute("data-pending")) return;
              var region = card.querySelector("[data-card-outcome]");
              var p = region.querySelector("p");
              var cls = "outcome outcome-" + c.outcome;
              if (!p) {
                say(region, cls, c.message, false);
              } else if (p.className !== cls || p.textContent !== c.message) {
                p.className = cls;
                p.textContent = c.message;
              }
              if (c.final) card.removeAttribute("data-pending");
            });
          })
          .catch(function () {})
          .then(function () {
            if (!proposals.querySelector("[data-card][data-pending]")) { watching = false; return; }
            every = Math.min(every * 1.5, 10000);
            setTimeout(tick, every);
          });
      };
      setTimeout(tick, every);
    };
    if (proposals.querySelector("[data-card][data-pending]")) watch();

    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (e.defaultPrevented || !form.matches("[data-card-form]") || form.dataset.plain) return;
      e.preventDefault();
      var card = form.closest("[data-card]");
      var errors = card.querySelector("[data-card-error]");
      var outcome = card.querySelector("[data-card-outcome]");
      var submitter = e.submitter;
      var action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
      card.setAttribute("aria-busy", "true");
      fetch(action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        body: new URLSearchParams(new FormData(form))
      }).then(function (r) {
        var type = r.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") !== 0) {
          // Not the card's answer (the login lapsed, say): post the form
          // the ordinary way and let the page handle it.
          form.dataset.plain = "1";
          delete form.dataset.sent;
          form.requestSubmit(submitter || null);
          return null;
        }
        return r.json().then(function (d) { return { ok: r.ok, d: d }; });
      }).then(function (res) {
        card.removeAttribute("aria-busy");
        if (!res) return;
        var d = res.d;
        if (res.ok && d.outcome) {
          say(errors, "error", "", false);
          form.remove();
          if (d.outcome !== "dismissed") {
            var link = card.querySelector("[data-app-link]");
            if (link) link.hidden = false;
          }
          say(outcome, "outcome outcome-" + d.outcome, d.message, true);
          if (d.outcome === "queued") {
            card.setAttribute("data-pending", "");
            watch();
          }
          return;
        }
        delete form.dataset.sent;
        say(errors, "error", d.error || proposals.dataset.failed, false);
        form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
        var field = d.field && form.querySelector('[name="' + d.field + '"]');
        if (field) {
          field.setAttribute("aria-invalid", "true");
          var by = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
          if (by.indexOf(errors.id) < 0) by.push(errors.id);
          field.setAttribute("aria-describedby", by.join(" "));
          field.focus();
        }
      }).catch(function () {
        card.removeAttribute("aria-busy");
        delete form.dataset.sent;
        say(errors, "error", proposals.dataset.failed, false);
      });
    });
  }
})();
