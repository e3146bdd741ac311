// Passkeys: a form marked data-passkey="create" or "get" carries the
// server's options for the WebAuthn prompt. On submit the browser asks the
// authenticator, puts its answer (JSON, binary fields in base64url) in the
// form's hidden "credential" field, and the form goes to the server as
// usual, which checks it.
(function () {
  "use strict";

  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function text(buf) {
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function ids(list) {
    (list || []).forEach(function (c) { c.id = bytes(c.id); });
  }

  function create(opts) {
    opts.user.id = bytes(opts.user.id);
    ids(opts.excludeCredentials);
    return navigator.credentials.create({ publicKey: opts }).then(function (c) {
      return {
        id: c.id, rawId: text(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
        clientExtensionResults: c.getClientExtensionResults(),
        response: {
          clientDataJSON: text(c.response.clientDataJSON),
          attestationObject: text(c.response.attestationObject),
          transports: c.response.getTransports ? c.response.getTransports() : []
        }
      };
    });
  }

  function get(opts) {
    ids(opts.allowCredentials);
    return navigator.credentials.get({ publicKey: opts }).then(function (c) {
      return {
        id: c.id, rawId: text(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
        clientExtensionResults: c.getClientExtensionResults(),
        response: {
          clientDataJSON: text(c.response.clientDataJSON),
          authenticatorData: text(c.response.authenticatorData),
          signature: text(c.response.signature),
          userHandle: c.response.userHandle ? text(c.response.userHandle) : null
        }
      };
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var problem = form.querySelector(".passkey-problem");
    if (!window.PublicKeyCredential) {
      problem.hidden = false;
      return;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      problem.hidden = true;
      var opts = JSON.parse(form.getAttribute("data-options")).publicKey;
      opts.challenge = bytes(opts.challenge);
      var ask = form.getAttribute("data-passkey") === "create" ? create(opts) : get(opts);
      ask.then(function (answer) {
        form.elements.credential.value = JSON.stringify(answer);
        form.submit();
      }, function () {
        problem.hidden = false;
      });
    });
  });
})();
