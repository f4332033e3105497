// The door's camera: scans EventHive passes' QR codes into the check-in
// form and submits it. It uses the browser's BarcodeDetector where that
// reads QR codes, and otherwise the vendored jsQR decoder, loaded only then
// (the scanner's data-decoder names it). Without a camera, or without
// JavaScript, the code is typed into the same form.
(function () {
  'use strict';

  var scanner = document.getElementById('scanner');
  if (!scanner || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var start = document.getElementById('camera-start');
  var stop = document.getElementById('camera-stop');
  var video = document.getElementById('camera');
  var status = document.getElementById('camera-status');
  scanner.hidden = false;

  // A pass held up to the camera is seen in frame after frame: it is sent
  // once, and again only once it has been out of sight for this long.
  var goneAfter = 1500;
  var stream = null;
  var running = false;
  var last = { code: '', seen: 0 };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error('the QR decoder did not load')); };
      document.head.appendChild(s);
    });
  }

  // A detector is a function that returns a promise of the code the camera
  // sees now, or null.
  function jsQRDetector() {
    return loadScript(scanner.getAttribute('data-decoder')).then(function () {
      var canvas = document.createElement('canvas');
      var context = canvas.getContext('2d', { willReadFrequently: true });
      return function () {
        var w = video.videoWidth, h = video.videoHeight;
        if (!w || !h) return Promise.resolve(null);
        canvas.width = w;
        canvas.height = h;
        context.drawImage(video, 0, 0, w, h);
        var found = window.jsQR(context.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: 'dontInvert' });
        return Promise.resolve(found ? found.data : null);
      };
    });
  }

  function makeDetector() {
    if (!('BarcodeDetector' in window)) return jsQRDetector();
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf('qr_code') < 0) return jsQRDetector();
      var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      return function () {
        return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      };
    });
  }

  // submit sends a code through the form, which htmx posts; the form is
  // looked up each time, as every answer brings a new one.
  function submit(code) {
    var form = document.getElementById('checkin-form');
    form.elements.code.value = code;
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  function scan(detect) {
    if (!running) return;
    detect().then(function (code) {
      var now = Date.now();
      if (code && (code !== last.code || now - last.seen > goneAfter)) submit(code);
      if (code) last = { code: code, seen: now };
    }).catch(function () {
      // A frame that could not be read: try the next one.
    }).then(function () {
      if (running) setTimeout(function () { scan(detect); }, 150);
    });
  }

  function stopCamera() {
    running = false;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.hidden = true;
    start.hidden = false;
    stop.hidden = true;
    status.textContent = 'Camera off.';
  }

  start.addEventListener('click', function () {
    status.textContent = 'Starting the camera…';
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      return video.play();
    }).then(makeDetector).then(function (detect) {
      running = true;
      start.hidden = true;
      stop.hidden = false;
      status.textContent = 'Camera on: hold a pass up to it.';
      scan(detect);
    }).catch(function (err) {
      stopCamera();
      status.textContent = 'The camera could not start (' + err.message + '): type the code instead.';
    });
  });
  stop.addEventListener('click', stopCamera);

  // While the camera is off, the cursor goes back to the code after each
  // answer, ready for the next pass (a keyboard-like scanner types there).
  document.addEventListener('htmx:afterSettle', function (evt) {
    if (running || !evt.target || evt.target.id !== 'checkin-answer') return;
    var code = document.getElementById('code');
    if (code) code.focus();
  });
})();
