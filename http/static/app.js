// Renkei pages: progressive enhancement only. Every page works without
// this script; with it, the pay page follows its code to the result, the
// shop's QR page notices the payment without reloading, and the scan page
// can use the camera where the browser has a barcode detector.
"use strict";
(function () {
  // A second tap on a form that is already on its way does nothing. The
  // server would replay the first result anyway (the hidden idempotency
  // key); this only spares the round trip.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (f) { delete f.dataset.sent; });
  });

  function poll(url, every, until, onData) {
    var stopped = false;
    function tick() {
      if (stopped || (until && Date.now() > until)) return;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
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
    poll("/app/pay/poll?since=" + encodeURIComponent(code.dataset.since), 2000, expires + 5000, function (d) {
      if (d.url) { location.assign(d.url); return true; }
      return false;
    });
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
})();
